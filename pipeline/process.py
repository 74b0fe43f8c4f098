"""Where the stages are wired: read -> clean -> segment -> extract -> rows.

This is the one file that shows what runs on a document. Resources (rules,
user dictionary, NER model) are loaded once per process by ``load_resources``.
"""

from __future__ import annotations

import gc
import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from itertools import accumulate
from pathlib import Path
from typing import Any

from . import dates, orgs, quantities
from .clean import clean_document
from .errors import RuleError
from .read import read_document
from .records import Analysis, CleanText, Document, Entity, Mention, Sentence
from .segment import split_sentences, tokenize
from .settings import Settings, parse_ref_date


@dataclass(frozen=True)
class Resources:
    """Everything loaded once per worker: compiled rules, dictionary, NER model."""

    rules_dir: Path
    dictionary: Path
    quantity_rules: Any
    date_rules: Any
    org_rules: Any
    ner: Any | None  # ner.NerModel, or None when the model is switched off


@lru_cache(maxsize=4)
def load_resources(rules_dir: Path, use_ner: bool = True) -> Resources:
    """Load and validate every rule file; all problems of all files at once.

    Raises:
        RuleError: listing every problem as ``path:line: rule ID: message``.
    """
    rules_dir = Path(rules_dir)
    problems = []
    loaded = {}
    for name, loader in (("quantity_rules", quantities.load_quantity_rules),
                         ("date_rules", dates.load_date_rules),
                         ("org_rules", orgs.load_org_rules)):
        try:
            loaded[name] = loader(rules_dir)
        except RuleError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RuleError(problems)
    orgs.word_tag("")  # jieba's tag table: loaded here, before worker processes fork
    ner_model = None
    if use_ner:
        from .ner import load_ner_model

        ner_model = load_ner_model()
    return Resources(rules_dir=rules_dir, dictionary=rules_dir / "dictionary.txt", ner=ner_model, **loaded)


#: Touches every stage once (segmenter, lazily compiled patterns, the model's first call).
_WARM_UP_TEXT = ("2018 年上半年，许昌市经济技术开发区管理委员会引进企业 12 家，"
                 "实现营业收入 15.6 亿元，同比增长 8.7%。")


def warm_up(resources: Resources) -> None:
    """Load what the stages load on first use (the jieba segmenter with the user
    dictionary, ~0.7 s; lazily compiled patterns; the model's first call) now.

    Called before worker processes fork, so that they share it instead of each
    loading it on its first document.
    """
    try:
        extract_text_mentions(_WARM_UP_TEXT, date(2018, 11, 15), resources)
    except Exception:  # noqa: BLE001 - a failure shows on the documents, with their names
        pass


def analyze(text: str, ref_date: date, resources: Resources) -> Analysis:
    """Split clean text into sentences; jieba tokens are made when first asked for."""
    return Analysis(text, split_sentences(text), None, ref_date,
                    tokenizer=partial(tokenize, dictionary=resources.dictionary))


def find_entities(analysis: Analysis, resources: Resources) -> list[Entity]:
    """NER spans (ORG, PER, LOC), from the clauses with an organization cue only.

    The model is ~50x slower than the rules, and a clause without a cue word
    seldom holds an organization: on MSRA test the shipped model reads 24% of
    the text (``benchmarks/bench_ner.py``, filter=pipeline) for ORG P/R/F
    0.830/0.804/0.817, against 0.812/0.820/0.816 on all of it.
    """
    if resources.ner is None:
        return []
    clauses = orgs.cue_clauses(analysis, resources.org_rules, resources.ner.not_cue_words, resources.ner.cue_words)
    return resources.ner.find_entities(analysis.text, clauses)


@dataclass(frozen=True)
class Extraction:
    """What the extract stages found in one text."""

    mentions: list[Mention]  # every kind, in text order
    entities: list[Entity]  # every NER span, PER and LOC included, for the link stage


def extract_mentions(analysis: Analysis, resources: Resources) -> Extraction:
    """All mentions of all kinds, in text order, plus the model's entities.

    A quantity that overlaps a date is dropped: ``2018 年`` and ``前11个月``
    belong to the date, and the date rules never take durations such as ``40 年``.
    """
    found_dates = dates.extract_dates(analysis, resources.date_rules)
    found_quantities = quantities.extract_quantities(analysis, resources.quantity_rules)
    entities = find_entities(analysis, resources)
    found_orgs = orgs.extract_orgs(analysis, resources.org_rules, entities)
    kept = drop_overlapping(found_quantities, found_dates)
    mentions = kept + found_dates + found_orgs
    mentions.sort(key=lambda m: (m.start, m.end, m.kind))
    return Extraction(mentions, entities)


def drop_overlapping(mentions: Sequence[Mention], blockers: Sequence[Mention]) -> list[Mention]:
    """``mentions`` that overlap none of ``blockers`` (n log n, not n × m)."""
    spans = sorted((b.start, b.end) for b in blockers)
    starts = [s for s, _ in spans]
    max_end = list(accumulate((e for _, e in spans), max))
    kept = []
    for m in mentions:
        i = bisect_left(starts, m.end)  # blockers starting before m ends
        if i == 0 or max_end[i - 1] <= m.start:
            kept.append(m)
    return kept


# -- rows ------------------------------------------------------------------------------


def mention_id(content_sha256: str, kind: str, start: int, end: int) -> str:
    """Stable for the same document content, kind and span; starts with a letter for Excel."""
    digest = hashlib.sha1(f"{content_sha256}:{kind}:{start}:{end}".encode()).hexdigest()
    return "m" + digest[:15]


def mention_rows(mentions: Sequence[Mention], clean: CleanText, sentences: Sequence[Sentence],
                 doc_id: str, content_sha256: str) -> list[dict[str, Any]]:
    """One dict per mention with the ``mentions.csv`` columns (numbers as floats)."""
    rows: list[dict[str, Any]] = []
    append_row = rows.append
    starts = [s.start for s in sentences]
    text = clean.text
    one_page = len(clean.page_starts) <= 1  # page_at is then 1 everywhere
    sha1 = hashlib.sha1
    for m in mentions:
        start, end, kind = m.start, m.end, m.kind
        index = bisect_right(starts, start) - 1
        sentence = sentences[index] if index >= 0 and sentences[index].end >= end else None
        if sentence is None:  # a mention across a sentence end: show its own text
            sentence = Sentence(start, end, m.text)
        number, multiplier, value, value_max = m.number, m.multiplier, m.value, m.value_max
        append_row({
            # mention_id(content_sha256, kind, start, end), inline
            "mention_id": "m" + sha1(f"{content_sha256}:{kind}:{start}:{end}".encode()).hexdigest()[:15],
            "doc_id": doc_id,
            "kind": kind,
            "text": m.text,
            "start": start,
            "end": end,
            "page": 1 if one_page else clean.page_at(start),
            "sentence": index + 1,
            "context": f"{text[sentence.start:start]}【{m.text}】{text[end:sentence.end]}",
            "number": None if number is None else float(number),
            "multiplier": None if multiplier is None else float(multiplier),
            "value": None if value is None else float(value),
            "unit": m.unit,
            "quantity_kind": m.quantity_kind,
            "qualifier": m.qualifier,
            "value_max": None if value_max is None else float(value_max),
            "change": m.change,
            "date_start": m.date_start,
            "date_end": m.date_end,
            "granularity": m.granularity,
            "relative": "" if m.relative is None else ("true" if m.relative else "false"),
            "org_type": m.org_type,
            "rule": m.rule,
            "review_status": "",
            "review_value": "",
            "review_note": "",
        })
    return rows


# -- one text, one document ------------------------------------------------------------


def extract_text_mentions(text: str, ref_date: date | str | None, resources: Resources
                          ) -> tuple[CleanText, Analysis, list[Mention], str]:
    """Clean and extract one string; the reference date is inferred when not given."""
    from .clean import clean_text

    clean = clean_text(text)
    given = parse_ref_date(ref_date)
    if given is not None:
        ref, source = given, "given"
    else:
        ref, source = dates.infer_ref_date(clean.text)
    analysis = analyze(clean.text, ref, resources)
    return clean, analysis, extract_mentions(analysis, resources).mentions, source


@dataclass(frozen=True)
class DocumentResult:
    """What a worker sends back for one document: its row and its mention rows."""

    document: dict[str, Any]
    mentions: list[dict[str, Any]]
    clean_text: str | None


def document_row(path: str, doc_id: str, **fields: Any) -> dict[str, Any]:
    row = {"doc_id": doc_id, "path": path, "sha256": "", "format": "", "pages": None,
           "chars": None, "ref_date": "", "ref_date_source": "", "status": "ok", "error": ""}
    row.update(fields)
    return row


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector off while one document is processed, then one
    collection of the objects made meanwhile (the youngest generation).

    A document makes hundreds of thousands of tracked objects (tokens are tuples,
    mentions and rows), nearly all freed by reference counting; the collector,
    run every 700 allocations, went over them (and, every so often, over the
    loaded resources) for 10-13% of the text path's CPU time. The one collection
    after the document finds whatever cycles it left, in ~0.1 ms.
    """
    if not gc.isenabled():  # someone else decides
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def process_document(path: Path, doc_id: str, settings: Settings, resources: Resources) -> DocumentResult:
    """Read, clean and extract one file. Raises ``DocumentError`` for bad input."""
    with cyclic_gc_paused():
        return _process_document(path, doc_id, settings, resources)


def _process_document(path: Path, doc_id: str, settings: Settings, resources: Resources) -> DocumentResult:
    doc: Document = read_document(path, doc_id, engine=settings.pdf_engine)
    clean = clean_document(doc)
    if settings.ref_date is not None:
        ref, source = settings.ref_date, "cli"
    else:
        ref, source = dates.infer_ref_date(clean.text, created=doc.created, mtime=doc.mtime)
    analysis = analyze(clean.text, ref, resources)
    mentions = extract_mentions(analysis, resources).mentions
    row = document_row(str(path), doc_id, sha256=doc.sha256, format=doc.format, pages=len(doc.pages),
                       chars=len(clean.text), ref_date=ref.isoformat(), ref_date_source=source)
    return DocumentResult(row, mention_rows(mentions, clean, analysis.sentences, doc_id, doc.sha256),
                          clean.text)
