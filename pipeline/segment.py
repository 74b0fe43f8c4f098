"""Clean text -> sentences and tokens, each with offsets into the clean text.

Tokens come from jieba's dictionary and semantics with ``rules/dictionary.txt``
as the user dictionary. The engine is rjieba (jieba-rs), which gives the same
tokens as ``jieba.tokenize`` about 20x faster; ``tests/test_segment.py`` checks
that the two agree on the corpus. ``tokenize`` is the one place to change it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import regex

from .records import Sentence, Token

# A sentence ends after 。！？ (not ；, which only separates clauses) with any closing quotes/brackets, or
# at a paragraph break. Spaces and newlines after the end belong to no sentence.
RE_SENTENCE = regex.compile(r"[^\n。！？!?]*(?:[。！？!?]+[”’」』）)\"']*|\n|$)")


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Split clean text into sentences, with leading/trailing white space trimmed off."""
    out: list[Sentence] = []
    for m in RE_SENTENCE.finditer(text):
        start, end = m.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(Sentence(start, end, text[start:end]))
    return tuple(out)


@lru_cache(maxsize=4)
def load_segmenter(dictionary: Path | None):
    """An rjieba segmenter with the user dictionary applied (once per process)."""
    seg = _jieba_class()()
    if dictionary is not None and dictionary.exists():
        for word, freq, tag in read_user_dictionary(dictionary):
            seg.add_word(word, freq, tag)
    return seg


def _jieba_class():
    """rjieba's ``Jieba``, without running ``import rjieba`` when it has not run yet.

    The package's ``__init__`` builds a default segmenter at import (~0.15 s of every
    start) that the pipeline never uses: it builds its own, with the user dictionary.
    The compiled module is loaded on its own instead, under the name the package
    imports it by, so a later ``import rjieba`` (the NER model's) finds it loaded.
    """
    import sys

    if "rjieba" in sys.modules or "rjieba.rjieba" in sys.modules:
        from rjieba import rjieba as module  # noqa: PLC0415

        return module.Jieba
    try:
        import importlib.machinery
        import importlib.util

        spec = importlib.util.find_spec("rjieba")
        folder = Path(spec.origin).parent
        path = next(p for suffix in importlib.machinery.EXTENSION_SUFFIXES
                    for p in sorted(folder.glob("rjieba*" + suffix)))
        loader = importlib.machinery.ExtensionFileLoader("rjieba.rjieba", str(path))
        module_spec = importlib.util.spec_from_file_location("rjieba.rjieba", path, loader=loader)
        module = importlib.util.module_from_spec(module_spec)
        loader.exec_module(module)
        sys.modules["rjieba.rjieba"] = module
        return module.Jieba
    except Exception:  # noqa: BLE001 - any surprise: the ordinary import
        import rjieba

        return rjieba.Jieba


def read_user_dictionary(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Entries of a jieba user dictionary: ``word [freq] [tag]`` per line."""
    entries = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        entries.append((parts[0], freq, tag))
    return entries


# jieba hands runs of letters and digits that are not words to its HMM module,
# which splits them on this pattern (2026-01-22 -> 2026 - 01 - 22); rjieba keeps
# them whole, so split them the same way to get jieba's tokens.
RE_JIEBA_ALNUM = regex.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
RE_NOT_HAN_RUN = regex.compile(r"[^\u4E00-\u9FD5\s]{2,}")


def tokenize(text: str, dictionary: Path | None = None, offset: int = 0) -> tuple[Token, ...]:
    """jieba tokens (HMM on) of ``text`` with their offsets (plus ``offset``)."""
    seg = load_segmenter(dictionary)
    out: list[Token] = []
    append = out.append
    pos = offset
    # rjieba.cut and summing lengths is twice as fast as rjieba.tokenize
    for word in seg.cut(text, True):
        n = len(word)
        # (a word starting with a Han character is no such run: skip the regex for most words)
        if n > 1 and not "\u4e00" <= word[0] <= "\u9fd5" and RE_NOT_HAN_RUN.fullmatch(word):
            for piece in RE_JIEBA_ALNUM.split(word):
                if piece:
                    append(Token(pos, pos + len(piece), piece))
                    pos += len(piece)
        else:
            append(Token(pos, pos + n, word))
            pos += n
    return tuple(out)
