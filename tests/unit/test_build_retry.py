"""images.build builds once more when the engine lost a cached layer to a removal elsewhere.

Seen in a parallel suite run: the classic builder matched a cached step, another worker's
cache eviction deleted that image, and the next step failed with "layer does not exist".
Pure logic: ``_build_once`` is replaced, no engine is reached.
"""

from __future__ import annotations

import pytest

from helpers import images
from helpers.buildresult import BuildError

RACE = (
    "Build failed at step 'COPY app.py .': failed to get destination image \"sha256:e5f5\": "
    "failed to get layer for image sha256:e5f5: layer does not exist"
)


def _fake(outcomes, calls):
    def once(path, tag, **kw):
        calls.append(kw)
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    return once


def test_a_lost_cached_layer_is_built_again_once(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(images, "_build_once", _fake([BuildError(RACE), "result"], calls))
    seen = []
    assert images.build("ctx", "t", timeout_s=100, on_event=seen.append) == "result"
    assert len(calls) == 2
    assert calls[1]["timeout_s"] <= 100  # the same deadline, not a fresh one
    assert "removed elsewhere meanwhile" in seen[0].text


def test_the_learners_own_build_error_is_not_retried(monkeypatch):
    calls: list[dict] = []
    err = BuildError("Build failed at step 'RUN pip install nope': exit code 1")
    monkeypatch.setattr(images, "_build_once", _fake([err, "never"], calls))
    with pytest.raises(BuildError, match="nope"):
        images.build("ctx", "t", timeout_s=100, on_event=None)
    assert len(calls) == 1


def test_a_second_race_is_reported_not_retried_forever(monkeypatch):
    calls: list[dict] = []
    outcomes = [BuildError(RACE), BuildError(RACE), "never"]
    monkeypatch.setattr(images, "_build_once", _fake(outcomes, calls))
    with pytest.raises(BuildError, match="layer does not exist"):
        images.build("ctx", "t", timeout_s=100, on_event=None)
    assert len(calls) == 2
