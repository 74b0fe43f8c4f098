"""PDF page layout: glyph boxes of one page -> its text in reading order.

Input is the glyphs of a page (text and box, top-down coordinates in
points) as :class:`Glyphs` columns or a list of :class:`Char`; output is the
page text, lines separated by ``"\\n"``.  The layout removes overprinted
glyphs, finds the gutter of multi-column pages from the character x
positions and emits lines in reading order: page-wide rows (running headers,
titles) where they are, each column top to bottom, left before right.

There are two implementations of the same layout.  :func:`layout_glyphs`
works on whole columns of numbers with numpy (rows, segments, gutters and
spaces are array operations; Python loops run per row, never per glyph) and
is what the read stage uses.  :func:`layout_chars_reference` is the
original glyph-by-glyph code, kept as the definition of the result: the fast
path must give the same text byte for byte (``tests/test_read_speed.py``
compares the two), and it hands pages it cannot treat exactly (more space
glyph pairs than it holds at once) to the reference.

Both first make the boxes usable the same way (:func:`usable_chars`): a box
turned round (``x1 < x0`` or ``bottom < top``, as pdfium reports for some
vertical or rotated text) is turned the right way, and a glyph with a
coordinate or size that is no finite number, or beyond any page, is dropped:
it has no place on the page to be read at.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

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
# A page whose rows have more (glyph, space glyph) pairs than this is laid
# out by the reference code (the pairs are held in memory at once).
MAX_SPACE_PAIRS = 2_000_000
# A glyph with a coordinate or size further than this from 0 (points; a PDF
# page is at most 14,400 wide) is on no page: a broken text matrix put it
# there, and the gutter search would count one bin per point up to it.
MAX_COORDINATE = 1e6


class Char(NamedTuple):
    """One glyph on a page, in top-down coordinates (points)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


class Glyphs:
    """The glyphs of one page as columns: ``texts[i]`` is drawn in the box
    ``x0[i]..x1[i]``, ``top[i]..bottom[i]`` at font size ``size[i]``.

    ``keys`` are integers equal exactly where the texts are equal: the code
    points when every text is one character (``codes`` is then that array),
    else numbers given to the texts.  An engine that reads code points
    passes them as ``codes``.
    """

    __slots__ = ("texts", "x0", "x1", "top", "bottom", "size", "_keys", "codes")

    def __init__(self, texts: list[str], x0, x1, top, bottom, size, codes=None) -> None:
        self.texts = texts
        self.x0 = np.asarray(x0, dtype=np.float64)
        self.x1 = np.asarray(x1, dtype=np.float64)
        self.top = np.asarray(top, dtype=np.float64)
        self.bottom = np.asarray(bottom, dtype=np.float64)
        self.size = np.asarray(size, dtype=np.float64)
        self.codes: np.ndarray | None = None if codes is None else np.asarray(codes, dtype=np.int64)
        self._keys = self.codes

    @classmethod
    def from_chars(cls, chars: Sequence[Char]) -> Glyphs:
        if not chars:
            return cls([], *([()] * 5))
        texts, x0, x1, top, bottom, size = zip(*chars)
        return cls(list(texts), x0, x1, top, bottom, size)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def keys(self) -> np.ndarray:
        if self._keys is None:
            try:
                self.codes = np.array([ord(t) for t in self.texts], dtype=np.int64)
                self._keys = self.codes
            except TypeError:  # a text of more (or less) than one character
                numbers: dict[str, int] = {}
                self._keys = np.array([numbers.setdefault(t, len(numbers)) for t in self.texts], dtype=np.int64)
        return self._keys

    def chars(self) -> list[Char]:
        return [Char(*c) for c in zip(self.texts, self.x0.tolist(), self.x1.tolist(), self.top.tolist(),
                                      self.bottom.tolist(), self.size.tolist())]


# --------------------------------------------------------------------------
# usable boxes


def usable_chars(chars: Iterable[Char]) -> list[Char]:
    """The glyphs the layout can place, boxes the right way round.

    A box with ``x1 < x0`` or ``bottom < top`` is turned round; a glyph with
    a coordinate or size that is NaN, infinite or beyond
    :data:`MAX_COORDINATE` is dropped (a comparison with NaN is false, so
    ``abs(v) <= MAX_COORDINATE`` tests all three).
    """
    out = []
    for c in chars:
        if not (abs(c.x0) <= MAX_COORDINATE and abs(c.x1) <= MAX_COORDINATE and abs(c.top) <= MAX_COORDINATE
                and abs(c.bottom) <= MAX_COORDINATE and abs(c.size) <= MAX_COORDINATE):
            continue
        if c.x1 < c.x0:
            c = c._replace(x0=c.x1, x1=c.x0)
        if c.bottom < c.top:
            c = c._replace(top=c.bottom, bottom=c.top)
        out.append(c)
    return out


def _usable_glyphs(g: Glyphs) -> Glyphs:
    """:func:`usable_chars` on columns; ``g`` itself when every box is usable.

    ``g`` must not be empty.  The test of every page is cheap: ``x1 >= x0``
    is false for a NaN as for a box turned round, and once it holds
    everywhere the smallest x0 and largest x1 bound both columns; min and max
    are NaN when a NaN is among the values, which fails the comparison.
    """
    m = MAX_COORDINATE
    if ((g.x1 >= g.x0).all() and (g.bottom >= g.top).all()
            and -m <= g.x0.min() and g.x1.max() <= m and -m <= g.top.min() and g.bottom.max() <= m
            and -m <= g.size.min() and g.size.max() <= m):
        return g
    ok = np.abs(g.x0) <= MAX_COORDINATE
    for a in (g.x1, g.top, g.bottom, g.size):
        ok &= np.abs(a) <= MAX_COORDINATE
    turned_x, turned_y = g.x1 < g.x0, g.bottom < g.top
    # np.where, not np.minimum: the same floats as swapping (0.0 and -0.0 included)
    x0, x1 = np.where(turned_x, g.x1, g.x0), np.where(turned_x, g.x0, g.x1)
    top, bottom = np.where(turned_y, g.bottom, g.top), np.where(turned_y, g.top, g.bottom)
    size, codes, texts = g.size, g.codes, g.texts
    if not ok.all():
        keep = np.flatnonzero(ok)
        x0, x1, top, bottom, size = x0[keep], x1[keep], top[keep], bottom[keep], size[keep]
        codes = None if codes is None else codes[keep]
        texts = [texts[i] for i in keep.tolist()]
    return Glyphs(texts, x0, x1, top, bottom, size, codes=codes)


# --------------------------------------------------------------------------
# overprinted glyphs


def _dedupe(items: Iterable[tuple[int, str, float, float, float]]) -> list[int]:
    """Numbers of the glyphs kept from ``(number, text, x0, top, size)`` in order."""
    kept: list[int] = []
    # (character, vertical bucket) -> (x0, top) of glyphs kept there; a
    # glyph is checked against its bucket and the two next to it
    seen: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for number, text, x0, top, size in items:
        tol = max(0.5, DEDUPE_TOLERANCE * size)
        band = int(top // tol)
        dup = False
        for key in ((text, band), (text, band - 1), (text, band + 1)):
            others = seen.get(key)
            if others and any(abs(ox0 - x0) <= tol and abs(otop - top) <= tol for ox0, otop in others):
                dup = True
                break
        if not dup:
            seen.setdefault((text, band), []).append((x0, top))
            kept.append(number)
    return kept


def dedupe_chars(chars: Iterable[Char]) -> list[Char]:
    """Drop glyphs that repeat the same character at (almost) the same place."""
    chars = list(chars)
    return [chars[i] for i in _dedupe((i, c.text, c.x0, c.top, c.size) for i, c in enumerate(chars))]


def _dedupe_mask(g: Glyphs) -> np.ndarray:
    """Which glyphs :func:`dedupe_chars` keeps, as a boolean array.

    Only glyphs with a twin (same text, both x0 and top within the largest
    tolerance of the page) can be dropped or make another one dropped, so the
    exact sequential rule runs on those alone; on most pages there are none.
    """
    n = len(g)
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return keep
    keys, top, x0 = g.keys, g.top, g.x0
    reach = max(0.5, DEDUPE_TOLERANCE * float(g.size.max()))
    order = np.lexsort((top, keys))  # by text, then top to bottom
    k_sorted, t_sorted, x_sorted = keys[order], top[order], x0[order]
    twin = np.zeros(n, dtype=bool)
    # pairs (a, a + shift) in this order with the same text within reach
    # vertically; a pair that is not has no such pair further apart either
    a = np.arange(n - 1)
    shift = 1
    while len(a):
        b = a + shift
        a = a[(k_sorted[b] == k_sorted[a]) & (t_sorted[b] - t_sorted[a] <= reach)]
        if not len(a):
            break
        b = a + shift
        hit = np.abs(x_sorted[b] - x_sorted[a]) <= reach
        if hit.any():
            twin[order[a[hit]]] = True
            twin[order[b[hit]]] = True
        shift += 1
        a = a[a + shift < n]
    if not twin.any():
        return keep
    idx = np.flatnonzero(twin).tolist()
    texts, x0l, topl, sizel = g.texts, x0.tolist(), top.tolist(), g.size.tolist()
    kept = _dedupe((i, texts[i], x0l[i], topl[i], sizel[i]) for i in idx)
    keep[idx] = False
    keep[kept] = True
    return keep


# --------------------------------------------------------------------------
# fast layout on columns


def layout_chars(chars: Sequence[Char]) -> str:
    """Text of one page in reading order, lines separated by ``"\\n"``."""
    return layout_glyphs(Glyphs.from_chars(chars))


def layout_glyphs(g: Glyphs) -> str:
    """Text of one page in reading order, lines separated by ``"\\n"``.

    Every page text that is not empty ends with ``"\\n"``.
    """
    if not len(g):
        return ""
    g = _usable_glyphs(g)
    if not len(g):
        return ""
    keep = _dedupe_mask(g)
    if g.codes is not None and g.codes.max() < 0x10000:  # one character each, all in the BMP
        space = _bmp_spaces()[g.codes]
        keep &= g.size > 0
    else:  # what each distinct text is: empty, white space or a glyph
        keys, first = np.unique(g.keys, return_index=True)
        kinds = np.array([2 if not t else t.isspace() for t in (g.texts[i] for i in first.tolist())], dtype=np.int8)
        kind = kinds[np.searchsorted(keys, g.keys)]
        keep &= (kind != 2) & (g.size > 0)
        space = kind == 1
    space &= keep
    body = keep & ~space
    if not body.any():
        return ""
    try:
        lines = _Page(g, space).block(np.flatnonzero(body), 0)
    except _NotExact:
        return layout_chars_reference(g.chars())
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


_BMP_SPACES: np.ndarray | None = None


def _bmp_spaces() -> np.ndarray:
    """``str.isspace`` of every code point of the Basic Multilingual Plane."""
    global _BMP_SPACES
    if _BMP_SPACES is None:
        _BMP_SPACES = np.array([chr(c).isspace() for c in range(0x10000)], dtype=bool)
    return _BMP_SPACES


class _NotExact(Exception):
    """A page the column code cannot lay out exactly as the reference does."""


def _median(values: np.ndarray) -> float:
    """statistics.median of ``values`` (not empty): the middle value, or
    ``(a + b) / 2`` of the two middle ones, the same float."""
    n = len(values)
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, (half - 1, half))[half - 1:half + 1].tolist()
    return (low + high) / 2


def _row_medians(values: np.ndarray, row: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Median of ``values`` per row (rows contiguous, ``starts`` with the end)."""
    if (np.minimum.reduceat(values, starts[:-1]) == np.maximum.reduceat(values, starts[:-1])).all():
        return values[starts[:-1]]  # one value per row (one font size): that is the median
    counts = np.diff(starts)
    v = values[np.lexsort((values, row))]
    half = counts // 2
    upper = v[starts[:-1] + half]
    lower = v[starts[:-1] + np.maximum(half - 1, 0)]
    return np.where(counts % 2 == 1, upper, (lower + upper) / 2)


def _row_cummax(values: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting at every row (rows contiguous)."""
    n = len(values)
    if n == 0:
        return values
    rising = (values[1:] >= values[:-1]) | (row[1:] != row[:-1])
    if rising.all():  # glyphs that do not overlap: each row's maximum so far is the value itself
        return values
    order = np.argsort(values, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # rank + row * n orders by row first, then value: exact, unlike adding
    # an offset to the floats
    peak = np.maximum.accumulate(rank + row.astype(np.int64) * n) - row * n
    return values[order[peak]]


class _Page:
    """Layout of one page's glyphs; blocks are arrays of glyph numbers."""

    def __init__(self, g: Glyphs, space: np.ndarray) -> None:
        self.g = g
        self.ymid = (g.top + g.bottom) / 2
        self.xmid = (g.x0 + g.x1) / 2
        sp = np.flatnonzero(space)
        ys, xs = self.ymid[sp], self.xmid[sp]
        order = np.lexsort((xs, ys))  # as sorted((y, x)) would
        self.space_y, self.space_x = ys[order], xs[order]

    def block(self, idx: np.ndarray, depth: int) -> list[str]:
        if not len(idx):
            return []
        g = self.g
        size = _median(g.size[idx])
        rows = _Rows(self, idx, size)
        gutter = rows.gutter() if depth < 2 else None
        if gutter is None:
            return self.lines(rows, 0, rows.count, size)
        g0, g1 = gutter
        mid = (g0 + g1) / 2
        wide = rows.wide(g0, g1, size)
        lines: list[str] = []
        edges = np.flatnonzero(np.diff(wide.astype(np.int8))) + 1
        bounds = [0, *edges.tolist(), rows.count]
        for r0, r1 in zip(bounds[:-1], bounds[1:]):
            if wide[r0]:
                lines.extend(self.lines(rows, r0, r1, size))
            else:
                band = rows.idx[rows.starts[r0]:rows.starts[r1]]
                left = self.xmid[band] < mid
                lines.extend(self.block(band[left], depth + 1))
                lines.extend(self.block(band[~left], depth + 1))
        return lines

    def lines(self, rows: _Rows, r0: int, r1: int, size: float) -> list[str]:
        """Rows ``r0..r1`` of a block as lines (see ``_indented_lines``)."""
        g = self.g
        starts = rows.starts[r0:r1 + 1]
        first = rows.idx[starts[:-1]]
        last = rows.idx[starts[1:] - 1]
        row_left, row_right = g.x0[first], g.x1[last]
        left = row_left.min()
        rights = np.sort(row_right)
        right = rights[(9 * (len(rights) - 1)) // 10]
        left_gap = row_left - left
        short = (right - row_right) > SHORT_LINE * size
        centred = (left_gap > 0.5 * size) & (np.abs(left_gap - (rights[-1] - row_right)) < size)
        # three cells or more apart: a table row, never part of a sentence
        table_row = rows.segments_per_row[r0:r1] >= 3
        alone = centred | table_row
        after = short | alone
        # capped before the cast: a tiny font size makes the quotient huge or infinite
        indent = np.minimum(MAX_INDENT, left_gap / size + 0.3).astype(np.int64).tolist()
        texts = self.row_texts(rows, r0, r1)
        out: list[str] = []
        for k, (a, b) in enumerate(zip(alone.tolist(), after.tolist())):
            if a and out and out[-1]:
                out.append("")  # a centred line (title) or a table row stands alone
            out.append(" " * indent[k] + texts[k])
            if b:
                out.append("")
        return out

    def row_texts(self, rows: _Rows, r0: int, r1: int) -> list[str]:
        """Glyphs of rows ``r0..r1`` left to right, with a space where the PDF
        draws one (a space glyph between two glyph centres) or where the gap
        is wide (see ``_row_text``)."""
        g = self.g
        s0, s1 = rows.starts[r0], rows.starts[r1]
        idx = rows.idx[s0:s1]
        starts = rows.starts[r0:r1 + 1] - s0
        row = rows.row[s0:s1] - r0
        n = len(idx)
        size = _row_medians(g.size[idx], row, starts)
        x0, x1 = g.x0[idx], g.x1[idx]
        gap = np.zeros(n, dtype=bool)
        gap[1:] = (x0[1:] - x1[:-1]) > SPACE_GAP * size[row[1:]]
        if len(self.space_y):
            top = np.minimum.reduceat(g.top[idx], starts[:-1])
            bottom = np.maximum.reduceat(g.bottom[idx], starts[:-1])
            lo = np.searchsorted(self.space_y, top - 1, side="left")
            hi = np.searchsorted(self.space_y, bottom + 1, side="right")
            # every (glyph, space glyph in reach of its row) pair at once; a
            # row's first glyph never gets a space before it
            per_glyph = (hi - lo)[row]
            per_glyph[starts[:-1]] = 0
            total = int(per_glyph.sum())
            if total > MAX_SPACE_PAIRS:
                raise _NotExact
            if total:
                xmid = self.xmid[idx]
                passed = np.empty(n)  # the rightmost centre so far in the row, before each glyph
                passed[1:] = _row_cummax(xmid, row)[:-1]
                glyph = np.repeat(np.arange(n), per_glyph)
                first_pair = np.cumsum(per_glyph) - per_glyph
                x = self.space_x[lo[row][glyph] + (np.arange(total) - first_pair[glyph])]
                # a space glyph right of every centre so far, left of this one
                gap[glyph[(x > passed[glyph]) & (x < xmid[glyph])]] = True
        gap[starts[:-1]] = False
        spaced = np.flatnonzero(gap)
        if g.codes is not None:  # one character per glyph: decode all rows at once
            codes = np.insert(g.codes[idx], spaced, 0x20).astype(np.uint32)
            text = codes.tobytes().decode("utf-32-le", "surrogatepass")
            bounds = (starts + np.searchsorted(spaced, starts)).tolist()
            return [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        pieces = [g.texts[i] for i in idx.tolist()]
        for p in spaced.tolist():
            pieces[p] = " " + pieces[p]
        bounds = starts.tolist()
        return ["".join(pieces[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class _Rows:
    """The glyphs of a block grouped into rows (see ``_rows``): ``idx`` in
    row order, each row left to right; row ``r`` is
    ``idx[starts[r]:starts[r + 1]]``; ``row`` is the row of each glyph."""

    def __init__(self, page: _Page, idx: np.ndarray, size: float) -> None:
        g = page.g
        self.page, self.size = page, size
        order = np.argsort(page.ymid[idx], kind="stable")
        by_mid = idx[order]
        mid = page.ymid[by_mid]
        n = len(mid)
        # a row starts at a glyph and takes every glyph whose centre is within
        # half its size (at least 0.5) below, as ``mid - centre <= tol`` says
        mids = mid.tolist()
        tols = (0.5 * np.maximum(g.size[by_mid], 1.0)).tolist()
        starts = []
        i = 0
        while i < n:
            starts.append(i)
            centre, tol = mids[i], tols[i]
            j = bisect_right(mids, centre + tol, i + 1)
            # ``m > centre + tol`` and ``m - centre > tol`` can differ in the last bit
            while j > i + 1 and mids[j - 1] - centre > tol:
                j -= 1
            while j < n and mids[j] - centre <= tol:
                j += 1
            i = j
        starts.append(n)
        self.count = len(starts) - 1
        self.starts = np.array(starts, dtype=np.int64)
        row = np.repeat(np.arange(self.count, dtype=np.int64), np.diff(self.starts))
        # each row left to right, keeping the order by mid among equal x0
        self.idx = by_mid[np.lexsort((g.x0[by_mid], row))]
        self.row = row
        # segments: runs of glyphs closer than SEGMENT_GAP sizes
        x0, x1 = g.x0[self.idx], g.x1[self.idx]
        reach = _row_cummax(x1, row)
        new = np.ones(n, dtype=bool)
        new[1:] = (x0[1:] - reach[:-1]) > SEGMENT_GAP * size
        new[self.starts[:-1]] = True
        seg_first = np.flatnonzero(new)
        seg_last = np.append(seg_first[1:], n) - 1
        self.seg_a, self.seg_b = x0[seg_first], reach[seg_last]
        self.seg_row = row[seg_first]
        self.segments_per_row = np.bincount(self.seg_row, minlength=self.count)

    def gutter(self) -> tuple[float, float] | None:
        """The widest vertical strip in the middle of the text that few rows
        cross (see ``_find_gutter``); None for a single column."""
        size = self.size
        if len(self.seg_a) < 6:
            return None
        left = float(self.seg_a.min())
        right = float(self.seg_b.max())
        width = right - left
        if width < 10 * size:
            return None
        bins = int(width) + 1
        cover = np.bincount((self.seg_a - left).astype(np.int64), minlength=bins + 1)
        cover -= np.bincount((self.seg_b - left).astype(np.int64) + 1, minlength=bins + 1)
        cover = np.cumsum(cover)
        lo, hi = int(0.2 * width), int(0.8 * width)
        if hi <= lo:
            return None  # text not two points wide (tiny glyphs): no middle to search
        middle = cover[lo:hi]
        floor = int(middle.min())
        # a gutter is crossed only by page-wide rows (headers, titles)
        if floor > max(1, 0.15 * self.count):
            return None
        # the valley: bins crossed by hardly more rows than its floor (a few
        # lines of a column poke into the gutter with hanging punctuation)
        limit = floor + max(2, int(0.1 * _median(middle)))
        low = np.concatenate(([0], (middle <= limit).astype(np.int8), [0]))
        step = np.diff(low)
        run_start, run_end = np.flatnonzero(step == 1), np.flatnonzero(step == -1)
        if not len(run_start):
            return None
        best = int(np.argmax(run_end - run_start))  # the first of the widest
        b0, b1 = lo + int(run_start[best]), lo + int(run_end[best])
        if b1 - b0 < 0.5 * size:
            return None
        g0, g1 = left + b0, left + b1
        g = self.page.g
        n_left = int(np.count_nonzero(g.x1[self.idx] <= g0 + 1))
        n_right = int(np.count_nonzero(g.x0[self.idx] >= g1 - 1))
        total = len(self.idx)
        if n_left < 0.2 * total or n_right < 0.2 * total:
            return None
        return g0, g1

    def wide(self, g0: float, g1: float, size: float) -> np.ndarray:
        """Which rows are page-wide: they cross the gutter, or stand apart at
        the very top or bottom (running header, footer)."""
        g = self.page.g
        wide = np.zeros(self.count, dtype=bool)
        wide[self.seg_row[(self.seg_a < g0) & (self.seg_b > g1)]] = True
        first_top = g.top[self.idx[self.starts[:-1]]]
        pitch = _median(np.diff(first_top)) if self.count > 1 else size
        row_top = np.minimum.reduceat(g.top[self.idx], self.starts[:-1]).tolist()
        row_bottom = np.maximum.reduceat(g.bottom[self.idx], self.starts[:-1]).tolist()
        first_top = first_top.tolist()
        n = self.count
        for i in range(min(3, n - 1)):
            if first_top[i + 1] - row_bottom[i] > 1.5 * pitch:
                wide[: i + 1] = True
        for i in range(n - 1, max(n - 4, 0), -1):
            if row_top[i] - row_bottom[i - 1] > 1.5 * pitch:
                wide[i:] = True
        return wide


# --------------------------------------------------------------------------
# reference layout, glyph by glyph


def layout_chars_reference(chars: Sequence[Char]) -> str:
    """What :func:`layout_chars` returns, computed glyph by glyph (slow)."""
    chars = [c for c in dedupe_chars(usable_chars(chars)) if c.text and c.size > 0]
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
    if hi <= lo:
        return None  # text not two points wide (tiny glyphs): no middle to search
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
        # capped before int(): a tiny font size makes the quotient huge or infinite
        indent = int(min(MAX_INDENT, left_gap / size + 0.3))
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
