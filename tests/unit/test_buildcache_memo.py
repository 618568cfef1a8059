"""The layer cache's history memo: an image's history is asked of the engine once per host.

Eviction sums the bytes of every cached build after each new one; each check is often its own
process (the grader, the CLI), so the memo lives on disk. Pure logic: no engine is reached.
"""

from __future__ import annotations

import json

import pytest

from helpers import buildcache


@pytest.fixture
def memo(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPSHAPE_CACHE", str(tmp_path))
    monkeypatch.setattr(buildcache, "_HISTORY", {})
    monkeypatch.setattr(buildcache, "_HISTORY_LOADED", False)
    return tmp_path / "image-history.json"


def test_history_comes_from_the_disk_memo_without_asking_the_engine(memo, monkeypatch):
    memo.write_text(
        json.dumps({"sha256:top": [["sha256:top", 10, False], ["sha256:base", 99, True]]})
    )

    def no_engine():
        raise AssertionError("the engine was asked for a remembered history")

    monkeypatch.setattr(buildcache.engine, "client", no_engine)
    assert buildcache._history("sha256:top") == [
        ("sha256:top", 10, False),
        ("sha256:base", 99, True),
    ]
    assert buildcache._own_bytes("sha256:top", set()) == 10  # the base's bytes are not the cache's


def test_a_new_history_is_written_back_atomically_and_bounded(memo, monkeypatch):
    monkeypatch.setattr(buildcache, "HISTORY_MEMO_MAX", 2)
    for i in range(3):
        buildcache._HISTORY[f"sha256:{i}"] = [(f"sha256:{i}", i, False)]
    buildcache._save_history()
    assert sorted(json.loads(memo.read_text())) == ["sha256:1", "sha256:2"]  # newest kept
    assert not list(memo.parent.glob(".*.tmp"))


def test_a_damaged_memo_is_ignored(memo, monkeypatch):
    memo.write_text("{not json")
    buildcache._load_history()
    assert buildcache._HISTORY == {}
