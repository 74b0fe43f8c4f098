"""Small typed records passed between the stages.

Every offset is a half-open character offset into the *clean text* of a
document: ``clean.text[m.start:m.end] == m.text`` always holds.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Page:
    """Raw text of one page as the reader produced it (1-based page number).

    For a PDF, ``text`` is already in reading order (columns read one after
    the other) with overprinted glyphs removed; a plain-text file is one page.
    """

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """A file on disk, read: its raw pages plus what identifies it."""

    path: str
    doc_id: str
    format: str  # "txt", "md" or "pdf"
    sha256: str
    size: int
    mtime: float
    pages: tuple[Page, ...]
    encoding: str = ""  # text files: the encoding that decoded it
    created: date | None = None  # PDF metadata CreationDate, when present


@dataclass(frozen=True, slots=True)
class CleanText:
    """The clean text of a document and the way back to its source.

    ``raw_offsets[i]`` is the offset, in the concatenation of the raw page
    texts, of the raw character that clean character ``i`` came from
    (``len(raw_offsets) == len(text) + 1``; the last entry is the raw length).
    ``page_starts[k]`` is the clean offset where page ``k + 1`` begins.
    """

    text: str
    raw_offsets: array = field(repr=False)
    page_starts: tuple[int, ...] = (0,)

    def page_at(self, offset: int) -> int:
        """1-based page number of the clean character at ``offset``."""
        return max(1, bisect_right(self.page_starts, offset))


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str


class Token(NamedTuple):
    """A jieba token. A NamedTuple: a document has ~400k per MB, and a tuple is
    three times cheaper to make than a frozen dataclass."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A span the NER model found (label ORG, PER or LOC)."""

    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    """One extracted mention; the fields that do not apply to its kind stay empty.

    Numbers are exact ``Decimal``s (``16.4亿`` is exactly 1640000000).
    """

    kind: str  # QUANTITY, DATE, ORG
    start: int
    end: int
    text: str
    rule: str  # the rule id, or "ner"
    number: Decimal | None = None
    multiplier: Decimal | None = None
    value: Decimal | None = None
    unit: str = ""
    quantity_kind: str = ""
    qualifier: str = ""  # approx, more_than, less_than, range
    value_max: Decimal | None = None
    change: str = ""  # up, down
    date_start: str = ""  # ISO date, inclusive
    date_end: str = ""  # ISO date, inclusive
    granularity: str = ""  # day, month, quarter, half, year, span
    relative: bool | None = None
    org_type: str = ""


class Analysis:
    """Everything the extract stages need about one clean text.

    Jieba tokens are made on demand, whole text (``tokens``) or one sentence
    at a time (``sentence_tokens``): organizations need them only around
    candidate names, and tokenizing everything would cost as much as all the
    rules together. A sentence's tokens are the whole text's tokens there
    (sentences end at characters where jieba always cuts).
    """

    __slots__ = ("text", "sentences", "ref_date", "_tokens", "_tokenizer", "_by_sentence", "_starts",
                 "_token_starts")

    def __init__(self, text: str, sentences: tuple[Sentence, ...], tokens: Sequence[Token] | None = None,
                 ref_date: date | None = None,
                 tokenizer: Callable[..., Sequence[Token]] | None = None) -> None:
        """``tokenizer(text, offset=k)`` gives tokens with ``k`` added to their offsets."""
        self.text = text
        self.sentences = tuple(sentences)
        self.ref_date = ref_date
        self._tokens = None if tokens is None else tuple(tokens)
        self._tokenizer = tokenizer
        self._by_sentence: dict[int, tuple[Token, ...]] = {}
        self._starts = [s.start for s in self.sentences]
        self._token_starts: list[int] | None = None

    @property
    def tokens(self) -> tuple[Token, ...]:
        """Tokens of the whole text."""
        if self._tokens is None:
            self._tokens = tuple(self._tokenizer(self.text)) if self._tokenizer else ()
        return self._tokens

    def sentence_index(self, offset: int) -> int:
        """Index of the sentence holding ``offset``, or -1."""
        i = bisect_right(self._starts, offset) - 1
        return i if i >= 0 and offset < self.sentences[i].end else -1

    def sentence_tokens(self, index: int) -> tuple[Token, ...]:
        """Tokens of sentence ``index``, offsets into the whole text."""
        found = self._by_sentence.get(index)
        if found is None:
            sent = self.sentences[index]
            if self._tokens is not None or self._tokenizer is None:
                tokens = self.tokens  # given whole: slice out the sentence's
                if self._token_starts is None:
                    self._token_starts = [t.start for t in tokens]
                lo = bisect_left(self._token_starts, sent.start)
                hi = bisect_left(self._token_starts, sent.end)
                found = tuple(t for t in tokens[lo:hi] if t.end <= sent.end)
            else:
                found = tuple(self._tokenizer(sent.text, offset=sent.start))
            self._by_sentence[index] = found
        return found
