"""The ``zhextract`` command (also ``python -m pipeline``).

Commands: ``run``, ``explain``, ``rules check``, ``train-ner``, ``eval-ner``.
Errors a user can fix are one line on stderr; tracebacks only with ``--debug``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import RuleError, ZhextractError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Quantities, dates and organizations from Chinese reports, as reviewable tables.")
rules_app = typer.Typer(no_args_is_help=True, help="Validate the rule files and run their examples.")
app.add_typer(rules_app, name="rules")

RulesOption = Annotated[Optional[Path], typer.Option("--rules", help="Rules folder (default: ./rules).")]


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _rules_dir(rules: Path | None) -> Path:
    from .settings import default_rules_dir

    path = rules or default_rules_dir()
    if not path.is_dir():
        _fail(f"error: rules folder not found: {path}", 2)
    return path


@app.command()
def run(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files and folders (default: corpus/).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("outputs"),
    ref_date: Annotated[Optional[str], typer.Option("--ref-date", help="Reference date YYYY-MM-DD for relative dates.")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes.")] = 1,
    rules: RulesOption = None,
    engine: Annotated[str, typer.Option("--engine", help="local, or dask (pip install .[dask]).")] = "local",
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    no_ner: Annotated[bool, typer.Option("--no-ner", help="Organizations from rules only, without the model.")] = False,
    pdf_engine: Annotated[str, typer.Option("--pdf-engine", help="auto (pdfium, pdfplumber when glyphs are lost), pdfium or pdfplumber.")] = "auto",
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Process new or changed reports into tables in --out."""
    from .batch import run_batch
    from .settings import Settings

    try:
        settings = Settings(out_dir=out, rules_dir=_rules_dir(rules), ref_date=ref_date, workers=workers,
                            engine=engine, scheduler=scheduler, use_ner=not no_ner, pdf_engine=pdf_engine,
                            debug=debug)
    except ValueError as exc:
        _fail(f"error: {exc}", 2)
    try:
        summary = run_batch(paths or [Path("corpus")], settings=settings, progress=progress and sys.stderr.isatty())
    except RuleError as exc:
        _fail(f"error: invalid rules, nothing was processed:\n{exc}", 2)
    except ZhextractError as exc:
        _fail(f"error: {exc}", 1)
    except Exception as exc:
        if debug:
            raise
        _fail(f"error: {type(exc).__name__}: {exc} (run with --debug for details)", 1)
    for path, message in summary.errors:
        typer.echo(f"failed: {path}: {message}", err=True)
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.mentions.items())) or "none"
    typer.echo(f"documents: {summary.ok} ok, {summary.unchanged} unchanged, {summary.failed} failed; "
               f"mentions: {kinds}; {summary.seconds:.1f} s -> {summary.out_dir}")
    raise typer.Exit(summary.exit_code)


@app.command()
def explain(
    text: Annotated[str, typer.Argument(help="A sentence or passage to analyse.")],
    ref_date: Annotated[Optional[str], typer.Option("--ref-date", help="Reference date YYYY-MM-DD.")] = None,
    rules: RulesOption = None,
    no_ner: Annotated[bool, typer.Option("--no-ner", help="Without the organization model.")] = False,
) -> None:
    """Show the clean text, the jieba tokens and each mention with the rule that produced it."""
    from .process import extract_text_mentions, load_resources
    from .rules import mention_fields

    try:
        resources = load_resources(_rules_dir(rules), not no_ner)
        clean, analysis, mentions, source = extract_text_mentions(text, ref_date, resources)
    except RuleError as exc:
        _fail(f"error: invalid rules:\n{exc}", 2)
    except ValueError as exc:
        _fail(f"error: {exc}", 2)
    except OSError as exc:
        _fail(f"error: {exc}", 1)
    typer.echo(f"clean text ({len(clean.text)} chars, reference date {analysis.ref_date} from {source}):")
    typer.echo(clean.text)
    typer.echo("tokens: " + " | ".join(t.text for t in analysis.tokens if not t.text.isspace()))
    typer.echo(f"mentions ({len(mentions)}):" if mentions else "mentions: none")
    keep = ("number", "multiplier", "value", "unit", "quantity_kind", "qualifier", "value_max", "change",
            "date_start", "date_end", "granularity", "relative", "org_type")
    for m in mentions:
        fields = mention_fields(m)
        normalized = ", ".join(f"{k}={fields[k]}" for k in keep if fields[k])
        typer.echo(f"  {m.kind:<8} {m.text}  [{m.start}:{m.end}]  rule {m.rule}  {normalized}")


@rules_app.command("check")
def rules_check(rules: RulesOption = None) -> None:
    """Validate every rule file and run every example; exit 2 on any problem."""
    from .process import extract_text_mentions, load_resources
    from .rules import load_examples, run_examples

    rules_dir = _rules_dir(rules)
    try:
        resources = load_resources(rules_dir, True)
    except RuleError as exc:
        _fail(str(exc), 2)
    except (OSError, ValueError) as exc:
        _fail(f"error: {exc}", 1)
    files = load_examples(rules_dir)
    problems = [p for f in files for p in f.problems]

    def extract(text, ref_date):
        return extract_text_mentions(text, ref_date, resources)[2]

    problems += run_examples(files, extract)
    n_examples = sum(len(r.examples) + len(r.counterexamples) for f in files for r in f.rules)
    n_examples += sum(len(f.counterexamples) for f in files)
    n_span_examples = sum(len(c.examples) for f in files for c in f.span_checks)
    if problems:
        for p in problems:
            typer.echo(str(p), err=True)
        _fail(f"{len(problems)} problem(s) in {rules_dir}", 2)
    n_rules = sum(len(f.rules) for f in files)
    n_checks = sum(len(f.span_checks) for f in files)
    typer.echo(f"ok: {len(files)} files, {n_rules} rules, {n_examples} examples and counterexamples pass; "
               f"{n_checks} model span checks, {n_span_examples} examples pass")


@app.command("train-ner")
def train_ner(
    out: Annotated[Path, typer.Option("--out", help="Where to write the trained model.")] = Path("ner-work/model"),
    data: Annotated[Path, typer.Option("--data", help="Folder with msra/ and cluener/.")] = Path("../shared/data/ner"),
    steps: Annotated[Optional[int], typer.Option("--steps", help="Training steps (default: the config's, 11000); the learning rate decays to 0 at the last step.")] = None,
    minutes: Annotated[Optional[float], typer.Option("--minutes", help="Wall-clock safety limit.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Default: the config's (2018).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="spaCy config (default: pipeline/models/org_ner.cfg).")] = None,
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="Model a config with `source = ${paths.base_model}` components continues from.")] = None,
    threads: Annotated[int, typer.Option("--threads", help="BLAS threads (cores) for the matrix products.")] = 2,
) -> None:
    """Train the organization NER model (CPU, fixed seed); never run in CI.

    The defaults reproduce the shipped model (pipeline/models/org_ner, see its
    MODEL_CARD.md): pipeline/models/org_ner.cfg, 11000 steps, seed 2018.
    """
    from . import train_ner as training

    extra = {"config": config} if config is not None else {}
    training.main_train(data_dir=data, out_dir=out, max_minutes=minutes, seed=seed, max_steps=steps,
                        base_model=base_model, threads=threads, **extra)


@app.command("eval-ner")
def eval_ner(
    data: Annotated[Path, typer.Option("--data", help="Folder with msra/ and cluener/.")] = Path("../shared/data/ner"),
    model: Annotated[Optional[Path], typer.Option("--model", help="Model folder (default: the shipped one).")] = None,
) -> None:
    """Score a NER model on MSRA test and CLUENER dev (P/R/F per label)."""
    from . import train_ner as training

    training.main_eval(data_dir=data, model_dir=model)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    from .settings import set_blas_threads

    # Documents are processed in parallel by worker processes; a BLAS thread pool in
    # each (numpy's OpenBLAS starts one per core) would only fight them for the cores.
    set_blas_threads(1, override=False)
    app(prog_name="zhextract")


if __name__ == "__main__":
    main()
