"""Read stage: a path -> ``records.Document`` (raw text per page).

Text files (``.txt``, ``.md``) are one page.  Their encoding is found by
decoding strictly in a fixed order (BOM, UTF-16 by NUL pattern, UTF-8,
GB18030, which is a superset of GBK and GB2312), then charset-normalizer as a
fallback; decoded text that still looks binary is rejected.

PDFs are read page by page.  Characters and their boxes come from a text
engine (pypdfium2 by default, pdfplumber as the alternative; both feed the
same layout code, so they give the same text) as :class:`~pipeline.pdf_layout.Glyphs`
columns, then :func:`~pipeline.pdf_layout.layout_glyphs` removes overprinted
glyphs, finds the gutter of multi-column pages from the character x
positions and emits lines in reading order: page-wide rows (running headers,
titles) where they are, each column top to bottom, left before right.  Every
page text that is not empty ends with ``"\\n"`` so the concatenation of pages
never glues two pages into one line.

Every bad input raises :class:`errors.DocumentError` with a one-line message;
nothing else escapes :func:`read_document`.
"""

from __future__ import annotations

import codecs
import ctypes
import hashlib
import re
import unicodedata
from itertools import repeat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from pipeline.errors import DocumentError
# Char, dedupe_chars and layout_chars are part of this stage's interface
from pipeline.pdf_layout import Char, Glyphs, dedupe_chars, layout_chars, layout_glyphs  # noqa: F401
from pipeline.records import Document, Page

TEXT_SUFFIXES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
PDF_SUFFIXES = {".pdf": "pdf"}

# A PDF whose last bytes carry no %%EOF was cut short; pdfium would quietly
# reconstruct what it can and we would process half a document.
PDF_TAIL_BYTES = 4096


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
        pages_glyphs, created = _chars_pdfium(data)
        if _pdfium_lost_chars(data, pages_glyphs):
            pages_glyphs, created = _chars_pdfplumber(data)
    else:
        pages_glyphs, created = PDF_ENGINES[engine](data)
    pages = []
    any_text = False
    for number, glyphs in enumerate(pages_glyphs, start=1):
        text = layout_glyphs(glyphs)
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


def _chars_pdfium(data: bytes) -> tuple[list[Glyphs], date | None]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise _PdfProblem("encrypted PDF (password required)") from None
        raise _PdfProblem(_one_line(f"corrupt PDF ({msg})")) from None
    try:
        created = parse_pdf_date(pdf.get_metadata_dict().get("CreationDate"))
        pages: list[Glyphs] = []
        for index in range(len(pdf)):
            page = pdf[index]
            height = page.get_height()
            textpage = page.get_textpage()
            pages.append(_pdfium_glyphs(textpage.raw, height))
            textpage.close()
            page.close()
        return pages, created
    finally:
        pdf.close()


# Code points pdfium reports for what is no glyph: none, not a character,
# and the line breaks it inserts itself.
_PDFIUM_NO_GLYPH = (0, 0xFFFE, 0xFFFF, 0x0D, 0x0A)


def _pdfium_functions():
    """pdfium's per-character functions, called with plain integer addresses.

    ctypes converts every argument on every call; a text page handle and the
    address of a slot in one array of boxes are the cheapest to convert, and
    per glyph the call is most of the cost.
    """
    import pypdfium2.raw as pdfium_c

    def plain(func, restype, *argtypes):
        fn = type(func)(ctypes.cast(func, ctypes.c_void_p).value)  # same calling convention
        fn.restype, fn.argtypes = restype, argtypes
        return fn

    handle, index, pointer = ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p
    return (
        plain(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint, handle, index),
        plain(pdfium_c.FPDFText_IsGenerated, ctypes.c_int, handle, index),
        plain(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_int, handle, index, pointer),
        plain(pdfium_c.FPDFText_GetText, ctypes.c_int, handle, index, index, pointer),
        plain(pdfium_c.FPDFText_GetFontSize, ctypes.c_double, handle, index),
        plain(pdfium_c.FPDFText_GetMatrix, ctypes.c_int, handle, index, pointer),
    )


_PDFIUM_FUNCTIONS: tuple | None = None


def _pdfium_glyphs(textpage, height: float) -> Glyphs:
    """The glyphs pdfium found on one page, with their loose boxes.

    The loose box spans the advance left to right (or further, to the
    outline of the font pdfium draws with where that is wider: the Latin of
    a CID font it substitutes overhangs by up to 0.19 of the size) and the
    font's ascent to descent.  Its height is the font size only for a font whose ascent to
    descent is 1000 units: pdfium takes the font's own ascent and descent at
    that size, so STSong-Light (1006 units) gives 10.563 for 10.5, and other
    fonts well under or over the size.  The size is
    therefore FPDFText_GetFontSize (the size before the text matrix) times
    the matrix's horizontal scale (which pdfium scales the loose box by), as
    pdfminer reports it for upright text; where that is no positive number
    (text turned a quarter round) it is the loose box's height.  For some
    vertical or rotated text pdfium gives the box turned round (left >
    right, top < bottom): the layout turns it back, and the height is taken
    either way round.
    """
    global _PDFIUM_FUNCTIONS
    if _PDFIUM_FUNCTIONS is None:
        _PDFIUM_FUNCTIONS = _pdfium_functions()
    get_unicode, is_generated, loose_box, _, font_size, get_matrix = _PDFIUM_FUNCTIONS
    tp = ctypes.cast(textpage, ctypes.c_void_p).value
    count = _pdfium_char_count(textpage)
    codes = _pdfium_codes(tp, count)
    wanted = codes != _PDFIUM_NO_GLYPH[0]
    for code in _PDFIUM_NO_GLYPH[1:]:
        wanted &= codes != code
    # pdfium generates only spaces and line breaks (CPDF_TextPage), so only
    # a space can be a generated character here
    for i in np.flatnonzero(wanted & (codes == 0x20)).tolist():
        if is_generated(tp, i) == 1:
            wanted[i] = False
    index = np.flatnonzero(wanted)
    n = len(index)
    boxes = (ctypes.c_float * (4 * n))()
    slots = (ctypes.addressof(boxes) + 16 * np.arange(n)).tolist()
    found = list(map(loose_box, repeat(tp, n), index.tolist(), slots))
    box = np.frombuffer(boxes, dtype=np.float32).reshape(-1, 4).astype(np.float64)  # left, top, right, bottom
    if not all(found):
        ok = np.array(found, dtype=bool)
        index, box = index[ok], box[ok]
    codes = codes[index]
    if len(codes) and codes.max() >= 0x110000:
        codes = np.where(codes < 0x110000, codes, 0xFFFD)
    texts = list(codes.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")) if len(codes) else []
    left, top, right, bottom = box[:, 0], box[:, 1], box[:, 2], box[:, 3]
    n = len(index)
    matrices = (ctypes.c_float * (6 * n))()  # FS_MATRIX: a, b, c, d, e, f
    slots = (ctypes.addressof(matrices) + 24 * np.arange(n)).tolist()
    list(map(get_matrix, repeat(tp, n), index.tolist(), slots))
    scale = np.abs(np.frombuffer(matrices, dtype=np.float32).reshape(-1, 6)[:, 0].astype(np.float64))
    size = scale * np.fromiter(map(font_size, repeat(tp, n), index.tolist()), dtype=np.float64, count=n)
    size = np.where(np.isfinite(size) & (size > 0), size, np.abs(top - bottom))
    return Glyphs(texts, left, right, height - top, height - bottom, size, codes=codes)


def _pdfium_char_count(textpage) -> int:
    import pypdfium2.raw as pdfium_c

    return max(0, pdfium_c.FPDFText_CountChars(textpage))


def _pdfium_codes(tp: int, count: int) -> np.ndarray:
    """FPDFText_GetUnicode of every character of a text page, as an array.

    The page text (one call) holds the same code points, one per character,
    when it is exactly as long as the character list: no character was left
    out of it (control characters are) and none took two UTF-16 units.  Where
    the text says U+FFFE (no Unicode, a soft hyphen pdfium marked) the
    character is asked for itself; otherwise each character is asked.
    """
    get_unicode, _, _, get_text, _, _ = _PDFIUM_FUNCTIONS
    if not count:
        return np.zeros(0, dtype=np.int64)
    buf = (ctypes.c_uint16 * (2 * count + 2))()  # room for surrogate pairs
    written = get_text(tp, 0, count, ctypes.addressof(buf))
    units = np.frombuffer(buf, dtype=np.uint16)[: max(written - 1, 0)]
    if written - 1 == count and not ((units >= 0xD800) & (units <= 0xDFFF)).any():
        codes = units.astype(np.int64)
        for i in np.flatnonzero(codes == 0xFFFE).tolist():
            codes[i] = get_unicode(tp, i)
        return codes
    return np.array([get_unicode(tp, i) for i in range(count)], dtype=np.int64)


def _chars_pdfplumber(data: bytes) -> tuple[list[Glyphs], date | None]:
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
            chars = page.chars
            pages.append(Glyphs(
                [c["text"] for c in chars], [c["x0"] for c in chars], [c["x1"] for c in chars],
                [c["top"] for c in chars], [c["bottom"] for c in chars],
                [c.get("size") or (c["bottom"] - c["top"]) for c in chars],
            ))
            page.close()
        return pages, created


def _pdfium_lost_chars(data: bytes, pages_glyphs: list[Glyphs], tolerance: float = 0.9) -> bool:
    """Whether pdfplumber reads clearly more characters than pdfium on a sample page.

    pdfium silently drops glyphs of some fonts (the CJK of an OCR text layer);
    pdfminer decodes them through the font's CMap. One page is enough to tell,
    and costs one pdfplumber page instead of all of them. The sample is the
    page where pdfium found the fewest characters for its size (an empty page
    of a PDF whose other pages have text is the telling case).
    """
    if not pages_glyphs:
        return False
    sample = min(range(len(pages_glyphs)), key=lambda i: len(pages_glyphs[i]))
    plumber = _plumber_char_count(data, sample)
    pdfium = sum(1 for t in pages_glyphs[sample].texts if not t.isspace())
    return plumber > 0 and pdfium < tolerance * plumber


def _plumber_char_count(data: bytes, index: int) -> int:
    """How many of pdfplumber's ``Page.chars`` on page ``index`` are not white space.

    The page is interpreted as ``Page.layout`` does it, by pdfplumber's own
    device, except that each character is counted where pdfminer would make
    an ``LTChar`` of it (and a dictionary of that); the page tree is walked
    only up to the page.
    """
    import io
    from itertools import islice

    import pdfplumber
    from pdfminer.pdfinterp import PDFPageInterpreter
    from pdfminer.pdfpage import PDFPage
    from pdfplumber.utils.exceptions import PdfminerException

    pdf = pdfplumber.open(io.BytesIO(data))  # nothing to close: the stream is ours
    try:
        page = next(islice(PDFPage.create_pages(pdf.doc), index, None), None)
    except Exception as exc:  # as pdfplumber's own page walk reports it
        raise PdfminerException(exc) from None
    if page is None:  # pdfminer finds fewer pages than pdfium: as pdf.pages[index] fails
        raise IndexError("list index out of range")
    device = _char_counter()(pdf.rsrcmgr, pageno=index + 1, laparams=None)
    try:
        PDFPageInterpreter(pdf.rsrcmgr, device).process_page(page)
    except Exception as exc:  # as Page.layout reports it
        raise PdfminerException(exc) from None
    return device.chars


_CHAR_COUNTER = None


def _char_counter():
    """pdfplumber's layout device, counting the characters that are not white space."""
    global _CHAR_COUNTER
    if _CHAR_COUNTER is None:
        from pdfminer.pdffont import PDFUnicodeNotDefined
        from pdfplumber.page import PDFPageAggregatorWithMarkedContent

        class CharCounter(PDFPageAggregatorWithMarkedContent):
            chars = 0

            def render_char(self, matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate) -> float:
                # the text and the advance as PDFLayoutAnalyzer.render_char and LTChar have them
                try:
                    text = font.to_unichr(cid)
                except PDFUnicodeNotDefined:
                    text = self.handle_undefined_char(font, cid)
                if not text.isspace():
                    self.chars += 1
                return font.char_width(cid) * fontsize * scaling

        _CHAR_COUNTER = CharCounter
    return _CHAR_COUNTER


PDF_ENGINES: dict[str, Callable[[bytes], tuple[list[Glyphs], date | None]]] = {
    "pdfium": _chars_pdfium,
    "pdfplumber": _chars_pdfplumber,
}
