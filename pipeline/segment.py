"""Clean text -> sentences and tokens, each with offsets into the clean text.

Tokens come from jieba's dictionary and semantics with ``rules/dictionary.txt``
as the user dictionary. The engine is rjieba (jieba-rs), which gives the same
tokens as ``jieba.tokenize`` about 20x faster; ``tests/test_segment.py`` checks
that the two agree on the corpus. ``tokenize`` is the one place to change it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from itertools import accumulate, repeat
from pathlib import Path

import regex

from .records import Sentence, Token

# A sentence ends after 。！？ (not ；, which only separates clauses) with any closing quotes/brackets, or
# at a paragraph break. Spaces and newlines after the end belong to no sentence.
# (the standard ``re`` module: the same matches as ``regex`` here, a third faster)
RE_SENTENCE = re.compile(r"[^\n。！？!?]*(?:[。！？!?]+[”’」』）)\"']*|\n|$)")


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Split clean text into sentences, with leading/trailing white space trimmed off."""
    out: list[Sentence] = []
    append = out.append
    for m in RE_SENTENCE.finditer(text):
        piece = m.group()
        body = piece.strip()  # str.strip() removes exactly the characters str.isspace() is true for
        if body:
            start = m.start() + len(piece) - len(piece.lstrip())
            append(Sentence(start, start + len(body), body))
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

    loaded = sys.modules.get("rjieba.rjieba")
    if loaded is not None:  # by an earlier call (the NER model's segmenter is a second one)
        return loaded.Jieba
    if "rjieba" in sys.modules:
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
    # rjieba.cut and summing lengths is twice as fast as rjieba.tokenize
    words = seg.cut(text, True)
    starts = list(accumulate(map(len, words), initial=offset))
    # Only a word that is a run of two or more characters, none Han or space, may be
    # split; such a word lies inside such a run of the text: look only there.
    split_at = []
    for run in RE_NOT_HAN_RUN.finditer(text):
        a, b = run.span()
        k = bisect_left(starts, a + offset)
        while k < len(words) and starts[k + 1] <= b + offset:
            word = words[k]
            if len(word) > 1 and RE_NOT_HAN_RUN.fullmatch(word):
                pieces = [piece for piece in RE_JIEBA_ALNUM.split(word) if piece]
                if len(pieces) > 1:
                    split_at.append((k, pieces))
            k += 1
    if not split_at:
        # tuples made in C: a document has ~400k tokens per MB
        return tuple(map(_tuple_new, repeat(Token), zip(starts, starts[1:], words)))
    out: list[Token] = []
    last = 0
    for k, pieces in split_at:
        out.extend(map(_tuple_new, repeat(Token), zip(starts[last:k], starts[last + 1:k + 1], words[last:k])))
        pos = starts[k]
        for piece in pieces:
            out.append(Token(pos, pos + len(piece), piece))
            pos += len(piece)
        last = k + 1
    out.extend(map(_tuple_new, repeat(Token), zip(starts[last:-1], starts[last + 1:], words[last:])))
    return tuple(out)


_tuple_new = tuple.__new__
