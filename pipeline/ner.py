"""Named-entity model for organizations (plus PER and LOC): text -> ``Entity`` list.

This is the only module of the pipeline that imports spaCy, and it does so
lazily inside functions, so ``import pipeline.ner`` stays cheap.

The model is a spaCy ``ner`` pipe over *character* tokens (with jieba tokens
4-18% of gold spans could not be represented).  Each character token carries
its right bigram in ``NORM`` and its left bigram in ``LEMMA``; the tok2vec
layer embeds ``ORTH``, ``NORM``, ``LEMMA`` and ``SHAPE``, so the model sees
bigram lexical features, which matter a lot for Chinese NER.  The features are
set by the tokenizer ``zhextract.char_bigram_tokenizer.v1`` defined here, so
training (``pipeline.train_ner``) and inference share one definition.

Input: clean text and, optionally, the sentences to look at.
Output: ``records.Entity`` with half-open offsets into the clean text.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Entity, Sentence

MODEL_DIR = Path(__file__).parent / "models" / "org_ner"
TOKENIZER_NAME = "zhextract.char_bigram_tokenizer.v1"
LABELS = ("ORG", "PER", "LOC")
# A sentence longer than this is cut into windows before it reaches the model
# (a run-on PDF "sentence" of 10k characters would otherwise dominate memory).
MAX_CHUNK = 400
_BOUNDARY = "\x00"  # stands for "no neighbour" in the bigram features

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
            left = norm[i - 1] if i > 0 else _BOUNDARY
            right = norm[i + 1] if i + 1 < n else _BOUNDARY
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


@dataclass
class NerModel:
    """A loaded NER pipeline; use ``load_ner_model`` to get the cached shipped one."""

    nlp: Any
    path: Path
    batch_size: int = 64
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
        with self._lock:  # spaCy pipes are not re-entrant across threads
            docs = self.nlp.pipe((text[a:b] for a, b in pieces), batch_size=self.batch_size)
            for (a, _b), doc in zip(pieces, docs, strict=True):
                for ent in doc.ents:
                    s, e = a + ent.start_char, a + ent.end_char
                    out.append(Entity(s, e, ent.label_, text[s:e]))
        out.sort(key=lambda x: (x.start, x.end))
        return out


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
        import spacy

        register_components()
        nlp = spacy.load(path, exclude=[])
        model = NerModel(nlp=nlp, path=path)
        _cache[path] = model
        return model
