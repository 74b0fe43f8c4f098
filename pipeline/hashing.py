"""The two hash functions a spaCy 3.8 / thinc 8 model uses, in numpy alone.

The NER tagger trained with spaCy is run on numpy alone, so that start-up
does not pay for importing spaCy and thinc. To turn text into the same
embedding rows the trained model uses, it needs, bit for bit:

* ``string_hash(text)``: ``spacy.strings.hash_string(text)``, i.e.
  MurmurHash64A (the 64-bit MurmurHash2 variant) with seed 1 over the UTF-8
  bytes. spaCy's symbol table (reserved strings with small ids, and the
  ``""`` -> 0 rule of ``StringStore``/``get_string_id``) is the caller's
  job; ``hash_string("")`` itself is not 0 and neither is ours.

* ``hash_ids(ids, seed)``: thinc's ``NumpyOps().hash(ids, seed)``, used by
  ``HashEmbed``. thinc calls it "MurmurHash3_x86_128", but its code
  (``MurmurHash3_x86_128_uint64`` in thinc/backends/numpy_ops.pyx, mirroring
  _murmur3.cu) is really MurmurHash3_x64_128 specialised to one 8-byte key:
  64-bit constants, one tail block, fmix64. The two 64-bit halves are
  returned as four little-endian uint32 words, shape (n, 4). Here it is
  vectorised over the whole array with wrapping numpy uint64 arithmetic.

tests/test_hashing.py checks both against spaCy and thinc.
"""
from __future__ import annotations

import numpy

__all__ = ["string_hash", "hash_ids"]

_M64 = 0xFFFFFFFFFFFFFFFF

# MurmurHash64A
_M = 0xC6A4A7935BD1E995
_R = 47


def string_hash(text: str) -> int:
    """``spacy.strings.hash_string(text)``: MurmurHash64A, seed 1, UTF-8."""
    data = text.encode("utf8")
    n = len(data)
    m = _M
    h = (1 ^ (n * m)) & _M64
    end = n - (n & 7)
    from_bytes = int.from_bytes
    for i in range(0, end, 8):
        k = (from_bytes(data[i:i + 8], "little") * m) & _M64
        k ^= k >> _R
        k = (k * m) & _M64
        h = ((h ^ k) * m) & _M64
    if n & 7:
        h = ((h ^ from_bytes(data[end:], "little")) * m) & _M64
    h ^= h >> _R
    h = (h * m) & _M64
    h ^= h >> _R
    return h


# MurmurHash3_x64_128 constants
_C1 = numpy.uint64(0x87C37B91114253D5)
_C2 = numpy.uint64(0x4CF5AD432745937F)
_F1 = numpy.uint64(0xFF51AFD7ED558CCD)
_F2 = numpy.uint64(0xC4CEB9FE1A85EC53)
_S31 = numpy.uint64(31)
_S33 = numpy.uint64(33)


def _fmix64(h: numpy.ndarray) -> None:
    """MurmurHash3's 64-bit finaliser, in place."""
    h ^= h >> _S33
    h *= _F1
    h ^= h >> _S33
    h *= _F2
    h ^= h >> _S33


def hash_ids(ids: numpy.ndarray, seed: int) -> numpy.ndarray:
    """thinc's ``NumpyOps().hash(ids, seed)``: uint64 ids -> (n, 4) uint32.

    ``ids`` is a 1-D uint64 array (contiguous or not); ``seed`` a uint32.
    """
    ids = numpy.asarray(ids)
    if ids.dtype != numpy.uint64:
        raise TypeError(f"ids must be uint64, not {ids.dtype}")
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, not shape {ids.shape}")
    seed = int(seed)
    if not 0 <= seed <= 0xFFFFFFFF:
        raise OverflowError(f"seed {seed} is not a uint32")
    s8 = numpy.uint64(seed ^ 8)

    # numpy's uint64 array arithmetic wraps modulo 2**64 without warnings.
    h1 = ids * _C1                       # k1 *= c1 (new array; ids untouched)
    h1 = (h1 << _S31) | (h1 >> _S33)     # ROTL64(k1, 31)
    h1 *= _C2                            # k1 *= c2
    h1 ^= s8                             # h1 = seed ^ k1; h1 ^= len
    h1 += s8                             # h2 = seed ^ len; h1 += h2
    h2 = h1 + s8                         # h2 += h1
    _fmix64(h1)
    _fmix64(h2)
    h1 += h2
    h2 += h1

    out = numpy.empty((ids.shape[0], 2), dtype="<u8")
    out[:, 0] = h1
    out[:, 1] = h2
    return out.view("<u4").astype(numpy.uint32, copy=False).reshape(-1, 4)
