"""zhextract: quantities, dates and organizations from Chinese reports, as tables.

Public API:

* ``extract(text, ref_date=None)`` -> a pandas DataFrame with the ``mentions.csv``
  columns for one string (document-level columns are empty);
* ``run_batch(paths, out, …)`` -> process files and folders into ``out`` (what the
  ``zhextract run`` command calls).
"""

from __future__ import annotations

__version__ = "0.1.0"

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .batch import BatchSummary

__all__ = ["extract", "run_batch", "__version__"]


def extract(text: str, ref_date: date | str | None = None, *, rules_dir: Path | str | None = None,
            use_ner: bool = True) -> pd.DataFrame:
    """Extract the mentions of one text.

    Args:
        text: raw text (it is cleaned first; offsets index the clean text, which
            for text without line breaks inside sentences is the text itself).
        ref_date: the reference date for relative dates (a ``date`` or
            ``"YYYY-MM-DD"``); inferred from the text when None.
        rules_dir: another rules folder (default: ``./rules`` or the shipped rules).
        use_ner: run the organization model (rules alone when False).

    Returns:
        A DataFrame with the ``mentions.csv`` columns, one row per mention.
    """
    from .process import extract_text_mentions, load_resources, mention_rows
    from .settings import default_rules_dir
    from .write import mentions_frame

    resources = load_resources(Path(rules_dir) if rules_dir else default_rules_dir(), use_ner)
    clean, analysis, mentions, _ = extract_text_mentions(text, ref_date, resources)
    import hashlib

    sha = hashlib.sha256(clean.text.encode("utf-8")).hexdigest()
    rows = mention_rows(mentions, clean, analysis.sentences, "", sha)
    return mentions_frame(rows)


def run_batch(paths, out="outputs", **options) -> BatchSummary:
    """Process new or changed files under ``paths`` into the tables in ``out``.

    See ``pipeline.batch.run_batch`` for the options (ref_date, workers, rules_dir,
    engine, scheduler, use_ner, debug, progress).
    """
    from .batch import run_batch as _run_batch

    return _run_batch(paths, out, **options)
