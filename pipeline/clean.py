"""Clean stage: ``records.Document`` -> ``records.CleanText``.

The clean text is what every later stage indexes.  Each clean character
comes from exactly one raw character (the concatenation of the page texts),
``CleanText.raw_offsets`` says which, so a reviewer can always go back to the
page.  The cleaning only *deletes* characters or replaces one character by
one other (width folding), which keeps that map exact and cheap: each pass
below is a regex or a loop over lines that yields spans to delete, and the
offset array is cut with C-speed slices.

Passes, in order:

1. fold widths 1:1 (``FOLD``): full-width digits, Latin letters, ``％`` and
   ``．`` become ASCII; U+3000 (ideographic space), NBSP and tab become a plain
   space; a lone ``\\r`` becomes ``\\n``.  Other full-width punctuation
   (``，（）：``) stays as written.
2. delete ``\\r`` before ``\\n``, byte-order marks, zero-width characters and
   soft hyphens; HTML markup (comments, ``<style>``/``<script>`` blocks and
   tags of known HTML elements, which Sina pages put inside words).
3. page furniture: lines near the top or bottom of at least half the pages
   that repeat (digits normalised) and page-number lines (``- 3 -``,
   ``第 2 页``, ``第2页 共6页``, a bare number as first or last line of a page).
4. doubled glyphs from overprinted bold: runs in which every character is
   repeated k times (``许许昌昌··``, ``安安安安徽徽徽徽``) and, on short lines,
   runs of repeated chunks (``许昌许昌··奋楫弄潮奋楫弄潮``).  Genuine doubled
   words (天天, 常常, 年年, 100) are never touched: a run needs three distinct
   characters other than ASCII letters and digits.
5. lines: leading and trailing white space of every line goes, blank lines
   collapse to one, and a line break inside a sentence is removed (see
   :func:`_join_lines`).
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import accumulate

import numpy as np

from pipeline.records import CleanText, Document, Page

# --------------------------------------------------------------------------
# 1. width folding (one character to one character)

FOLD: dict[int, int] = {}
for _c in range(0xFF10, 0xFF1A):  # ０-９
    FOLD[_c] = _c - 0xFF10 + ord("0")
for _c in range(0xFF21, 0xFF3B):  # Ａ-Ｚ
    FOLD[_c] = _c - 0xFF21 + ord("A")
for _c in range(0xFF41, 0xFF5B):  # ａ-ｚ
    FOLD[_c] = _c - 0xFF41 + ord("a")
FOLD[0xFF05] = ord("%")  # ％
FOLD[0xFF0E] = ord(".")  # ．
FOLD[0x3000] = ord(" ")  # ideographic space
FOLD[0x00A0] = ord(" ")  # no-break space
FOLD[0x0009] = ord(" ")  # tab
FOLD[0x000D] = ord("\n")  # a lone CR (a CR before LF is deleted first)
del _c


def fold_char(ch: str) -> str:
    """The character ``ch`` becomes in the clean text (if it is kept)."""
    return ch.translate(FOLD)


# --------------------------------------------------------------------------
# 2. characters and markup that carry no text

RE_INVISIBLE = re.compile("\r(?=\n)|[\ufeff\u200b\u200c\u200d\u2060\u00ad]")

HTML_ELEMENTS = (
    "a abbr b big blockquote body br caption center cite code dd div dl dt em figcaption figure "
    "font footer h1 h2 h3 h4 h5 h6 head header hr html i iframe img ins label li link meta nav ol "
    "p pre s section small source span strong sub sup table tbody td tfoot th thead tr u ul video"
).split()
RE_MARKUP = re.compile(
    r"<!--.*?-->"
    r"|<(style|script)\b[^>]*>.*?</\1\s*>"
    r"|</?(?:" + "|".join(HTML_ELEMENTS) + r")\b(?:\s[^<>]*)?/?>",
    re.IGNORECASE | re.DOTALL,
)

# --------------------------------------------------------------------------
# 3. page furniture

RE_PAGE_NUMBER_ANYWHERE = re.compile(
    r"[-—–－‐]\s*\d{1,4}\s*[-—–－‐]"  # - 3 -
    r"|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?"  # 第 2 页, 第2页 共6页
    r"|共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页"
    r"|[Pp]age\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
)
RE_PAGE_NUMBER_EDGE = re.compile(r"\d{1,4}(?:\s*/\s*\d{1,4})?|[（(]\s*\d{1,4}\s*[）)]")
RE_DIGITS = re.compile(r"\d+")
FURNITURE_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be furniture

# --------------------------------------------------------------------------
# 4. doubled glyphs

# every character of the run repeated (at least twice); checked further below
RE_REPEATED_CHARS = re.compile(r"(?:(\S)\1+){3,}")
# a short chunk written twice: 许昌许昌, ··, 奋楫弄潮奋楫弄潮
RE_TANDEM = re.compile(r"(\S{1,8}?)\1")
RE_SENTENCE_PUNCT = re.compile(r"[。，；！？]")
RE_ASCII_ALNUM = re.compile(r"[0-9A-Za-z\s]")

# --------------------------------------------------------------------------
# 5. lines

SENTENCE_END = frozenset("。！？；：…!?;:")
CLOSERS = frozenset("”’」』）)】》\"'")
# a line starting like this starts a block (list item, heading, markdown)
RE_BLOCK_START = re.compile(
    r"\d{1,3}(?:[.．]\s|[、)）])"
    r"|[（(][一二三四五六七八九十\d]{1,3}[)）]"
    r"|[一二三四五六七八九十]{1,3}、"
    r"|第[一二三四五六七八九十\d]{1,3}[章节条部分篇]"
    r"|[●■□◆◇▲△•※#>*+|-]"
)
# a line this much narrower than the usual line of the document ends its
# paragraph (or is a heading) even without punctuation
FULL_LINE = 0.7
# across a blank line only a line this full continues (page-break artifacts)
FULL_LINE_ACROSS_BLANK = 0.85


@lru_cache(maxsize=8192)
def _char_class(ch: str) -> str:
    if "0" <= ch <= "9":
        return "digit"
    if ch in "%.,":
        return "numpunct"
    if ch.isascii():
        return "latin" if ch.isalpha() else "other"
    if ch.isalpha() or ch >= "\u2e80" or ch in "“”‘’·—…":
        return "cjk"
    return "other"


def _joinable(a: str, b: str) -> bool:
    """Whether a line break between characters ``a`` and ``b`` is no real break."""
    ca, cb = _char_class(a), _char_class(b)
    if ca == "cjk" or cb == "cjk":
        return True
    return "digit" in (ca, cb) and ca in ("digit", "numpunct") and cb in ("digit", "numpunct")


def _ends_paragraph(line: str) -> bool:
    last = line[-1]
    if last in SENTENCE_END:
        return True
    if last == "." and len(line) > 1 and not line[-2].isdigit():
        return True  # CO.,LTD.  (but 3433. may be a number cut in two)
    return last in CLOSERS and len(line) > 1 and line[-2] in SENTENCE_END


def _width(line: str) -> int:
    """Display width: CJK characters count 2, ASCII 1 (the GB18030 byte length)."""
    return len(line.encode("gb18030", "replace"))


# --------------------------------------------------------------------------
# the text + offsets state


class _Text:
    """Clean text under construction: its code points and, per character, the
    raw offset it came from (numpy arrays, so a deletion pass costs a mask,
    not a Python loop over characters)."""

    __slots__ = ("cp", "offs", "_text")

    def __init__(self, cp: np.ndarray, offs: np.ndarray) -> None:
        self.cp = cp
        self.offs = offs
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.cp.tobytes().decode("utf-32-le")
        return self._text

    def delete(self, spans: Iterable[tuple[int, int]]) -> None:
        """Delete ``[start, end)`` spans (any order, overlaps allowed)."""
        bounds = np.array([span for span in spans if span[1] > span[0]], dtype=np.int64).reshape(-1, 2)
        if not len(bounds):
            return
        depth = np.zeros(len(self.cp) + 1, dtype=np.int32)
        np.add.at(depth, bounds[:, 0], 1)
        np.add.at(depth, bounds[:, 1], -1)
        keep = np.cumsum(depth[:-1]) == 0
        self.cp = self.cp[keep]
        self.offs = self.offs[keep]
        self._text = None

    def delete_matches(self, regex: re.Pattern[str]) -> None:
        self.delete(m.span() for m in regex.finditer(self.text))


def _fold(cp: np.ndarray) -> None:
    """Apply ``FOLD`` in place (full-width forms sit 0xFEE0 above ASCII)."""
    wide = (
        ((cp >= 0xFF10) & (cp <= 0xFF19))
        | ((cp >= 0xFF21) & (cp <= 0xFF3A))
        | ((cp >= 0xFF41) & (cp <= 0xFF5A))
        | (cp == 0xFF05)
        | (cp == 0xFF0E)
    )
    cp[wide] -= 0xFEE0
    cp[(cp == 0x3000) | (cp == 0x00A0) | (cp == 0x09)] = 0x20
    cp[cp == 0x0D] = 0x0A


# --------------------------------------------------------------------------
# public API


def clean_document(doc: Document) -> CleanText:
    """Clean the raw pages of ``doc`` into one text with an offset map.

    Raw offsets index ``"".join(page.text for page in doc.pages)``.
    """
    # PDF text marks paragraph ends with an empty line on purpose (read.py);
    # in text files an empty line inside a sentence is a page-break artifact
    return _clean_pages(doc.pages, join_across_blank=doc.format != "pdf")


def clean_text(text: str) -> CleanText:
    """Clean a single string (one page), as :func:`clean_document` would."""
    return _clean_pages((Page(1, text),))


def _clean_pages(pages: tuple[Page, ...] | list[Page], join_across_blank: bool = True) -> CleanText:
    raw = "".join(p.text for p in pages)
    raw_starts = []
    pos = 0
    for p in pages:
        raw_starts.append(pos)
        pos += len(p.text)

    cp = np.frombuffer(raw.encode("utf-32-le"), dtype=np.uint32).copy()
    # a CR before LF and invisible characters go; find them before folding
    invisible = (cp == 0x0D) | (cp == 0xFEFF) | ((cp >= 0x200B) & (cp <= 0x200D)) | (cp == 0x2060) | (cp == 0xAD)
    _fold(cp)
    state = _Text(cp, np.arange(len(raw), dtype=np.int64))
    if invisible.any():
        state.delete(m.span() for m in RE_INVISIBLE.finditer(raw))
    if "<" in state.text:
        state.delete_matches(RE_MARKUP)
    if len(pages) > 1:
        state.delete(_furniture_spans(state, raw_starts))
    else:
        state.delete(_page_number_lines(state.text))
    state.delete(_doubled_char_spans(state))
    state.delete(_doubled_chunk_spans(state.text))
    state.delete(_line_spans(state.text, join_across_blank))

    text = state.text
    page_starts = tuple(int(i) for i in np.searchsorted(state.offs, raw_starts, side="left"))
    offs = array("q")
    offs.frombytes(state.offs.astype(np.int64).tobytes())
    offs.append(len(raw))
    return CleanText(text=text, raw_offsets=offs, page_starts=page_starts or (0,))


# --------------------------------------------------------------------------
# 3. furniture


def _lines(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each line in ``text[start:end]``, newline excluded."""
    end = len(text) if end is None else end
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        if nl < 0:
            yield pos, end
            return
        yield pos, nl
        pos = nl + 1


def _line_span_with_newline(text: str, a: int, b: int) -> tuple[int, int]:
    return (a, b + 1) if b < len(text) and text[b] == "\n" else (a, b)


def _page_number_lines(text: str) -> list[tuple[int, int]]:
    """Lines that are only a page number (``- 3 -``, ``第 2 页``), anywhere."""
    spans = []
    for m in re.finditer(r"(?m)^[ \t]*(.+?)[ \t]*$", text) if ("页" in text or "-" in text or "age" in text) else ():
        if RE_PAGE_NUMBER_ANYWHERE.fullmatch(m.group(1)):
            spans.append(_line_span_with_newline(text, m.start(), m.end()))
    return spans


def _furniture_spans(state: _Text, raw_starts: list[int]) -> list[tuple[int, int]]:
    text, offs = state.text, state.offs
    starts = [int(i) for i in np.searchsorted(offs, raw_starts, side="left")] + [len(text)]
    edges: list[list[tuple[int, int, str]]] = []  # per page: candidate lines
    for k in range(len(raw_starts)):
        lines = [(a, b) for a, b in _lines(text, starts[k], starts[k + 1]) if text[a:b].strip()]
        n = FURNITURE_EDGE_LINES
        chosen = lines if len(lines) <= 2 * n else lines[:n] + lines[-n:]
        edge = []
        for i, (a, b) in enumerate(chosen):
            content = text[a:b].strip()
            edge.append((a, b, content))
        edges.append(edge)
        # remember which are first/last for bare numbers
    counts: Counter[str] = Counter()
    for edge in edges:
        counts.update({_furniture_key(c) for _, _, c in edge})
    pages_with_text = sum(1 for e in edges if e)
    threshold = max(2, (pages_with_text + 1) // 2)
    spans = []
    for edge in edges:
        for i, (a, b, content) in enumerate(edge):
            first_or_last = i == 0 or i == len(edge) - 1
            if (
                counts[_furniture_key(content)] >= threshold
                or RE_PAGE_NUMBER_ANYWHERE.fullmatch(content)
                or (first_or_last and RE_PAGE_NUMBER_EDGE.fullmatch(content))
            ):
                spans.append(_line_span_with_newline(text, a, b))
    # page numbers written inside the body (text extracted from a PDF)
    spans.extend(_page_number_lines(text))
    spans.sort()
    return spans


def _furniture_key(line: str) -> str:
    return RE_DIGITS.sub("#", "".join(line.split()))


# --------------------------------------------------------------------------
# 4. doubled glyphs


def _doubled_char_spans(state: _Text) -> list[tuple[int, int]]:
    cp, text = state.cp, state.text
    if len(cp) < 6:
        candidates = [0] if len(cp) else []
    else:
        same = cp[1:] == cp[:-1]
        # AABB somewhere: where a run of repeated characters may start
        candidates = np.flatnonzero(same[:-2] & same[2:]).tolist()
    spans: list[tuple[int, int]] = []
    end = 0
    for i in candidates:
        if i < end:
            continue
        m = RE_REPEATED_CHARS.match(text, i)
        if m:
            spans.extend(_collapse_char_runs(text, m.start(), m.end()))
            end = m.end()
    return spans


def _doubled_chunk_spans(text: str) -> list[tuple[int, int]]:
    # only short lines without sentence punctuation: overprinted titles stand
    # alone, and the tandem search is the slowest regex of this module
    lines = text.split("\n")
    short = [i for i, line in enumerate(lines) if 4 <= len(line) <= 60 and "，" not in line and "。" not in line]
    if not short:
        return []
    starts = list(accumulate([len(line) + 1 for line in lines], initial=0))
    spans: list[tuple[int, int]] = []
    for i in short:
        line = lines[i]
        content = line.replace(" ", "")
        # a run with three distinct characters repeats at least three of them
        if len(content) - len(set(content)) >= 3 and not RE_SENTENCE_PUNCT.search(line):
            spans.extend(_collapse_tandems(text, starts[i], starts[i] + len(line)))
    return spans


def _distinct_enough(chunks: Iterable[str]) -> bool:
    """A run is overprint only if it has three distinct characters that are
    not ASCII letters or digits (112233 and 高高兴兴 stay)."""
    distinct = set("".join(chunks))
    return len({c for c in distinct if not RE_ASCII_ALNUM.match(c)}) >= 3


def _collapse_char_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []  # (position, length) of each run of one character
    pos = start
    while pos < end:
        q = pos + 1
        while q < end and text[q] == text[pos]:
            q += 1
        runs.append((pos, q - pos))
        pos = q
    k = min(n for _, n in runs)
    if k < 2 or any(n % k for _, n in runs):
        return []
    if k == 2:
        if not _distinct_enough(text[p] for p, _ in runs):
            return []
    elif len({text[p] for p, _ in runs}) < 3:
        return []
    return [(p + n // k, p + n) for p, n in runs]


def _collapse_tandems(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """In one short line, undo chunks written twice when they form a run
    (chunks adjacent or separated by spaces only)."""
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        if run and _distinct_enough(m.group(1) for m in run):
            spans.extend((m.start() + len(m.group(1)), m.end()) for m in run)
        run.clear()

    for m in RE_TANDEM.finditer(text, start, end):
        if run and text[run[-1].end() : m.start()].strip():
            close()
        run.append(m)
    close()
    return spans


# --------------------------------------------------------------------------
# 5. lines


def _line_spans(text: str, join_across_blank: bool) -> list[tuple[int, int]]:
    """Spans to delete so that lines are stripped, blank lines collapse to one
    and line breaks inside sentences disappear.

    Written as list comprehensions plus one tight loop over line pairs: this
    is the hot loop of the stage (one iteration per line of the document).
    """
    lines = text.split("\n")
    starts = list(accumulate([len(line) + 1 for line in lines], initial=0))
    stripped = [line.strip(" ") for line in lines]
    lead = [len(line) - len(line.lstrip(" ")) for line in lines]
    full_lines = [i for i, line in enumerate(stripped) if line]
    if not full_lines:
        return [(0, len(text))] if text else []
    # width ~ UTF-8 length: CJK 3, ASCII 1; only ratios to the usual width matter
    widths = [len(line.encode()) for line in stripped]
    sample = sorted(widths[i] for i in full_lines)
    usual = sample[(3 * len(sample)) // 4]
    full = FULL_LINE * usual
    full_across_blank = FULL_LINE_ACROSS_BLANK * usual if join_across_blank else float("inf")
    # a line indented more than most lines starts a paragraph (PDF text keeps
    # indents; text files mostly indent nothing or every paragraph alike)
    usual_indent = Counter(lead[i] for i in full_lines).most_common(1)[0][0]

    spans: list[tuple[int, int]] = [(0, starts[full_lines[0]] + lead[full_lines[0]])]
    ends_par = _ends_paragraph
    joinable = _joinable
    block_start = RE_BLOCK_START.match
    for i, j in zip(full_lines, full_lines[1:]):
        line = stripped[i]
        end_i = starts[i] + lead[i] + len(line)  # end of line i's content
        start_j = starts[j] + lead[j]  # start of line j's content
        blank = j > i + 1
        if (
            lead[j] <= usual_indent
            and widths[i] >= (full_across_blank if blank else full)
            and not ends_par(line)
            and joinable(line[-1], stripped[j][0])
            and not block_start(stripped[j])
        ):
            spans.append((end_i, start_j))
        else:  # keep the newline after line i and, for a blank line, the one before line j
            first = starts[i + 1] - 1
            spans.append((end_i, first))
            if blank:
                spans.append((first + 1, starts[j] - 1))
            spans.append((starts[j], start_j))
    last = full_lines[-1]
    end_last = starts[last] + lead[last] + len(stripped[last])
    # keep one final newline if the text had one
    if last + 1 < len(lines):
        spans += [(end_last, starts[last + 1] - 1), (starts[last + 1], len(text))]
    else:
        spans.append((end_last, len(text)))
    return [(a, b) for a, b in spans if b > a]
