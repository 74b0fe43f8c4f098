"""Train and evaluate the organization NER model (never run in CI or tests).

Data: MSRA NER (char BIO; PER/ORG/LOC) and CLUENER2020 (JSONL char spans)
from ``../shared/data/ner``; see each ``SOURCE.md``.  Label mapping:

* MSRA: ``PER``, ``ORG``, ``LOC`` as they are.
* CLUENER: ``company``, ``government``, ``organization`` -> ``ORG``; ``name`` -> ``PER``;
  ``address`` -> ``LOC``; ``scene`` (sights, parks: often LOC in MSRA style) is
  marked *missing* so the model is not taught that such places are ``O``;
  ``position``, ``book``, ``game``, ``movie`` -> ``O`` (MSRA does not tag them either).

Long sentences are cut after 。！？； (never inside an entity) so training and
inference both see sentence-sized docs.  A fixed-seed random 3,000 MSRA train
sentences plus 500 CLUENER train sentences are held out as dev (used to pick the
best checkpoint); MSRA test and CLUENER dev are only used by ``main_eval``.

Entry points for the CLI (``zhextract train-ner`` / ``zhextract eval-ner``):
``main_train(...)`` and ``main_eval(...)``.
"""

from __future__ import annotations

import json
import lzma
import random
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ner"
DEFAULT_CONFIG = Path(__file__).parent / "models" / "org_ner.cfg"
DEFAULT_WORK_DIR = Path(__file__).resolve().parents[1] / "ner-work"
DEFAULT_OUTPUT = Path(__file__).parent / "models" / "org_ner"

CLUENER_MAP = {
    "company": "ORG",
    "government": "ORG",
    "organization": "ORG",
    "name": "PER",
    "address": "LOC",
    "scene": None,  # missing: neither entity nor O
}
SEED = 2018
DEV_MSRA = 3000
DEV_CLUENER = 500
RE_SENT_END = re.compile(r"[。！？；!?;]")
# Keep generated chunks below this length (chars) when a sentence has no end mark.
MAX_TRAIN_CHARS = 300


@dataclass(frozen=True)
class GoldSentence:
    """A sentence with gold spans ``(start, end, label)``; label None = missing."""

    text: str
    spans: tuple[tuple[int, int, str | None], ...]


# ---------------------------------------------------------------- reading


def read_msra(path: Path) -> list[GoldSentence]:
    """Read MSRA char-per-line BIO (plain or .xz); empty tags count as ``O``."""
    opener = lzma.open if str(path).endswith(".xz") else open
    out: list[GoldSentence] = []
    chars: list[str] = []
    tags: list[str] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if chars:
                    out.append(_from_bio(chars, tags))
                    chars, tags = [], []
                continue
            ch, _, tag = line.partition("\t")
            chars.append(ch[:1] if ch else " ")
            tags.append(tag.strip() or "O")
    if chars:
        out.append(_from_bio(chars, tags))
    return out


def _from_bio(chars: list[str], tags: list[str]) -> GoldSentence:
    spans: list[tuple[int, int, str | None]] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if tag.startswith("I-") and start >= 0 and tag[2:] == label:
            continue
        if start >= 0:
            spans.append((start, i, label))
            start = -1
        if tag.startswith(("B-", "I-")):
            start, label = i, tag[2:]
    return GoldSentence("".join(chars), tuple(spans))


def read_cluener(path: Path, label_map: dict[str, str | None] | None = None) -> list[GoldSentence]:
    """Read CLUENER JSONL (inclusive ``[start, end]`` offsets), mapping labels.

    Labels absent from ``label_map`` are dropped (they become ``O``); labels
    mapped to ``None`` become *missing* spans.
    """
    label_map = CLUENER_MAP if label_map is None else label_map
    out: list[GoldSentence] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            spans: list[tuple[int, int, str | None]] = []
            for lab, mentions in (rec.get("label") or {}).items():
                if lab not in label_map:
                    continue
                for offsets in mentions.values():
                    for s, e in offsets:
                        spans.append((s, e + 1, label_map[lab]))
            out.append(GoldSentence(rec["text"], tuple(_drop_overlaps(spans))))
    return out


def _drop_overlaps(
    spans: Iterable[tuple[int, int, str | None]],
) -> list[tuple[int, int, str | None]]:
    """Keep the longest of overlapping spans (entities first, then missing)."""
    keep: list[tuple[int, int, str | None]] = []
    for s, e, lab in sorted(spans, key=lambda x: (x[2] is None, -(x[1] - x[0]), x[0])):
        if all(e <= ks or s >= ke for ks, ke, _ in keep):
            keep.append((s, e, lab))
    return sorted(keep)


def split_sentence(sent: GoldSentence, max_chars: int = MAX_TRAIN_CHARS) -> list[GoldSentence]:
    """Cut after sentence-final marks that are not inside a span."""
    inside = bytearray(len(sent.text) + 1)
    for s, e, _ in sent.spans:
        for i in range(s, e):
            inside[i] = 1
    cuts = [m.end() for m in RE_SENT_END.finditer(sent.text) if not inside[m.start()]]
    bounds = [0, *[c for c in cuts if c < len(sent.text)], len(sent.text)]
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b <= a:
            continue
        spans = tuple((s - a, e - a, lab) for s, e, lab in sent.spans if s >= a and e <= b)
        out.append(GoldSentence(sent.text[a:b], spans))
    return out


def sentence_chunks(text: str, max_chars: int) -> list[tuple[int, int]]:
    """``(start, end)`` pieces of ``text`` cut after end marks, at most ``max_chars`` long."""
    out: list[tuple[int, int]] = []
    start = 0
    cuts = [m.end() for m in RE_SENT_END.finditer(text)] + [len(text)]
    for c in cuts:
        while c - start > max_chars:
            out.append((start, start + max_chars))
            start += max_chars
        if c > start:
            out.append((start, c))
            start = c
    return out


# ---------------------------------------------------------------- DocBins


def to_docbin(nlp, sentences: Iterable[GoldSentence]):  # type: ignore[no-untyped-def]
    """Build a spaCy DocBin of char-token docs with gold entities.

    Each doc carries the entities twice: as ``doc.ents`` (for a transition-based
    ``ner`` pipe) and as BIOES tags in ``token.tag_`` (for the tagger model).
    Missing spans stay missing in both ("" tags give no loss).
    """
    from spacy.tokens import DocBin

    from .ner import bioes_tags

    db = DocBin(store_user_data=False)
    skipped = 0
    for sent in sentences:
        doc = nlp.make_doc(sent.text)
        ents, missing = [], []
        for s, e, lab in sent.spans:
            span = doc.char_span(s, e, label=lab or "", alignment_mode="strict")
            if span is None:
                skipped += 1
                continue
            (missing if lab is None else ents).append(span)
        doc.set_ents(ents, missing=missing, default="outside")
        token_spans = [(sp.start, sp.end, None) for sp in missing]
        token_spans += [(sp.start, sp.end, sp.label_) for sp in ents]
        for tok, tag in zip(doc, bioes_tags(len(doc), token_spans), strict=True):
            tok.tag_ = tag
        db.add(doc)
    if skipped:
        print(f"  {skipped} gold spans not on token boundaries, skipped")
    return db


def docbin_paths(work_dir: Path) -> dict[str, Path]:
    """Where ``prepare_data`` writes the training and dev DocBins.

    The names say what the docs carry (entities and BIOES tags), so DocBins an
    older version left in ``ner-work/`` (entities only) are never reused.
    """
    return {"train": Path(work_dir) / "train-ents-tags.spacy", "dev": Path(work_dir) / "dev-ents-tags.spacy"}


def train_dev_split(data_dir: Path, rng: random.Random | None = None) -> tuple[list[GoldSentence], list[GoldSentence]]:
    """MSRA train + CLUENER train as (train, held-out dev) sentences, the fixed-seed split.

    ``rng`` (default ``random.Random(SEED)``) is advanced by the two shuffles that
    pick the dev sentences; ``prepare_data`` goes on shuffling with it.
    """
    rng = rng if rng is not None else random.Random(SEED)
    msra = read_msra(data_dir / "msra" / "msra_train_bio.xz")
    clue = read_cluener(data_dir / "cluener" / "train.json")
    msra_idx = list(range(len(msra)))
    rng.shuffle(msra_idx)
    clue_idx = list(range(len(clue)))
    rng.shuffle(clue_idx)
    dev_m = set(msra_idx[:DEV_MSRA])
    dev_c = set(clue_idx[:DEV_CLUENER])
    train = [s for i, s in enumerate(msra) if i not in dev_m] + [s for i, s in enumerate(clue) if i not in dev_c]
    dev = [msra[i] for i in sorted(dev_m)] + [clue[i] for i in sorted(dev_c)]
    return train, dev


# Which clauses the model reads (reading.json): a word the training text uses at least
# READING_MIN_COUNT times is no cue when it is inside an organization's name less than
# READING_MAX_ORG_RATE of the time, and is one when it is inside a name at least
# READING_MIN_ORG_RATE of the time (thresholds chosen on the held-out dev split).
READING_MIN_COUNT = 5
READING_MAX_ORG_RATE = 0.02
READING_MIN_ORG_RATE = 0.7


def learn_reading_list(sentences: Iterable[GoldSentence], rules_dir: Path) -> dict[str, object]:
    """The words that decide which clauses the model reads: what ``reading.json`` holds.

    Counts, over the jieba tokens of ``sentences``, how often each word overlaps a
    gold ORG span.  ``not_cue_words``: words ``orgs.is_cue_token`` calls cues (but
    not the rules' own suffix or gazetteer words) that are almost never in a name
    (格局, 大局, 研讨会 …: nouns ending in a cue character used in another sense).
    ``cue_words``: words it does not call cues that are mostly in names (微软, 人大,
    十五大, 分行, 队 …).  On the MSRA part of the held-out dev split the first list cut
    the text the model reads from 25.8% to 22.5% at the same ORG recall, and the
    second took the stage's ORG recall from 0.705 to 0.763 for 24.2% of the text.
    """
    from .orgs import is_cue_token, load_org_rules
    from .segment import tokenize

    rules = load_org_rules(Path(rules_dir))
    seen: Counter[str] = Counter()
    in_org: Counter[str] = Counter()
    for sent in sentences:
        names = [(a, b) for a, b, label in sent.spans if label == "ORG"]
        for token in tokenize(sent.text):
            seen[token.text] += 1
            if any(a < token.end and token.start < b for a, b in names):
                in_org[token.text] += 1
    frequent = [w for w, n in seen.items() if n >= READING_MIN_COUNT]
    not_cues = sorted(w for w in frequent if in_org[w] / seen[w] < READING_MAX_ORG_RATE
                      and w not in rules.cue_words and is_cue_token(w, rules))
    cues = sorted(w for w in frequent if in_org[w] / seen[w] >= READING_MIN_ORG_RATE and not is_cue_token(w, rules))
    return {
        "about": "Which clauses the organization stage runs the NER model on "
                 "(pipeline.train_ner.learn_reading_list, from the training split).",
        "min_count": READING_MIN_COUNT,
        "max_org_rate": READING_MAX_ORG_RATE,
        "min_org_rate": READING_MIN_ORG_RATE,
        "not_cue_words": not_cues,
        "cue_words": cues,
    }


def write_reading_list(model_dir: Path, data_dir: Path = DEFAULT_DATA_DIR, rules_dir: Path | None = None) -> Path:
    """Learn ``learn_reading_list`` on the training split and write ``model_dir/reading.json``."""
    from .settings import default_rules_dir
    from .write import write_json

    train, _dev = train_dev_split(Path(data_dir))
    reading = learn_reading_list(train, Path(rules_dir) if rules_dir is not None else default_rules_dir())
    path = Path(model_dir) / "reading.json"
    write_json(path, json.dumps(reading, ensure_ascii=False, indent=1) + "\n")
    return path


def prepare_data(data_dir: Path = DEFAULT_DATA_DIR, work_dir: Path = DEFAULT_WORK_DIR) -> dict[str, Path]:
    """Convert MSRA train + CLUENER train to DocBins in ``work_dir`` (see ``docbin_paths``).

    Returns the paths written.  Deterministic (seed ``SEED``).
    """
    import spacy

    from .ner import register_components

    register_components()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "zhextract.char_bigram_tokenizer.v1"}}})
    rng = random.Random(SEED)
    whole_train, whole_dev = train_dev_split(data_dir, rng)
    train = [p for s in whole_train for p in split_sentence(s)]
    dev = [p for s in whole_dev for p in split_sentence(s)]
    rng.shuffle(train)
    work_dir.mkdir(parents=True, exist_ok=True)
    paths = docbin_paths(work_dir)
    for name, sents in (("train", train), ("dev", dev)):
        print(f"{name}: {len(sents)} docs, {sum(len(s.text) for s in sents)} chars")
        to_docbin(nlp, sents).to_disk(paths[name])
    return paths


# ---------------------------------------------------------------- training


class _TimeUp(Exception):
    """Raised by the time-limit callback; the best checkpoint so far is kept."""


def _register_time_limit() -> None:
    import spacy

    if "zhextract.time_limit.v1" in spacy.registry.callbacks:
        return

    @spacy.registry.callbacks("zhextract.time_limit.v1")
    def make_time_limit(minutes: float):  # type: ignore[no-untyped-def]
        deadline = time.time() + 60 * minutes

        def before_update(nlp, info):  # type: ignore[no-untyped-def]
            if time.time() > deadline:
                raise _TimeUp(f"time limit of {minutes} min reached at step {info['step']}")

        return before_update


def main_train(
    data_dir: Path = DEFAULT_DATA_DIR,
    out_dir: Path = DEFAULT_OUTPUT,
    max_minutes: float | None = None,
    seed: int | None = None,
    max_steps: int | None = None,
    config: Path = DEFAULT_CONFIG,
    work_dir: Path = DEFAULT_WORK_DIR,
    threads: int = 1,
    base_model: Path | None = None,
) -> Path:
    """Train the NER model and install the best checkpoint at ``out_dir``.

    Reproducible runs cap the *steps* (``max_steps``, default the config's
    ``[training] max_steps``); a linear learning-rate schedule is stretched to
    end at that step.  ``max_minutes`` is a safety net on top (stops at the first
    update past the limit and keeps the best checkpoint evaluated so far; which
    step that is depends on the machine).

    Args:
        data_dir: folder with ``msra/`` and ``cluener/`` (see the module docstring).
        out_dir: where the model goes (the shipped one is ``pipeline/models/org_ner``);
            a ``MODEL_CARD.md`` already there is kept.
        max_minutes: wall-clock limit of the training loop, None for none.
        seed: override ``[system] seed`` (None: the config's, 2018).
        max_steps: override ``[training] max_steps``.
        config: spaCy config.
        work_dir: scratch folder for DocBins and checkpoints (git-ignored ``ner-work/``).
        threads: BLAS threads (``zhextract train-ner`` passes 2, which the shipped model
            was trained with; 1 leaves a core free).
        base_model: the model a config whose components say ``source = ${paths.base_model}``
            continues from (fine-tuning).

    Returns:
        The output folder.
    """
    from .settings import set_blas_threads

    set_blas_threads(threads, override=True)
    from thinc.api import NumpyOps, set_current_ops

    # numpy's BLAS (OpenBLAS) multiplies these matrices about 2x faster per core
    # than the BLIS kernels thinc uses by default, and it can use ``threads`` cores.
    set_current_ops(NumpyOps(use_blis=False))
    from spacy.cli.train import train
    from spacy.util import load_config

    from .ner import register_components

    register_components()
    work_dir = Path(work_dir)
    paths = docbin_paths(work_dir)
    if not all(p.exists() for p in paths.values()):
        paths = prepare_data(Path(data_dir), work_dir)
    cfg = load_config(Path(config), interpolate=False)
    cfg["paths"]["train"] = str(paths["train"])
    cfg["paths"]["dev"] = str(paths["dev"])
    if seed is not None:
        cfg["system"]["seed"] = seed
    if max_steps is not None:
        cfg["training"]["max_steps"] = max_steps
        schedule = cfg["training"]["optimizer"].get("learn_rate")
        if isinstance(schedule, dict) and "total_steps" in schedule:
            schedule["total_steps"] = max_steps
    if base_model is not None:
        cfg["paths"]["base_model"] = str(Path(base_model).resolve())
    if max_minutes:
        _register_time_limit()
        cfg["training"]["before_update"] = {"@callbacks": "zhextract.time_limit.v1", "minutes": max_minutes}
    work_dir.mkdir(parents=True, exist_ok=True)
    run_cfg = work_dir / "run.cfg"
    cfg.to_disk(run_cfg)
    t0 = time.time()
    try:
        train(run_cfg, work_dir / "out", use_gpu=-1)
    except _TimeUp as stop:
        print(f"stopped: {stop}")
    print(f"training took {time.time() - t0:.0f} s")
    install_model(work_dir / "out" / "model-best", Path(out_dir))
    write_reading_list(Path(out_dir), Path(data_dir))
    return Path(out_dir)


def install_model(src: Path, output: Path) -> None:
    """Copy a trained spaCy pipeline to ``output``, keeping MODEL_CARD.md.

    ``spacy train`` saves no optimizer state in ``model-best``; the bigram strings
    are dropped here (see below), which leaves the weights (about 9 MB).
    """
    import spacy

    from .ner import register_components

    register_components()
    nlp = spacy.load(src)
    card = output / "MODEL_CARD.md"
    card_text = card.read_text(encoding="utf-8") if card.exists() else None
    if output.exists():
        shutil.rmtree(output)
    nlp.to_disk(output)
    # The string store holds every character bigram and word seen in training
    # (tens of MB); the hash embeddings need only the hashes, so keep just the labels.
    pipe = nlp.get_pipe("tagger" if "tagger" in nlp.pipe_names else "ner")
    labels = sorted(pipe.labels)
    (output / "vocab" / "strings.json").write_text(json.dumps(labels), encoding="utf-8")
    if card_text is not None:
        card.write_text(card_text, encoding="utf-8")


# ---------------------------------------------------------------- evaluation


@dataclass
class Scores:
    """Span counts per label; exact character-offset match."""

    tp: Counter
    fp: Counter
    fn: Counter

    def prf(self, label: str | None = None) -> tuple[float, float, float]:
        if label is None:
            tp, fp, fn = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        else:
            tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def table(self, labels: Sequence[str] = ("ORG", "PER", "LOC")) -> str:
        rows = [f"{'label':<6} {'P':>6} {'R':>6} {'F':>6} {'gold':>6}"]
        for lab in [*labels, None]:
            p, r, f = self.prf(lab)
            gold = (self.tp[lab] + self.fn[lab]) if lab else sum(self.tp.values()) + sum(self.fn.values())
            rows.append(f"{lab or 'all':<6} {p:6.3f} {r:6.3f} {f:6.3f} {gold:6d}")
        return "\n".join(rows)


def score_spans(
    gold: Sequence[Iterable[tuple[int, int, str | None]]],
    pred: Sequence[Iterable[tuple[int, int, str]]],
) -> Scores:
    """Compare gold and predicted spans sentence by sentence (missing gold spans ignored)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        gset = {(s, e, lab) for s, e, lab in g if lab}
        miss = [(s, e) for s, e, lab in g if lab is None]
        for s, e, lab in set(p):
            if (s, e, lab) in gset:
                tp[lab] += 1
            elif not any(s < me and e > ms for ms, me in miss):
                fp[lab] += 1
        for s, e, lab in gset:
            if (s, e, lab) not in set(p):
                fn[lab] += 1
    return Scores(tp, fp, fn)


def evaluate(model, sentences: Sequence[GoldSentence], cue_filter: bool = False) -> tuple[Scores, float]:  # type: ignore[no-untyped-def]
    """Run ``model.find_entities`` on each gold sentence; return scores and chars/s."""
    from .records import Sentence

    t0 = time.perf_counter()
    preds = []
    for sent in sentences:
        sents = None
        if cue_filter:
            from .orgs import has_org_cue

            sents = [Sentence(a, b, sent.text[a:b]) for a, b in sentence_chunks(sent.text, 10**9)]
            sents = [s for s in sents if has_org_cue(s.text)]
        ents = model.find_entities(sent.text, sents)
        preds.append([(e.start, e.end, e.label) for e in ents])
    dt = time.perf_counter() - t0
    chars = sum(len(s.text) for s in sentences)
    return score_spans([s.spans for s in sentences], preds), chars / dt if dt else 0.0


def main_eval(
    data_dir: Path = DEFAULT_DATA_DIR,
    model_dir: Path | None = None,
    limit: int | None = None,
) -> dict[str, Scores]:
    """Print P/R/F per label of a model on MSRA test and CLUENER dev.

    Args:
        data_dir: folder with ``msra/`` and ``cluener/``.
        model_dir: a trained model folder; the shipped model when None.
        limit: evaluate only the first ``limit`` sentences of each set.

    Returns:
        ``{"msra_test": Scores, "cluener_dev": Scores}``.
    """
    from .ner import load_ner_model

    data_dir = Path(data_dir)
    model = load_ner_model(model_dir)
    out = {}
    sets = {
        "msra_test": read_msra(data_dir / "msra" / "msra_test_bio"),
        "cluener_dev": read_cluener(data_dir / "cluener" / "dev.json"),
    }
    for name, sents in sets.items():
        sents = sents[:limit] if limit else sents
        scores, cps = evaluate(model, sents)
        print(f"== {name} ({len(sents)} sentences, {cps:,.0f} chars/s)")
        print(scores.table())
        out[name] = scores
    return out
