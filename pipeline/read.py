"""Read stage: a path -> ``records.Document`` (raw text per page).

Text files (``.txt``, ``.md``) are one page.  Their encoding is found by
decoding strictly in a fixed order (BOM, UTF-16 by NUL pattern, UTF-8,
GB18030, which is a superset of GBK and GB2312), then charset-normalizer as a
fallback; decoded text that still looks binary is rejected.

PDFs are read page by page.  Characters and their boxes come from a text
engine (pypdfium2 by default, pdfplumber as the alternative; both feed the
same layout code, so they give the same text), then :func:`layout_chars`
removes overprinted glyphs, finds the gutter of multi-column pages from the
character x positions and emits lines in reading order: page-wide rows
(running headers, titles) where they are, each column top to bottom, left
before right.  Every page text that is not empty ends with ``"\\n"`` so the
concatenation of pages never glues two pages into one line.

Every bad input raises :class:`errors.DocumentError` with a one-line message;
nothing else escapes :func:`read_document`.
"""

from __future__ import annotations

import codecs
import ctypes
import hashlib
import re
import statistics
from bisect import bisect_left, bisect_right
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

from pipeline.errors import DocumentError
from pipeline.records import Document, Page

TEXT_SUFFIXES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
PDF_SUFFIXES = {".pdf": "pdf"}

# A PDF whose last bytes carry no %%EOF was cut short; pdfium would quietly
# reconstruct what it can and we would process half a document.
PDF_TAIL_BYTES = 4096


class Char(NamedTuple):
    """One glyph on a page, in top-down coordinates (points)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


# --------------------------------------------------------------------------
# public entry point


def read_document(path: Path, doc_id: str, *, engine: str = "auto") -> Document:
    """Read one file into a :class:`~pipeline.records.Document`.

    Args:
        path: the file (``.txt``, ``.md`` or ``.pdf``).
        doc_id: the identifier the pipeline gave this document.
        engine: PDF text engine: ``"auto"`` (default: pdfium, unless a
            pdfplumber reading of one sample page finds characters pdfium
            lost, then pdfplumber for the whole file), ``"pdfium"`` (about
            10x faster, but it loses the CJK glyphs of some OCR text layers)
            or ``"pdfplumber"`` (reads every text layer in the corpus).

    Raises:
        DocumentError: for every input that cannot be read, with a one-line
            message (empty file, undecodable or binary text, corrupt,
            truncated or encrypted PDF, no text layer, unreadable path).
        ValueError: for an unknown ``engine`` (a programming error).
    """
    if engine not in PDF_ENGINES and engine != "auto":
        raise ValueError(f"unknown PDF engine {engine!r} (allowed: {', '.join(PDF_ENGINES)})")
    path = Path(path)
    data, stat = _read_bytes(path)
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        fmt = "pdf"
    elif suffix in TEXT_SUFFIXES:
        fmt = TEXT_SUFFIXES[suffix]
    else:
        raise DocumentError(path, "read", f"unsupported file type {suffix or '(no suffix)'!r} (allowed: .txt, .md, .pdf)")
    if not data:
        raise DocumentError(path, "read", "empty file")
    encoding = ""
    created = None
    try:
        if fmt == "pdf":
            pages, created = _read_pdf(path, data, engine)
        else:
            text, encoding = decode_text(data)
            if not text.strip():
                raise DocumentError(path, "read", "file contains only white space")
            pages = (Page(1, text),)
    except DocumentError:
        raise
    except (_PdfProblem, UndecodableText) as exc:
        raise DocumentError(path, "read", str(exc)) from None
    except Exception as exc:  # a library failing on a malformed file
        raise DocumentError(path, "read", _one_line(f"cannot read {fmt.upper()}: {type(exc).__name__}: {exc}")) from None
    return Document(
        path=str(path),
        doc_id=doc_id,
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
        size=stat.st_size,
        mtime=stat.st_mtime,
        pages=tuple(pages),
        encoding=encoding,
        created=created,
    )


def _read_bytes(path: Path):
    try:
        stat = path.stat()
        if path.is_dir():
            raise DocumentError(path, "read", "is a directory, not a file")
        return path.read_bytes(), stat
    except DocumentError:
        raise
    except FileNotFoundError:
        raise DocumentError(path, "read", "file not found") from None
    except PermissionError:
        raise DocumentError(path, "read", "permission denied") from None
    except OSError as exc:
        raise DocumentError(path, "read", _one_line(f"cannot read file: {exc.strerror or exc}")) from None


def _one_line(msg: str, limit: int = 200) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


class _PdfProblem(Exception):
    """A PDF we recognise as unusable; the message is shown as is."""


class UndecodableText(ValueError):
    """Bytes that decode to no plausible text in any supported encoding."""


# --------------------------------------------------------------------------
# text files

# Decoded text is rejected as binary when more than this share of its
# characters are control characters, unassigned code points or private use.
MAX_BAD_SHARE = 0.02
_OK_CONTROLS = frozenset("\t\n\r\f\v\x1a")  # \x1a: DOS end-of-file, harmless


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode the bytes of a text file; return ``(text, encoding)``.

    The order is fixed so the result never depends on a guess when a strict
    decode works: BOM (UTF-8, UTF-16), UTF-16 without BOM recognised by its
    NUL bytes, UTF-8, GB18030 (covers GBK/GB2312), then charset-normalizer.
    A byte-order mark is consumed by the codec, so it never reaches the text.

    Raises:
        UndecodableText: when nothing decodes to text.
    """
    candidates: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        nul_even = data[0:4000:2].count(0)
        nul_odd = data[1:4000:2].count(0)
        half = min(len(data), 4000) // 2
        if half and nul_odd > 0.3 * half and nul_even < 0.05 * half:
            candidates.append("utf-16-le")
        elif half and nul_even > 0.3 * half and nul_odd < 0.05 * half:
            candidates.append("utf-16-be")
        candidates += ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_like_text(text):
            return text, enc
    best = _detect_with_charset_normalizer(data)
    if best is not None:
        return best
    raise UndecodableText("cannot decode as text (not UTF-8, GB18030/GBK or UTF-16; binary file?)")


def _detect_with_charset_normalizer(data: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - declared dependency
        return None
    match = from_bytes(data[:200_000]).best()
    if match is None or not match.encoding:
        return None
    try:
        text = data.decode(match.encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return (text, codecs.lookup(match.encoding).name) if _looks_like_text(text) else None


def _looks_like_text(text: str) -> bool:
    if not text or "\x00" in text:
        return False
    sample = text[:100_000]
    bad = 0
    for ch in set(sample):
        cat = unicodedata.category(ch)
        if (cat == "Cc" and ch not in _OK_CONTROLS) or cat in ("Cn", "Co", "Cs"):
            bad += sample.count(ch)
    return bad <= MAX_BAD_SHARE * len(sample)


# --------------------------------------------------------------------------
# PDF


def _read_pdf(path: Path, data: bytes, engine: str) -> tuple[list[Page], date | None]:
    head = data[:1024]
    if b"%PDF-" not in head:
        raise _PdfProblem("not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-PDF_TAIL_BYTES:]:
        raise _PdfProblem("truncated or corrupt PDF (no %%EOF at the end)")
    if engine == "auto":
        pages_chars, created = _chars_pdfium(data)
        if _pdfium_lost_chars(data, pages_chars):
            pages_chars, created = _chars_pdfplumber(data)
    else:
        pages_chars, created = PDF_ENGINES[engine](data)
    pages = []
    any_text = False
    for number, chars in enumerate(pages_chars, start=1):
        text = layout_chars(chars)
        any_text = any_text or bool(text.strip())
        pages.append(Page(number, text))
    if not pages:
        raise _PdfProblem("PDF has no pages")
    if not any_text:
        raise _PdfProblem("no text layer (scanned?)")
    return pages, created


RE_PDF_DATE = re.compile(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def parse_pdf_date(value: object) -> date | None:
    """``D:20180427190033+11'00'`` -> ``date(2018, 4, 27)``; None when unusable."""
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    if not isinstance(value, str):
        return None
    m = RE_PDF_DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None


def _chars_pdfium(data: bytes) -> tuple[list[list[Char]], date | None]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise _PdfProblem("encrypted PDF (password required)") from None
        raise _PdfProblem(_one_line(f"corrupt PDF ({msg})")) from None
    try:
        created = parse_pdf_date(pdf.get_metadata_dict().get("CreationDate"))
        pages: list[list[Char]] = []
        rect = pdfium_c.FS_RECTF()
        get_unicode = pdfium_c.FPDFText_GetUnicode
        is_generated = pdfium_c.FPDFText_IsGenerated
        loose_box = pdfium_c.FPDFText_GetLooseCharBox
        rect_ref = ctypes.byref(rect)
        for index in range(len(pdf)):
            page = pdf[index]
            height = page.get_height()
            textpage = page.get_textpage()
            tp = textpage.raw
            chars: list[Char] = []
            for i in range(pdfium_c.FPDFText_CountChars(tp)):
                code = get_unicode(tp, i)
                if code in (0, 0xFFFE, 0xFFFF, 0x0D, 0x0A) or is_generated(tp, i) == 1:
                    continue
                if not loose_box(tp, i, rect_ref):
                    continue
                text = chr(code) if code < 0x110000 else "\ufffd"
                # loose box: left/right from the advance, top/bottom from the
                # font; its height is the size as drawn (FPDFText_GetFontSize
                # is the size before the text matrix scales it)
                chars.append(Char(text, rect.left, rect.right, height - rect.top, height - rect.bottom,
                                  rect.top - rect.bottom))
            textpage.close()
            page.close()
            pages.append(chars)
        return pages, created
    finally:
        pdf.close()


def _chars_pdfplumber(data: bytes) -> tuple[list[list[Char]], date | None]:
    import io

    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfplumber wraps pdfminer's errors
        causes = []
        e: BaseException | None = exc
        while e is not None and len(causes) < 5:
            causes.append(e)
            e = e.__cause__ or e.__context__
        causes += [a for c in causes for a in c.args if isinstance(a, BaseException)]
        if any(isinstance(c, PDFPasswordIncorrect) or "password" in str(c).lower() for c in causes):
            raise _PdfProblem("encrypted PDF (password required)") from None
        detail = next((str(c) for c in causes if str(c)), type(exc).__name__)
        raise _PdfProblem(_one_line(f"corrupt PDF ({detail})")) from None
    with pdf:
        created = parse_pdf_date(pdf.metadata.get("CreationDate"))
        pages = []
        for page in pdf.pages:
            pages.append([
                Char(c["text"], c["x0"], c["x1"], c["top"], c["bottom"], c.get("size") or (c["bottom"] - c["top"]))
                for c in page.chars
            ])
            page.close()
        return pages, created


def _pdfium_lost_chars(data: bytes, pages_chars: list[list[Char]], tolerance: float = 0.9) -> bool:
    """Whether pdfplumber reads clearly more characters than pdfium on a sample page.

    pdfium silently drops glyphs of some fonts (the CJK of an OCR text layer);
    pdfminer decodes them through the font's CMap. One page is enough to tell,
    and costs one pdfplumber page instead of all of them. The sample is the
    page where pdfium found the fewest characters for its size (an empty page
    of a PDF whose other pages have text is the telling case).
    """
    import io

    import pdfplumber

    if not pages_chars:
        return False
    sample = min(range(len(pages_chars)), key=lambda i: len(pages_chars[i]))
    with pdfplumber.open(io.BytesIO(data), pages=[sample + 1]) as pdf:
        plumber = sum(1 for c in pdf.pages[0].chars if not c["text"].isspace())
    pdfium = sum(1 for c in pages_chars[sample] if not c.text.isspace())
    return plumber > 0 and pdfium < tolerance * plumber


PDF_ENGINES: dict[str, Callable[[bytes], tuple[list[list[Char]], date | None]]] = {
    "pdfium": _chars_pdfium,
    "pdfplumber": _chars_pdfplumber,
}


# --------------------------------------------------------------------------
# layout: chars -> text in reading order

# Overprinted ("fake bold") glyphs are the same character drawn again within
# this share of the font size; a genuinely repeated character (天天) sits a
# whole advance away.
DEDUPE_TOLERANCE = 0.2
# Characters further apart than this (in font sizes) on a row are separate
# segments; a gutter is wider than this.
SEGMENT_GAP = 1.2
# A gap wider than this (in font sizes) without a space glyph gets a space.
SPACE_GAP = 0.45
# Indents are kept as up to this many spaces (one per font size).
MAX_INDENT = 8
# A line ending this many font sizes left of its column's right edge is short.
SHORT_LINE = 1.5


def dedupe_chars(chars: Iterable[Char]) -> list[Char]:
    """Drop glyphs that repeat the same character at (almost) the same place."""
    kept: list[Char] = []
    # (character, vertical bucket) -> glyphs kept there; a glyph is checked
    # against its bucket and the two next to it
    seen: dict[tuple[str, int], list[Char]] = {}
    for c in chars:
        tol = max(0.5, DEDUPE_TOLERANCE * c.size)
        band = int(c.top // tol)
        dup = False
        for key in ((c.text, band), (c.text, band - 1), (c.text, band + 1)):
            others = seen.get(key)
            if others and any(abs(o.x0 - c.x0) <= tol and abs(o.top - c.top) <= tol for o in others):
                dup = True
                break
        if not dup:
            seen.setdefault((c.text, band), []).append(c)
            kept.append(c)
    return kept


def layout_chars(chars: Sequence[Char]) -> str:
    """Text of one page in reading order, lines separated by ``"\\n"``."""
    chars = [c for c in dedupe_chars(chars) if c.text and c.size > 0]
    if not any(not c.text.isspace() for c in chars):
        return ""
    spaces = _Spaces([c for c in chars if c.text.isspace()])
    lines = _layout_block([c for c in chars if not c.text.isspace()], spaces, 0)
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def _median_size(chars: Sequence[Char]) -> float:
    return statistics.median(c.size for c in chars) if chars else 10.0


def _rows(chars: Sequence[Char]) -> list[list[Char]]:
    """Group glyphs into rows by vertical position (top to bottom)."""
    rows: list[list[Char]] = []
    centre = -1e9
    tol = 0.0
    for c in sorted(chars, key=lambda c: (c.top + c.bottom) / 2):
        mid = (c.top + c.bottom) / 2
        if rows and abs(mid - centre) <= tol:
            rows[-1].append(c)
        else:
            rows.append([c])
            centre = mid
            tol = 0.5 * max(c.size, 1.0)
    for row in rows:
        row.sort(key=lambda c: c.x0)
    return rows


def _segments(row: Sequence[Char], size: float) -> list[tuple[float, float]]:
    segs: list[tuple[float, float]] = []
    for c in row:
        if segs and c.x0 - segs[-1][1] <= SEGMENT_GAP * size:
            segs[-1] = (segs[-1][0], max(segs[-1][1], c.x1))
        else:
            segs.append((c.x0, c.x1))
    return segs


def _find_gutter(rows: list[list[Char]], size: float) -> tuple[float, float] | None:
    """The widest vertical strip in the middle of the text that few rows cross.

    Returns ``(left, right)`` x positions, or None for a single column.
    """
    all_segs = [s for row in rows for s in _segments(row, size)]
    if len(all_segs) < 6:
        return None
    left = min(s[0] for s in all_segs)
    right = max(s[1] for s in all_segs)
    width = right - left
    if width < 10 * size:
        return None
    bins = int(width) + 1
    cover = [0] * (bins + 1)
    for a, b in all_segs:  # difference array, then prefix sums
        cover[int(a - left)] += 1
        cover[int(b - left) + 1] -= 1
    run = 0
    for i in range(bins + 1):
        run += cover[i]
        cover[i] = run
    lo, hi = int(0.2 * width), int(0.8 * width)
    floor = min(cover[lo:hi])
    # a gutter is crossed only by page-wide rows (headers, titles)
    if floor > max(1, 0.15 * len(rows)):
        return None
    # the valley: bins crossed by hardly more rows than its floor (a few
    # lines of a column poke into the gutter with hanging punctuation)
    limit = floor + max(2, int(0.1 * statistics.median(cover[lo:hi])))
    best: tuple[int, int] | None = None
    i = lo
    while i < hi:
        if cover[i] <= limit:
            j = i
            while j < hi and cover[j] <= limit:
                j += 1
            if best is None or j - i > best[1] - best[0]:
                best = (i, j)
            i = j
        else:
            i += 1
    if best is None or best[1] - best[0] < 0.5 * size:
        return None
    g0, g1 = left + best[0], left + best[1]
    n_left = sum(1 for row in rows for c in row if c.x1 <= g0 + 1)
    n_right = sum(1 for row in rows for c in row if c.x0 >= g1 - 1)
    total = sum(len(row) for row in rows)
    if n_left < 0.2 * total or n_right < 0.2 * total:
        return None
    return g0, g1


class _Spaces:
    """Space glyphs of a page, found by row quickly."""

    def __init__(self, spaces: Sequence[Char]) -> None:
        self.items = sorted(((c.top + c.bottom) / 2, (c.x0 + c.x1) / 2) for c in spaces)
        self.keys = [y for y, _ in self.items]

    def in_row(self, top: float, bottom: float) -> list[float]:
        lo = bisect_left(self.keys, top - 1)
        hi = bisect_right(self.keys, bottom + 1)
        return sorted(x for _, x in self.items[lo:hi])


def _row_text(row: Sequence[Char], spaces: _Spaces) -> str:
    """Glyphs of one line left to right, with a space where the PDF draws one
    (a space glyph between two glyph centres) or where the gap is wide."""
    if not row:
        return ""
    size = _median_size(row)
    xs = spaces.in_row(min(c.top for c in row), max(c.bottom for c in row))
    k = 0
    out = [row[0].text]
    prev = row[0]
    for c in row[1:]:
        mid_prev, mid = (prev.x0 + prev.x1) / 2, (c.x0 + c.x1) / 2
        while k < len(xs) and xs[k] <= mid_prev:
            k += 1
        if c.x0 - prev.x1 > SPACE_GAP * size or (k < len(xs) and xs[k] < mid):
            out.append(" ")
        out.append(c.text)
        prev = c
    return "".join(out)


def _indented_lines(rows: list[list[Char]], spaces: _Spaces, size: float) -> list[str]:
    """Rows of one column as lines.

    Two things of the geometry that the text alone would lose are kept for
    clean: a line that starts right of the column's left edge keeps its
    indent as spaces (a paragraph start, a centred heading), and a line that
    stops well short of the column's right edge (a paragraph end, a heading,
    a table row) is followed by an empty line, and a centred line (a title)
    or a row of three or more cells apart (a table row) gets an empty line on
    both sides.
    """
    if not rows:
        return []
    left = min(row[0].x0 for row in rows)
    rights = sorted(row[-1].x1 for row in rows)
    right = rights[(9 * (len(rights) - 1)) // 10]
    lines: list[str] = []
    for row in rows:
        left_gap, right_gap = row[0].x0 - left, right - row[-1].x1
        centred = left_gap > 0.5 * size and abs(left_gap - (rights[-1] - row[-1].x1)) < size
        # three cells or more apart: a table row, never part of a sentence
        table_row = len(_segments(row, size)) >= 3
        if (centred or table_row) and lines and lines[-1]:
            lines.append("")  # a centred line (title) or a table row stands alone
        indent = min(MAX_INDENT, int(left_gap / size + 0.3))
        lines.append(" " * indent + _row_text(row, spaces))
        if right_gap > SHORT_LINE * size or centred or table_row:
            lines.append("")
    return lines


def _layout_block(chars: list[Char], spaces: _Spaces, depth: int) -> list[str]:
    if not chars:
        return []
    size = _median_size(chars)
    rows = _rows(chars)
    gutter = _find_gutter(rows, size) if depth < 2 else None
    if gutter is None:
        return _indented_lines(rows, spaces, size)
    g0, g1 = gutter
    mid = (g0 + g1) / 2

    def crosses(row: list[Char]) -> bool:
        return any(a < g0 and b > g1 for a, b in _segments(row, size))

    # Rows at the very top or bottom that stand apart from the body by a wide
    # gap (running header, footer) are page-wide even if split in two parts.
    pitch = statistics.median(
        [rows[i + 1][0].top - rows[i][0].top for i in range(len(rows) - 1)] or [size]
    )
    wide = [crosses(r) for r in rows]
    for i in range(min(3, len(rows) - 1)):
        if rows[i + 1][0].top - max(c.bottom for c in rows[i]) > 1.5 * pitch:
            for k in range(i + 1):
                wide[k] = True
    for i in range(len(rows) - 1, max(len(rows) - 4, 0), -1):
        if min(c.top for c in rows[i]) - max(c.bottom for c in rows[i - 1]) > 1.5 * pitch:
            for k in range(i, len(rows)):
                wide[k] = True

    lines: list[str] = []
    band: list[Char] = []
    wide_rows: list[list[Char]] = []

    def flush() -> None:
        if wide_rows:
            lines.extend(_indented_lines(wide_rows, spaces, size))
            wide_rows.clear()
        if band:
            lines.extend(_layout_block([c for c in band if (c.x0 + c.x1) / 2 < mid], spaces, depth + 1))
            lines.extend(_layout_block([c for c in band if (c.x0 + c.x1) / 2 >= mid], spaces, depth + 1))
            band.clear()

    for row, is_wide in zip(rows, wide):
        if is_wide:
            if band:
                flush()
            wide_rows.append(row)
        else:
            if wide_rows:
                flush()
            band.extend(row)
    flush()
    return lines
