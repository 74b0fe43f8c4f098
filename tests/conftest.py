"""Shared fixtures: the seed report and PDFs made from it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"
CORPUS_REAL = ROOT.parent / "shared" / "corpus-real"


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_paragraphs(seed_text: str) -> list[str]:
    """The seed's blocks as single-line paragraphs, without its garbled
    footer title (the newspaper PDF prints the title on top instead)."""
    blocks = [b for b in seed_text.split("\n\n") if b.strip()]
    return ["".join(line.strip() for line in b.splitlines()) for b in blocks[:-2]]


@pytest.fixture(scope="session")
def newspaper_pdf(tmp_path_factory, seed_paragraphs) -> Path:
    from tests.pdfmaker import make_newspaper_pdf

    path = tmp_path_factory.mktemp("pdf") / "seed-newspaper.pdf"
    return make_newspaper_pdf(
        path,
        seed_paragraphs,
        title="许昌奋楫弄潮 40 年之示范区篇",
        header_left="许昌日报 综合新闻",
        header_right="2018年11月20日 星期二",
    )


@pytest.fixture()
def make_pdf(tmp_path):
    """``make_pdf(pages, **kw)``: a single-column PDF, one list of lines per page."""
    from tests.pdfmaker import make_text_pdf

    counter = iter(range(1000))

    def make(pages: list[list[str]], **kw) -> Path:
        return make_text_pdf(tmp_path / f"doc{next(counter)}.pdf", pages, **kw)

    return make
