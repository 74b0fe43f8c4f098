"""The shipped NER tagger run with numpy alone: text -> BIOES tag scores.

spaCy trains the model and stays the reference (``pipeline.ner`` loads it with
spaCy for training and evaluation); at run time this module reads the same
weights file and computes the same network, so the pipeline neither imports
spaCy (about 1 s of every start with the model) nor builds a spaCy ``Doc`` per
sentence (a third of the tagger's time), and its matrix products go through
numpy's BLAS, about twice as fast on one core as the BLIS kernels thinc uses.
``tests/test_ner_numpy.py`` checks features, scores and tags against spaCy.

The network (``pipeline/models/org_ner.cfg``) is spaCy's ``Tagger.v2`` over
``Tok2Vec.v2``:

* features per character token: ORTH, NORM (right bigram), LEMMA (left bigram),
  MORPH (jieba part of speech + place), DEP (jieba word + place), SHAPE, as
  ``ner.CharWordTokenizer`` sets them, hashed like spaCy's ``StringStore``;
* ``MultiHashEmbed``: per feature, four rows of a hash table summed
  (``hashing.hash_ids``), concatenated, then maxout + layer norm;
* ``MaxoutWindowEncoder``: ``depth`` residual blocks of window -> maxout ->
  layer norm, over sequences padded the way thinc's ``with_array`` pads them;
* a linear output layer: one logit per tag.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from operator import add
from pathlib import Path

import numpy as np

from .hashing import hash_ids, string_hash
from .ner import BOUNDARY, normalize_char

# Strings of at most two characters that spaCy's StringStore maps to a fixed
# symbol id instead of their hash (``spacy.symbols.IDS``); a character token's
# ORTH, SHAPE, NORM or LEMMA can be one of these. tests/test_ner_numpy.py checks
# the table against the installed spaCy.
SPACY_SHORT_SYMBOLS = {"": 0, "ID": 64, "X": 101, "cc": 407, "nn": 427, "_": 456}
FEATURE_ATTRS = ("ORTH", "NORM", "LEMMA", "MORPH", "DEP", "SHAPE")
_RE_SPACE = re.compile(r"\s")  # the characters str.isspace() is true for
_CACHE_LIMIT = 2_000_000  # string ids kept between calls (~200 MB at most)


class _StringIds(dict):
    """String -> spaCy string id, computed on first use."""

    def __missing__(self, text: str) -> int:
        value = SPACY_SHORT_SYMBOLS.get(text)
        if value is None:
            value = string_hash(text)
        self[text] = value
        return value


class _ShapeIds(dict):
    """Token text -> the id of its spaCy SHAPE string."""

    def __init__(self, ids: _StringIds) -> None:
        super().__init__()
        self._ids = ids

    def __missing__(self, text: str) -> int:
        value = self[text] = self._ids[word_shape(text)]
        return value


class _NormChars(dict):
    """Character -> ``ner.normalize_char`` of it, computed on first use."""

    def __missing__(self, c: str) -> str:
        value = self[c] = normalize_char(c)
        return value


def word_shape(text: str) -> str:
    """spaCy's lexeme SHAPE (``spacy.lang.lex_attrs.word_shape``)."""
    if len(text) >= 100:
        return "LONG"
    shape = []
    last = ""
    seq = 0
    for char in text:
        if char.isalpha():
            shape_char = "X" if char.isupper() else "x"
        elif char.isdigit():
            shape_char = "d"
        else:
            shape_char = char
        if shape_char == last:
            seq += 1
        else:
            seq = 0
            last = shape_char
        if seq < 4:
            shape.append(shape_char)
    return "".join(shape)


def char_tokens(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of the tokens ``ner.CharBigramTokenizer`` makes of ``text``.

    One token per non-space character; a run of white space is a token of its
    own, except one plain space right after a token, which spaCy keeps as that
    token's trailing space (``spacy.util.get_words_and_spaces``).
    """
    out: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if not text[i].isspace():
            out.append((i, i + 1))
            i += 1
            continue
        j = i
        while j < n and text[j].isspace():
            j += 1
        start = i + 1 if out and text[i] == " " else i
        if start < j:
            out.append((start, j))
        i = j
    return out


@dataclass(frozen=True)
class _HashTable:
    column: int
    seed: int
    rows: np.ndarray  # (nV, width) float32


@dataclass(frozen=True)
class _Maxout:
    """thinc's Maxout then LayerNorm.

    The weights are stored piece-major, (nP * nO, nI) transposed, so the
    maximum over pieces is an element-wise maximum of column blocks (a reduction
    over a short strided axis is several times slower in numpy).
    """

    weights_t: np.ndarray  # (nI, nP * nO)
    bias: np.ndarray  # (nP * nO,)
    pieces: int
    norm_gain: np.ndarray
    norm_bias: np.ndarray

    @classmethod
    def from_thinc(cls, w: np.ndarray, b: np.ndarray, gain: np.ndarray, norm_bias: np.ndarray) -> _Maxout:
        n_out, n_pieces, n_in = w.shape  # thinc's layout: W (nO, nP, nI), b (nO, nP)
        weights_t = np.ascontiguousarray(w.transpose(1, 0, 2).reshape(n_pieces * n_out, n_in).T)
        return cls(weights_t, np.ascontiguousarray(b.T.reshape(-1)), n_pieces, gain, norm_bias)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weights_t
        y += self.bias
        n_out = y.shape[1] // self.pieces
        best = y[:, :n_out]
        for k in range(1, self.pieces):
            best = np.maximum(best, y[:, k * n_out : (k + 1) * n_out])
        mu = best.mean(axis=1, keepdims=True)
        centred = best - mu
        var = np.einsum("ij,ij->i", centred, centred)[:, None] / n_out + 1e-08  # thinc's LayerNorm
        centred *= var ** -0.5
        centred *= self.norm_gain
        centred += self.norm_bias
        return centred


class NumpyTagger:
    """The shipped tagger's network; ``scores(texts)`` gives one logit row per token."""

    def __init__(self, model_dir: Path) -> None:
        model_dir = Path(model_dir)
        config = _read_config(model_dir / "config.cfg")
        if config.get("components.tagger.model.tok2vec.embed", {}).get("attrs") != list(FEATURE_ATTRS):
            raise ValueError(f"{model_dir}: the numpy runtime knows only the features {FEATURE_ATTRS}")
        self.labels: tuple[str, ...] = tuple(
            json.loads((model_dir / "tagger" / "cfg").read_text(encoding="utf-8"))["labels"]
        )
        layer_names, layer_attrs, params = read_weights(model_dir / "tagger" / "model")

        def attr(i: int, name: str):  # type: ignore[no-untyped-def]
            return layer_attrs[i][name]

        embeddings: list[_HashTable] = []
        maxouts: list[tuple[np.ndarray, np.ndarray]] = []
        norms: list[tuple[np.ndarray, np.ndarray]] = []
        windows: list[int] = []
        output = None
        pad = None
        for i, name in enumerate(layer_names):
            if name == "hashembed":
                embeddings.append(_HashTable(attr(i, "column"), attr(i, "seed"), _f32(params[i]["E"])))
            elif name == "maxout":
                maxouts.append((_f32(params[i]["W"]), _f32(params[i]["b"])))
            elif name == "layernorm":
                norms.append((_f32(params[i]["G"]), _f32(params[i]["b"])))
            elif name == "expand_window":
                windows.append(attr(i, "window_size"))
            elif name == "softmax":
                if attr(i, "softmax_normalize"):
                    raise ValueError(f"{model_dir}: expected a tagger with unnormalized outputs")
                output = (_f32(params[i]["W"]), _f32(params[i]["b"]))
            elif name.startswith("with_array(residual("):
                pad = attr(i, "pad")
        if output is None or pad is None or len(maxouts) != len(windows) + 1 or len(norms) != len(maxouts):
            raise ValueError(f"{model_dir}: not the tagger architecture of pipeline/models/org_ner.cfg")
        self.embeddings = sorted(embeddings, key=lambda e: e.column)
        layers = [_Maxout.from_thinc(w, b, g, nb) for (w, b), (g, nb) in zip(maxouts, norms, strict=True)]
        self.embed_mix = layers[0]
        self.encoder = list(zip(windows, layers[1:], strict=True))
        self.pad = pad
        self.output_weights, self.output_bias = output
        self._ids = _StringIds()
        self._shape_ids = _ShapeIds(self._ids)
        self._word_ids: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
        self._norm = _NormChars()
        self._segmenter = None

    # ------------------------------------------------------------ features

    def features(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Tokens of ``text`` and their (n, 6) uint64 feature ids, as spaCy's ``doc.to_array``."""
        if len(self._ids) > _CACHE_LIMIT:  # bigrams and words of a long batch: keep memory bounded
            self._ids.clear()
            self._shape_ids.clear()
            self._word_ids.clear()
        ids = self._ids.__getitem__
        has_space = _RE_SPACE.search(text) is not None
        if has_space:
            tokens = char_tokens(text)
            pieces = [text[a:b] for a, b in tokens]
            normed = [self._norm[p] if len(p) == 1 and not p.isspace() else " " for p in pieces]
        else:  # the common case: one token per character (built in C)
            tokens = list(zip(range(len(text)), range(1, len(text) + 1)))
            pieces = list(text)
            normed = list(map(self._norm.__getitem__, pieces))
        if not tokens:
            return tokens, np.zeros((0, len(FEATURE_ATTRS)), dtype=np.uint64)
        morph, dep = self._word_feature_ids(text)
        if has_space:
            morph = [morph[a] for a, _ in tokens]
            dep = [dep[a] for a, _ in tokens]
        columns = (
            list(map(ids, pieces)),
            list(map(ids, map(add, normed, normed[1:] + [BOUNDARY]))),
            list(map(ids, map(add, [BOUNDARY] + normed[:-1], normed))),
            morph,
            dep,
            list(map(self._shape_ids.__getitem__, pieces)),
        )
        array = np.empty((len(columns), len(tokens)), dtype=np.uint64)
        for k, column in enumerate(columns):
            array[k] = column
        return tokens, array.T

    def _word_feature_ids(self, text: str) -> tuple[list[int], list[int]]:
        """Per character of ``text``: the MORPH and DEP ids of the jieba word it is in."""
        if self._segmenter is None:
            from .segment import load_segmenter

            self._segmenter = load_segmenter(None)
        morph: list[int] = []
        dep: list[int] = []
        cache = self._word_ids
        for word_tag in self._segmenter.tag(text, True):
            got = cache.get(word_tag)
            if got is None:
                got = cache[word_tag] = self._word_ids_of(*word_tag)
            morph += got[0]
            dep += got[1]
        return morph, dep

    def _word_ids_of(self, word: str, tag: str) -> tuple[list[int], list[int]]:
        """MORPH (``POS=<tag>_<place>``) and DEP (``<word>-<place>``) ids of each character of a word."""
        n = len(word)
        places = ["S"] if n == 1 else ["B"] + ["M"] * (n - 2) + ["E"]
        norm_word = "".join([self._norm[c] for c in word])
        ids = self._ids
        return [ids[f"POS={tag}_{p}"] for p in places], [ids[f"{norm_word}-{p}"] for p in places]

    # ------------------------------------------------------------- network

    def scores(self, texts: Sequence[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Per text: its tokens and a (tokens, labels) float32 array of logits."""
        featured = [self.features(t) for t in texts]
        lengths = [len(tokens) for tokens, _ in featured]
        if not any(lengths):
            return [(tokens, np.zeros((0, len(self.labels)), dtype=np.float32)) for tokens, _ in featured]
        ids = np.concatenate([f for _, f in featured])
        embedded = np.concatenate([self._embed(ids, table) for table in self.embeddings], axis=1)
        x = self.embed_mix(embedded)
        # thinc's with_array(pad=p): p zero rows before each sequence and after the last
        pad = self.pad
        width = x.shape[1]
        flat = np.zeros((sum(lengths) + pad * (len(lengths) + 1), width), dtype=np.float32)
        starts = []
        at, pos = 0, pad
        for n in lengths:
            flat[pos : pos + n] = x[at : at + n]
            starts.append(pos)
            at += n
            pos += n + pad
        for window, layer in self.encoder:
            flat = flat + layer(_windows(flat, window))
        logits = flat @ self.output_weights.T
        logits += self.output_bias
        return [(tokens, logits[s : s + n]) for (tokens, _), s, n in zip(featured, starts, lengths, strict=True)]

    @staticmethod
    def _embed(ids: np.ndarray, table: _HashTable) -> np.ndarray:
        rows = hash_ids(np.ascontiguousarray(ids[:, table.column]), table.seed) % np.uint32(len(table.rows))
        e = table.rows
        return e[rows[:, 0]] + e[rows[:, 1]] + e[rows[:, 2]] + e[rows[:, 3]]


# The layer attributes the runtime reads (thinc stores each msgpack-encoded).
_ATTRS_USED = ("column", "seed", "window_size", "softmax_normalize", "pad")


def read_weights(path: Path) -> tuple[list[str], list[dict[str, object]], list[dict[str, np.ndarray]]]:
    """Layer names, the attributes used here and the parameters of a thinc model file.

    The file is thinc's msgpack (``Model.to_bytes``); decoding it needs srsly, whose
    import costs ~0.1 s of every start, so the result is also kept in the temp folder
    as an ``.npz`` (no pickles), keyed by the file's path, size and time.
    """
    from .tempcache import cache_file, read_cache, write_cache

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cache = cache_file(f"ner-weights-{key}", ".npz")
    data = read_cache(cache)
    if data is not None:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                meta = json.loads(str(stored["meta"]))
                params = [{k: stored[f"{i}/{k}"] for k in names} for i, names in enumerate(meta["params"])]
            return meta["names"], meta["attrs"], params
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # broken cache: decode the model file again
    import srsly  # msgpack with numpy arrays, as thinc wrote the file; no spaCy import

    raw = srsly.msgpack_loads(path.read_bytes())
    names = [node["name"] for node in raw["nodes"]]
    attrs = [{k: srsly.msgpack_loads(v) for k, v in a.items() if k in _ATTRS_USED} for a in raw["attrs"]]
    params = [{k: np.asarray(v) for k, v in p.items()} for p in raw["params"]]
    meta = {"names": names, "attrs": attrs, "params": [sorted(p) for p in params]}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)),
             **{f"{i}/{k}": v for i, p in enumerate(params) for k, v in p.items()})
    write_cache(cache, buffer.getvalue())
    return names, attrs, params


def _windows(x: np.ndarray, n: int) -> np.ndarray:
    """thinc's ``seq2col``: each row with the ``n`` rows before and after it (zeros past the ends)."""
    rows, width = x.shape
    out = np.zeros((rows, (2 * n + 1) * width), dtype=x.dtype)
    for k in range(-n, n + 1):
        col = (k + n) * width
        if k < 0:
            out[-k:, col : col + width] = x[: rows + k]
        elif k > 0:
            out[: rows - k, col : col + width] = x[k:]
        else:
            out[:, col : col + width] = x
    return out


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _read_config(path: Path) -> dict[str, dict[str, object]]:
    """The few config values the runtime checks, without spaCy's config parser."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    out: dict[str, dict[str, object]] = {}
    for section in parser.sections():
        values: dict[str, object] = {}
        for key, raw in parser[section].items():
            try:
                values[key] = json.loads(raw)
            except ValueError:
                values[key] = raw
        out[section] = values
    return out
