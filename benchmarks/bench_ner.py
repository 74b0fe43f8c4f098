"""Benchmark of the shipped NER model and the organization stage (not a test).

Prints P/R/F per label on MSRA test and CLUENER dev (labels mapped as in
training: company/government/organization -> ORG, name -> PER, address -> LOC;
scene spans ignored), ORG F of the whole organization stage (rules + model) on
the hand-annotated documents tests/data/orgs-*.txt, ORG recall on MSRA test
with and without the cue-sentence filter, and throughput against jieba.lcut.

Usage: .venv/bin/python benchmarks/bench_ner.py [--model DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.settings import set_blas_threads  # noqa: E402

set_blas_threads(1, override=False)  # one core, as zhextract runs (before numpy is imported)

from pipeline.ner import load_ner_model  # noqa: E402
import jieba  # noqa: E402
from datetime import date  # noqa: E402

from pipeline.orgs import cue_clauses, cue_sentences, extract_orgs_from_text, load_org_rules  # noqa: E402
from pipeline.records import Analysis, Sentence, Token  # noqa: E402
from pipeline.train_ner import (  # noqa: E402
    DEFAULT_DATA_DIR,
    evaluate,
    read_cluener,
    read_msra,
    score_spans,
    sentence_chunks,
)


def gold_docs(model, rules) -> None:
    print("== hand-annotated documents (ORG, whole organization stage: rules + model)")
    for path in sorted((ROOT / "tests" / "data").glob("orgs-*.txt")):
        text = path.read_text(encoding="utf-8")
        with open(path.with_suffix(".expected.csv"), encoding="utf-8-sig", newline="") as f:
            gold = Counter(row["text"] for row in csv.DictReader(f))
        for name, ents in (("rules+ner", model.find_entities(text)), ("rules only", [])):
            pred = Counter(m.text for m in extract_orgs_from_text(text, rules, ents))
            tp = sum((gold & pred).values())
            p = tp / max(1, sum(pred.values()))
            r = tp / max(1, sum(gold.values()))
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            print(f"{path.name:<32} {name:<10} P {p:.3f} R {r:.3f} F {f1:.3f}")


def _analysis(text: str, sentences) -> Analysis:
    tokens = tuple(Token(a, b, w) for w, a, b in jieba.tokenize(text))
    return Analysis(text, tuple(sentences), tokens, date(2000, 1, 1))


def pipeline_clauses(model, rules, analysis: Analysis) -> list[Sentence]:
    """The clauses the pipeline gives the model (``process.find_entities``): cue clauses as reading.json says."""
    return cue_clauses(analysis, rules, model.not_cue_words, model.cue_words)


def stage_on_msra(model, rules, sents) -> None:
    print("== organization stage on MSRA test, ORG only (MSRA's ORG notion includes hotels and 十五大)")
    gold = [[(a, b, lab) for a, b, lab in s.spans if lab == "ORG"] for s in sents]
    # "as run": the model on the clauses the pipeline gives it (cue clauses as reading.json says)
    for name in ("rules only", "rules+ner", "as run"):
        preds = []
        for s in sents:
            if name == "rules only":
                ents = []
            elif name == "rules+ner":
                ents = model.find_entities(s.text)
            else:
                whole = [Sentence(0, len(s.text), s.text)]
                ents = model.find_entities(s.text, pipeline_clauses(model, rules, _analysis(s.text, whole)))
            preds.append([(m.start, m.end, "ORG") for m in extract_orgs_from_text(s.text, rules, ents)])
        p, r, f = score_spans(gold, preds).prf("ORG")
        print(f"{name:<10} ORG P {p:.3f} R {r:.3f} F {f:.3f}")


def cue_filter(model, rules, sents) -> None:
    print("== cue-sentence filter on MSRA test (ORG recall; the model reads only sentences with a cue)")
    for use_filter in ("off", "sentences", "clauses", "pipeline"):  # pipeline: clauses as reading.json says
        preds, chars_read = [], 0
        t0 = time.perf_counter()
        for s in sents:
            pieces = [Sentence(a, b, s.text[a:b]) for a, b in sentence_chunks(s.text, 10**9)]
            if use_filter != "off":
                analysis = _analysis(s.text, pieces)
                if use_filter == "sentences":
                    pieces = cue_sentences(analysis, rules)
                elif use_filter == "clauses":
                    pieces = cue_clauses(analysis, rules)
                else:
                    pieces = pipeline_clauses(model, rules, analysis)
            chars_read += sum(len(p.text) for p in pieces)
            preds.append([(e.start, e.end, e.label) for e in model.find_entities(s.text, pieces)])
        dt = time.perf_counter() - t0
        scores = score_spans([s.spans for s in sents], preds)
        total = sum(len(s.text) for s in sents)
        p, r, f = scores.prf("ORG")
        print(f"filter={use_filter:<9} ORG P {p:.3f} R {r:.3f} F {f:.3f}  "
              f"model read {chars_read / total:.0%} of the text, {total / dt:,.0f} chars/s of input")


def jieba_speed(sents) -> None:
    text = "".join(s.text for s in sents)
    jieba.lcut(text[:1000])
    t0 = time.perf_counter()
    jieba.lcut(text)
    dt = time.perf_counter() - t0
    print(f"== reference: jieba.lcut {len(text) / dt:,.0f} chars/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    model = load_ner_model(args.model)
    rules = load_org_rules(ROOT / "rules")
    print(f"model: {model.path}")
    lim = args.limit or None
    msra = read_msra(args.data / "msra" / "msra_test_bio")[:lim]
    clue = read_cluener(args.data / "cluener" / "dev.json")[:lim]
    for name, sents in (("MSRA test", msra), ("CLUENER dev", clue)):
        scores, cps = evaluate(model, sents)
        print(f"== {name}: {len(sents)} sentences, {cps:,.0f} chars/s")
        print(scores.table())
    gold_docs(model, rules)
    stage_on_msra(model, rules, msra)
    cue_filter(model, rules, msra)
    jieba_speed(msra)


if __name__ == "__main__":
    main()
