"""The caches kept in the temp folder between runs (pipeline.tempcache)."""

import marshal
import os

import pytest

from pipeline.tempcache import cache_file, read_cache, read_marshal, write_cache


def test_round_trip_and_missing(tmp_path):
    path = tmp_path / "c.marshal"
    assert read_cache(path) is None and read_marshal(path) is None
    assert write_cache(path, marshal.dumps({"a": (1, "二")}))
    assert read_marshal(path) == {"a": (1, "二")}
    assert [p.name for p in tmp_path.iterdir()] == ["c.marshal"]  # no temp file left


def test_broken_file_reads_as_none(tmp_path):
    path = tmp_path / "c.marshal"
    path.write_bytes(b"\xff\x00 not marshal")
    assert read_marshal(path) is None


def test_a_write_that_cannot_happen_is_skipped(tmp_path):
    assert write_cache(tmp_path / "no-such-folder" / "c", b"x") is False


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to give a file away")
def test_another_users_file_is_not_trusted(tmp_path):
    path = tmp_path / "c.marshal"
    write_cache(path, marshal.dumps([1]))
    os.chown(path, 12345, -1)
    assert read_cache(path) is None


def test_cache_file_is_per_user_in_the_temp_folder():
    path = cache_file("patterns-x")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    assert path.name == f"zhextract-patterns-x-{uid}.marshal"
