"""pipeline.hashing against the spaCy / thinc functions it reproduces."""
import random

import numpy
import pytest

from pipeline.hashing import hash_ids, string_hash

spacy_strings = pytest.importorskip("spacy.strings")
thinc_api = pytest.importorskip("thinc.api")

SEEDS = [0, 1, 7, 8, 2018, 12345678, 2**31, 2**32 - 1]


def _ids():
    rng = numpy.random.default_rng(20240601)
    special = [0, 1, 2, 7, 8, 255, 256, 2**31, 2**32 - 1, 2**32, 2**63 - 1,
               2**63, 2**64 - 2, 2**64 - 1]
    special += [1 << k for k in range(64)]
    rand = rng.integers(0, 2**64 - 1, size=5000, dtype=numpy.uint64,
                        endpoint=True)
    small = numpy.arange(0, 1000, dtype=numpy.uint64)
    # real hashes, as HashEmbed sees them
    words = numpy.array([spacy_strings.hash_string(w)
                         for w in ["中", "国", "北京", "the", "", "x"]],
                        dtype=numpy.uint64)
    return numpy.concatenate([numpy.array(special, dtype=numpy.uint64),
                              small, rand, words])


@pytest.mark.parametrize("seed", SEEDS)
def test_hash_ids_matches_thinc(seed):
    ids = _ids()
    want = thinc_api.NumpyOps().hash(ids, seed)
    got = hash_ids(ids, seed)
    assert got.dtype == numpy.uint32
    assert got.shape == (len(ids), 4)
    assert numpy.array_equal(got, want)


def test_hash_ids_random_seeds():
    ops = thinc_api.NumpyOps()
    rng = random.Random(5)
    ids = _ids()[:2000]
    for _ in range(20):
        seed = rng.randrange(2**32)
        assert numpy.array_equal(hash_ids(ids, seed), ops.hash(ids, seed))


def test_hash_ids_non_contiguous_and_input_untouched():
    ids = _ids()
    before = ids.copy()
    strided = ids[::3]
    assert not strided.flags.c_contiguous
    want = thinc_api.NumpyOps().hash(numpy.ascontiguousarray(strided), 2018)
    assert numpy.array_equal(hash_ids(strided, 2018), want)
    assert numpy.array_equal(ids, before)
    rev = ids[::-1]
    want = thinc_api.NumpyOps().hash(numpy.ascontiguousarray(rev), 3)
    assert numpy.array_equal(hash_ids(rev, 3), want)


def test_hash_ids_small_and_empty():
    empty = hash_ids(numpy.zeros(0, dtype=numpy.uint64), 1)
    assert empty.shape == (0, 4) and empty.dtype == numpy.uint32
    one = numpy.array([42], dtype=numpy.uint64)
    assert numpy.array_equal(hash_ids(one, 9),
                             thinc_api.NumpyOps().hash(one, 9))


def test_hash_ids_rejects_bad_input():
    with pytest.raises(TypeError):
        hash_ids(numpy.arange(3, dtype=numpy.int64), 0)
    with pytest.raises(ValueError):
        hash_ids(numpy.zeros((2, 2), dtype=numpy.uint64), 0)
    with pytest.raises(OverflowError):
        hash_ids(numpy.zeros(2, dtype=numpy.uint64), 2**32)
    with pytest.raises(OverflowError):
        hash_ids(numpy.zeros(2, dtype=numpy.uint64), -1)


def _strings():
    out = ["", " ", "a", "A", "the", "ORG", "\x00", "\x00\x00", "中", "国",
           "中\x00", "\x00中", "a\x00", "\x00a", "北京", "中华人民共和国",
           "😀", "𠀀", "😀中", "a😀", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "é", "e\u0301", "\uffff",
           "\U0010ffff", "abcdefgh", "abcdefghi", "abcdefghijklmnop",
           "The quick brown fox jumps over the lazy dog."]
    # every UTF-8 length 1..40 (every tail length, 0..4 full blocks)
    out += ["x" * n for n in range(1, 41)]
    out += ["中" * n for n in range(1, 14)]          # 3-byte steps
    out += ["é" * n for n in range(1, 21)]           # 2-byte steps
    out += ["😀" * n for n in range(1, 11)]          # 4-byte steps
    # all single CJK chars of the basic block, sampled, plus some bytes
    out += [chr(c) for c in range(0x4E00, 0x9FFF, 7)]
    out += [chr(c) for c in range(0, 0x800)]
    out += [chr(c) + "\x00" for c in range(0x4E00, 0x4F00)]
    out += ["\x00" + chr(c) for c in range(0x4E00, 0x4F00)]
    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + ["中", "。", "😀", "\x00", "é"]
    out += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
            for _ in range(2000)]
    return out


def test_string_hash_matches_spacy():
    for s in _strings():
        assert string_hash(s) == spacy_strings.hash_string(s), repr(s)


def test_string_hash_empty_and_type():
    h = string_hash("")
    assert h == spacy_strings.hash_string("") == 14313749767032693980
    assert isinstance(h, int) and 0 <= h < 2**64
    assert all(0 <= string_hash(s) < 2**64 for s in ["a", "中" * 9, "😀" * 5])


def test_string_hash_lengths_every_tail():
    lengths = set()
    for n in range(0, 41):
        s = "".join(chr(0x61 + (i % 26)) for i in range(n))
        lengths.add(len(s.encode("utf8")) & 7)
        assert string_hash(s) == spacy_strings.hash_string(s)
    assert lengths == set(range(8))


def test_string_hash_surrogate_fails_like_spacy():
    with pytest.raises(UnicodeEncodeError):
        spacy_strings.hash_string("\ud800")
    with pytest.raises(UnicodeEncodeError):
        string_hash("\ud800")


def test_module_does_not_import_spacy_or_thinc():
    import subprocess
    import sys
    code = ("import sys, pipeline.hashing as h; h.hash_ids(h.numpy.arange(3,"
            " dtype='uint64'), 1); h.string_hash('x');"
            " bad = [m for m in sys.modules if m.split('.')[0] in"
            " ('spacy', 'thinc', 'murmurhash')]; print(bad); assert not bad")
    from pathlib import Path
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stdout + r.stderr
