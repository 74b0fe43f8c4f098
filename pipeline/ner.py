"""Named-entity model for organizations (plus PER and LOC): text -> ``Entity`` list.

This module and ``pipeline.train_ner`` are the only ones that import spaCy, and
only inside functions: the shipped model runs on numpy alone
(``pipeline.ner_numpy``), so ``make run`` never imports spaCy.

The model is a spaCy BIOES ``tagger`` over *character* tokens (with jieba tokens
4-18% of gold spans could not be represented).  ``CharWordTokenizer`` gives each
character its right and left bigrams (``NORM``, ``LEMMA``) and the jieba word it
is in with its part of speech (``DEP``, ``MORPH``); training
(``pipeline.train_ner``), spaCy inference and the numpy runtime share those
definitions.  Tags are decoded by a constrained Viterbi search, so every span is
well formed.

Input: clean text and, optionally, the sentences to look at.
Output: ``records.Entity`` with half-open offsets into the clean text.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Entity, Sentence

MODEL_DIR = Path(__file__).parent / "models" / "org_ner"
TOKENIZER_NAME = "zhextract.char_bigram_tokenizer.v1"
WORD_TOKENIZER_NAME = "zhextract.char_word_tokenizer.v1"
LABELS = ("ORG", "PER", "LOC")
# A sentence longer than this is cut into windows before it reaches the model
# (a run-on PDF "sentence" of 10k characters would otherwise dominate memory).
MAX_CHUNK = 400
# The tagger scores this many characters at a time: the network's arrays take
# about 4.6 KB per character (measured), so a batch peaks near 75 MB whatever the
# document; smaller batches cost speed (4k characters: 1.3x slower).
BATCH_CHARS = 16_384
BOUNDARY = "\x00"  # stands for "no neighbour" in the bigram features

_registered = False
_register_lock = threading.Lock()


def normalize_char(c: str) -> str:
    """Character as the bigram features see it: NFKC, lower case, digits as 0."""
    n = unicodedata.normalize("NFKC", c).lower()
    if len(n) != 1:
        return c
    if n.isdigit():
        return "0"
    return n


def register_components() -> None:
    """Register the tokenizer with spaCy's registry (idempotent)."""
    global _registered
    with _register_lock:
        if _registered:
            return
        import spacy

        @spacy.registry.tokenizers(TOKENIZER_NAME)
        def create_char_bigram_tokenizer() -> Any:
            def make(nlp: Any) -> CharBigramTokenizer:
                return CharBigramTokenizer(nlp.vocab)

            return make

        @spacy.registry.tokenizers(WORD_TOKENIZER_NAME)
        def create_char_word_tokenizer() -> Any:
            def make(nlp: Any) -> CharWordTokenizer:
                return CharWordTokenizer(nlp.vocab)

            return make

        _register_scorer(spacy)
        _registered = True


class CharBigramTokenizer:
    """One token per non-space character; NORM = right bigram, LEMMA = left bigram."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Any:
        from spacy.tokens import Doc
        from spacy.util import get_words_and_spaces

        chars = [c for c in text if not c.isspace()]
        words, spaces = get_words_and_spaces(chars, text)
        doc = Doc(self.vocab, words=words, spaces=spaces)
        norm = [normalize_char(w[0]) if not w.isspace() else " " for w in words]
        n = len(norm)
        for i, tok in enumerate(doc):
            left = norm[i - 1] if i > 0 else BOUNDARY
            right = norm[i + 1] if i + 1 < n else BOUNDARY
            tok.norm_ = norm[i] + right
            tok.lemma_ = left + norm[i]
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Any]:
        for t in texts:
            yield self(t)

    # The tokenizer has no state; these keep nlp.to_disk / from_disk happy.
    def to_disk(self, path: Any, **kwargs: Any) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "cfg").write_text("{}\n", encoding="utf-8")

    def from_disk(self, path: Any, **kwargs: Any) -> CharBigramTokenizer:
        return self

    def to_bytes(self, **kwargs: Any) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: Any) -> CharBigramTokenizer:
        return self


class CharWordTokenizer(CharBigramTokenizer):
    """Character tokens with bigram features plus the jieba word each character is in.

    On top of ``CharBigramTokenizer``'s features, ``MORPH`` holds the part of
    speech jieba's dictionary gives the word the character belongs to plus the
    character's place in it (``POS=nt_B``, ``POS=ns_E``: jieba knows many
    organization and place names), and ``DEP`` holds the word itself with that
    place (``中国-B``).  The model never predicts MORPH or DEP, so the two serve
    as free per-token feature slots for the hash embeddings.

    The segmenter is plain jieba (jieba-rs through rjieba, HMM on) without the
    project's user dictionary, so the model does not change when rules do.
    """

    def __init__(self, vocab: Any) -> None:
        super().__init__(vocab)
        self._segmenter: Any = None

    def __call__(self, text: str) -> Any:
        doc = super().__call__(text)
        if self._segmenter is None:
            from .segment import load_segmenter

            # plain jieba, shared with the pipeline's; loading it this way also
            # skips the default segmenter rjieba's package builds at import (~0.2 s)
            self._segmenter = load_segmenter(None)
        # Character index in ``text`` -> (tag feature, word feature).
        features: list[tuple[str, str]] = [("", "")] * len(text)
        pos = 0
        for word, tag in self._segmenter.tag(text, True):
            n = len(word)
            norm_word = "".join(normalize_char(c) for c in word)
            for k in range(n):
                place = "S" if n == 1 else "B" if k == 0 else "E" if k == n - 1 else "M"
                features[pos + k] = (f"POS={tag}_{place}", f"{norm_word}-{place}")
            pos += n
        for tok in doc:
            tag_feature, word_feature = features[tok.idx]
            if tag_feature:
                tok.set_morph(tag_feature)
                tok.dep_ = word_feature
        return doc


# ------------------------------------------------------------- BIOES tags
# The tagger model labels each character B-X, I-X, E-X, S-X (X in LABELS) or O.


def bioes_tags(n_tokens: int, spans: Iterable[tuple[int, int, str | None]]) -> list[str]:
    """Tags of ``n_tokens`` tokens for ``(start, end, label)`` token spans.

    A span whose label is None is *missing*: its tokens get "" (no loss either way).
    """
    tags = ["O"] * n_tokens
    for s, e, label in spans:
        if label is None:
            for i in range(s, e):
                tags[i] = ""
        elif e - s == 1:
            tags[s] = f"S-{label}"
        else:
            tags[s] = f"B-{label}"
            for i in range(s + 1, e - 1):
                tags[i] = f"I-{label}"
            tags[e - 1] = f"E-{label}"
    return tags


def spans_from_tags(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(start, end, label)`` from BIOES tags, repairing broken runs.

    An I or E with no open span of its label opens one (the model saw the start
    wrongly); a B or S or O closes whatever was open.
    """
    out: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        kind, _, lab = tag.partition("-")
        if kind in ("I", "E") and start >= 0 and lab == label:
            if kind == "E":
                out.append((start, i + 1, label))
                start = -1
            continue
        if start >= 0:
            out.append((start, i, label))
            start = -1
        if kind == "S":
            out.append((i, i + 1, lab))
        elif kind in ("B", "I"):
            start, label = i, lab
        elif kind == "E":
            out.append((i, i + 1, lab))
    if start >= 0:
        out.append((start, len(tags), label))
    return out


def _allowed_transitions(labels: Sequence[str]) -> Any:
    """Boolean matrix ``allowed[prev, next]`` of valid BIOES tag pairs (+ start/end rows)."""
    import numpy as np

    n = len(labels)
    allowed = np.zeros((n + 1, n + 1), dtype=bool)  # index n = sentence boundary
    parts = [lab.partition("-") for lab in labels]
    for a in range(n + 1):
        for b in range(n + 1):
            ka, _, la = parts[a] if a < n else ("O", "", "")
            kb, _, lb = parts[b] if b < n else ("O", "", "")
            inside = ka in ("B", "I")  # a span is open after tag a
            if inside:
                allowed[a, b] = kb in ("I", "E") and lb == la
            else:
                allowed[a, b] = kb not in ("I", "E")
    return allowed


def viterbi_tags(scores: Any, labels: Sequence[str], allowed: Any) -> list[str]:
    """The best valid BIOES sequence under per-token label scores.

    ``scores`` are logits (unnormalized log-probabilities, what spaCy's
    ``Tagger.v2`` with ``normalize = false`` predicts), one row per token.
    """
    (path,) = viterbi_paths([scores], allowed)
    return [labels[k] for k in path]


def viterbi_paths(score_list: Sequence[Any], allowed: Any, batch: int = 256) -> list[list[int]]:
    """``viterbi_tags`` for many sequences at once, as label indices.

    Sequences are sorted by length and decoded ``batch`` at a time, one step per
    position for the whole batch: the Python loop runs once per position of the
    longest sequence in a batch instead of once per token.  The constraints are
    hard (a pair of tags is allowed or not), so the tags that may follow the
    same set of tags share one maximum: with BIOES that is four maxima per step
    (after O/E/S, after B-X or I-X for each X) instead of one per pair of tags.
    """
    import numpy as np

    out: list[list[int]] = [[] for _ in score_list]
    if not score_list:
        return out
    n_lab = allowed.shape[0] - 1
    # Without transition scores the best path of all is the per-token argmax; when
    # that path is valid it is also the best valid one.  Most clauses are like that
    # (all O, or clean spans), so only the others go through the dynamic programme.
    pending = _greedy_paths(score_list, allowed, out)
    if not pending:
        return out
    start_score = np.where(allowed[n_lab, :n_lab], 0.0, -1e9)
    end_score = np.where(allowed[:n_lab, n_lab], 0.0, -1e9)
    groups: dict[tuple[int, ...], list[int]] = {}  # allowed previous tags -> the tags they may precede
    for tag in range(n_lab):
        groups.setdefault(tuple(np.flatnonzero(allowed[:n_lab, tag]).tolist()), []).append(tag)
    steps = [(np.array(prev), np.array(nxt)) for prev, nxt in groups.items() if prev]
    unreachable = [t for prev, nxt in groups.items() if not prev for t in nxt]
    order = sorted(pending, key=lambda k: len(score_list[k]))
    for first in range(0, len(order), batch):
        members = order[first : first + batch]
        lengths = np.array([len(score_list[k]) for k in members])
        n_seq, n_pos = len(members), int(lengths.max())
        logits = np.concatenate([np.asarray(score_list[k], dtype="float64") for k in members])
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = np.zeros((n_seq, n_pos, n_lab))
        logp[np.arange(n_pos) < lengths[:, None]] = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        best = logp[:, 0] + start_score
        back = np.zeros((n_seq, n_pos, n_lab), dtype=np.int32)
        rows = np.arange(n_seq)
        stepped = np.empty((n_seq, n_lab))
        for i in range(1, n_pos):
            for prev, nxt in steps:
                scores = best[:, prev]
                arg = scores.argmax(axis=1)
                stepped[:, nxt] = scores[rows, arg][:, None]
                back[:, i, nxt] = prev[arg][:, None]
            if unreachable:
                stepped[:, unreachable] = -2e9
            stepped += logp[:, i]
            done = lengths <= i  # a finished sequence keeps its scores
            stepped[done] = best[done]
            best, stepped = stepped, best
        current = (best + end_score).argmax(axis=1)
        paths = np.zeros((n_seq, n_pos), dtype=np.int32)
        for i in range(n_pos - 1, 0, -1):
            active = lengths > i
            paths[active, i] = current[active]
            current = np.where(active, back[rows, i, current], current)
        paths[:, 0] = current
        for row, k in enumerate(members):
            out[k] = paths[row, : lengths[row]].tolist()
    return out


def _greedy_paths(score_list: Sequence[Any], allowed: Any, out: list[list[int]]) -> list[int]:
    """Fill ``out[k]`` with the argmax path of every sequence whose argmax path is
    valid under ``allowed``; return the indices of the other non-empty sequences."""
    import numpy as np

    nonempty = [k for k in range(len(score_list)) if len(score_list[k])]
    if not nonempty:
        return []
    n_lab = allowed.shape[0] - 1
    lengths = np.array([len(score_list[k]) for k in nonempty])
    tags = np.concatenate([np.asarray(score_list[k]).argmax(axis=1) for k in nonempty])
    ends = np.cumsum(lengths)
    starts = ends - lengths
    before = np.empty_like(tags)
    before[1:] = tags[:-1]
    before[starts] = n_lab  # the boundary before each sequence
    pair_ok = allowed[before, tags]
    valid = np.logical_and.reduceat(pair_ok, starts) & allowed[tags[ends - 1], n_lab]
    pending = []
    for k, ok, a, b in zip(nonempty, valid.tolist(), starts.tolist(), ends.tolist(), strict=True):
        if ok:
            out[k] = tags[a:b].tolist()
        else:
            pending.append(k)
    return pending


def _register_scorer(spacy: Any) -> None:
    """``zhextract.bioes_ents_scorer.v1``: entity P/R/F of a BIOES tagger, for training."""

    @spacy.registry.scorers("zhextract.bioes_ents_scorer.v1")
    def make_scorer() -> Any:
        def score(examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
            from .train_ner import score_spans

            gold, pred = [], []
            for eg in examples:
                tags = [t.tag_ for t in eg.reference]
                missing = [(i, i + 1, None) for i, t in enumerate(tags) if t == ""]
                gold.append(spans_from_tags([t or "O" for t in tags]) + missing)
                pred.append(spans_from_tags([t.tag_ for t in eg.predicted]))
            scores = score_spans(gold, pred)
            labels = set(scores.tp) | set(scores.fp) | set(scores.fn)
            per_type = {lab: dict(zip("prf", scores.prf(lab), strict=True)) for lab in labels}
            p, r, f = scores.prf()
            return {"ents_p": p, "ents_r": r, "ents_f": f, "ents_per_type": per_type}

        return score


@dataclass
class NerModel:
    """A loaded NER model; use ``load_ner_model`` to get the cached shipped one.

    A BIOES tagger runs on numpy alone (``ner_numpy.NumpyTagger``, the same
    scores as spaCy's); an older transition-based ``ner`` pipe runs in spaCy.
    """

    path: Path
    tagger: Any = None  # ner_numpy.NumpyTagger
    nlp: Any = None  # spaCy pipeline, for a model without a tagger pipe
    batch_size: int = 64
    # which clauses the model reads (reading.json, see orgs.cue_clauses): cue words not
    # worth running it for, and words that are cues though the rules do not say so
    not_cue_words: frozenset[str] = frozenset()
    cue_words: frozenset[str] = frozenset()
    _allowed: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def find_entities(self, text: str, sentences: Sequence[Sentence] | None = None) -> list[Entity]:
        """Entities (ORG, PER, LOC) in ``text``, with offsets into ``text``.

        Args:
            text: the clean text.
            sentences: the sentences to run the model on (offsets into ``text``);
                None means the whole text, cut after sentence-final marks.  Passing
                only the sentences that have an organization cue is how callers
                keep the model off most of a long report.

        Returns:
            Entities sorted by start offset.
        """
        pieces = _pieces(text, sentences)
        if not pieces:
            return []
        out: list[Entity] = []
        with self._lock:  # the caches of the tagger and spaCy's pipes are not thread-safe
            if self.tagger is not None:
                found = self._tagger_entities([text[a:b] for a, b in pieces])
            else:
                docs = self.nlp.pipe((text[a:b] for a, b in pieces), batch_size=self.batch_size)
                found = ([(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs)
            for (a, _b), ents in zip(pieces, found, strict=True):
                for start, end, label in ents:
                    s, e = a + start, a + end
                    out.append(Entity(s, e, label, text[s:e]))
        out.sort(key=lambda x: (x.start, x.end))
        return out

    def _tagger_entities(self, texts: list[str]) -> Iterable[list[tuple[int, int, str]]]:
        """Character spans per text from the BIOES tagger, decoded by constrained Viterbi."""
        labels = self.tagger.labels
        if self._allowed is None:
            self._allowed = _allowed_transitions(labels)
        for batch in _batches_by_chars(texts, BATCH_CHARS):
            scored = self.tagger.scores(batch)
            paths = viterbi_paths([scores for _, scores in scored], self._allowed)
            for (tokens, _), path in zip(scored, paths, strict=True):
                tags = [labels[i] for i in path]
                yield [(tokens[s][0], tokens[e - 1][1], label) for s, e, label in spans_from_tags(tags)]


def _batches_by_chars(texts: list[str], limit: int) -> Iterable[list[str]]:
    """Consecutive runs of ``texts`` of at most ``limit`` characters (or one longer text)."""
    batch: list[str] = []
    size = 0
    for t in texts:
        if batch and size + len(t) > limit:
            yield batch
            batch, size = [], 0
        batch.append(t)
        size += len(t)
    if batch:
        yield batch


def _pieces(text: str, sentences: Sequence[Sentence] | None) -> list[tuple[int, int]]:
    """Non-empty ``(start, end)`` windows of at most MAX_CHUNK chars, cut at sentence marks."""
    from .train_ner import sentence_chunks

    spans = [(0, len(text))] if sentences is None else [(s.start, s.end) for s in sentences]
    out: list[tuple[int, int]] = []
    for a, b in spans:
        for s, e in sentence_chunks(text[a:b], MAX_CHUNK):
            if text[a + s : a + e].strip():
                out.append((a + s, a + e))
    return out


_cache: dict[Path, NerModel] = {}
_cache_lock = threading.Lock()


def load_ner_model(path: Path | None = None) -> NerModel:
    """Load (once per process) the NER model at ``path``, default the shipped one.

    Raises:
        FileNotFoundError: when the model folder does not exist.
    """
    path = Path(path) if path is not None else MODEL_DIR
    with _cache_lock:
        if path in _cache:
            return _cache[path]
        if not (path / "config.cfg").exists():
            raise FileNotFoundError(f"{path}: no trained NER model here (config.cfg missing)")
        if (path / "tagger").is_dir():
            from .ner_numpy import NumpyTagger

            model = NerModel(path=path, tagger=NumpyTagger(path), **_read_reading_list(path))
        else:
            model = NerModel(path=path, nlp=load_spacy_pipeline(path), **_read_reading_list(path))
        _cache[path] = model
        return model


def _read_reading_list(path: Path) -> dict[str, frozenset[str]]:
    """The model's ``reading.json`` lists (``train_ner.write_reading_list``); none when absent."""
    reading = path / "reading.json"
    if not reading.exists():
        return {}
    data = json.loads(reading.read_text(encoding="utf-8"))
    return {key: frozenset(data.get(key, ())) for key in ("not_cue_words", "cue_words")}


def load_spacy_pipeline(path: Path | None = None) -> Any:
    """The model at ``path`` as a spaCy pipeline (training, and the reference the numpy runtime is tested against)."""
    import spacy

    register_components()
    return spacy.load(Path(path) if path is not None else MODEL_DIR, exclude=[])
