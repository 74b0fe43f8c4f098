"""Files kept between runs in the temp folder, to skip work at start-up.

Compiled rule patterns, parsed rule files, jieba's tag table, the NER model's
decoded weights and the tables' Arrow schemas are kept this way (as jieba keeps
its prefix dictionary). A cache file is only ever a speed-up: missing, broken or
another user's, the work is simply done again; a write that fails is skipped.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_file(name: str, suffix: str = ".marshal") -> Path:
    """``<temp folder>/zhextract-<name>-<uid><suffix>``: one file per user and name."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"zhextract-{name}-{uid}{suffix}"


def read_cache(path: Path) -> bytes | None:
    """The file's bytes, or None when it is missing or not this user's.

    Some caches hold compiled code (regex patterns): a file someone else could
    have written is not trusted.
    """
    try:
        if hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
            return None
        return path.read_bytes()
    except OSError:
        return None


def read_marshal(path: Path) -> Any:
    """What a marshal cache file holds, or None (missing, another user's, broken)."""
    data = read_cache(path)
    try:
        return marshal.loads(data) if data is not None else None
    except (ValueError, EOFError, TypeError):
        return None


def write_cache(path: Path, data: bytes) -> bool:
    """Write ``data`` to a temp file beside ``path``, then replace: readers never see half.

    Returns False when it could not be written.
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        return False  # no cache: the work is done again next time
    return True
