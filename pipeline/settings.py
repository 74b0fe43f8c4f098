"""One Settings dataclass: every default of a run and its validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import __version__

ENGINES = ("local", "dask")
PDF_ENGINES = ("auto", "pdfium", "pdfplumber")
#: Files a folder is searched for; a file named on the command line is read whatever its name.
TEXT_SUFFIXES = (".txt", ".md")
PDF_SUFFIXES = (".pdf",)


#: Environment variables that size the thread pools of numpy's BLAS (OpenBLAS, MKL, OpenMP).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_blas_threads(n: int, *, override: bool) -> None:
    """Size the BLAS thread pools; effective only before numpy is first imported.

    Documents run in parallel in worker processes, so a run wants one thread per
    process (``override=False``: a user's own setting wins); training wants ``n``.
    """
    import os

    for var in BLAS_THREAD_VARS:
        if override:
            os.environ[var] = str(n)
        else:
            os.environ.setdefault(var, str(n))


def default_rules_dir() -> Path:
    """``./rules`` when run from a checkout, else the rules beside the package."""
    here = Path.cwd() / "rules"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "rules"


def parse_ref_date(value: date | str | None) -> date | None:
    """A reference date from a ``date`` or an ISO ``YYYY-MM-DD`` string.

    Raises:
        ValueError: naming the bad value and the expected form.
    """
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"bad reference date {value!r} (expected YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; invalid values raise ``ValueError``."""

    out_dir: Path = Path("outputs")
    rules_dir: Path = field(default_factory=default_rules_dir)
    ref_date: date | None = None
    workers: int = 1
    engine: str = "local"
    scheduler: str | None = None  # dask scheduler address; None starts a LocalCluster
    use_ner: bool = True
    # auto: pdfium, pdfplumber when a sample page shows lost glyphs (see read.py)
    pdf_engine: str = "auto"
    debug: bool = False
    version: str = __version__

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        object.__setattr__(self, "rules_dir", Path(self.rules_dir))
        object.__setattr__(self, "ref_date", parse_ref_date(self.ref_date))
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a whole number ≥ 1, not {self.workers!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r} (allowed: {', '.join(ENGINES)})")
        if self.pdf_engine not in PDF_ENGINES:
            raise ValueError(f"unknown PDF engine {self.pdf_engine!r} (allowed: {', '.join(PDF_ENGINES)})")
        if not self.rules_dir.is_dir():
            raise ValueError(f"rules folder not found: {self.rules_dir}")

    @property
    def dictionary(self) -> Path:
        return self.rules_dir / "dictionary.txt"
