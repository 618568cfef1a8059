"""images.build builds once more when the engine lost a cached layer to a removal elsewhere.

Seen in a parallel suite run: the classic builder matched a cached step, another worker's
cache eviction deleted that image, and the next step failed with "layer does not exist".
Pure logic: the decorator wraps a fake build, no engine is reached.
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


def _build(outcomes, calls):
    return images._again_after_engine_race(_fake(outcomes, calls))


def test_build_is_the_retrying_build_with_its_documented_signature():
    import inspect

    assert "timeout_s" in inspect.signature(images.build).parameters
    assert "built once more" in (images.build.__doc__ or "")
    assert images.build.__wrapped__.__name__ == "build"


def test_a_lost_cached_layer_is_built_again_once():
    calls: list[dict] = []
    seen = []
    build = _build([BuildError(RACE), "result"], calls)
    assert build("ctx", "t", timeout_s=100, on_event=seen.append) == "result"
    assert len(calls) == 2
    assert calls[1]["timeout_s"] <= 100  # the same deadline, not a fresh one
    assert "removed elsewhere meanwhile" in seen[0].text


def test_a_cached_step_image_removed_before_its_use_is_built_again():
    """Seen with 4 workers: a --no-cache build elsewhere made the newest 'WORKDIR /app' image,
    the builder matched it, and that build's cleanup removed it before the step used it."""
    calls: list[dict] = []
    err = BuildError(
        "Build failed at step 'WORKDIR /app': unable to find image "
        '"sha256:b62f0c97d2ef0699fd15153d6fb15866c5a773fdca662c3fb2612a2f9035d9a8"'
    )
    assert _build([err, "result"], calls)("ctx", "t", timeout_s=100, on_event=None) == "result"
    assert len(calls) == 2


def test_a_cached_parent_removed_before_the_commit_is_built_again():
    """Seen in session 8: the step ran on a cached parent that a removal elsewhere (a cache
    eviction) took away before the engine committed the step's image."""
    calls: list[dict] = []
    err = BuildError(
        "Build failed at step 'COPY greet.py .': failed to export image: failed to set parent "
        "sha256:cd7f3374279455690ec838d4d31241fd206230d0046cd920b8d54935c1744480: unknown "
        "parent image ID sha256:cd7f3374279455690ec838d4d31241fd206230d0046cd920b8d54935c1744480"
    )
    assert _build([err, "result"], calls)("ctx", "t", timeout_s=100, on_event=None) == "result"
    assert len(calls) == 2


def test_the_learners_own_build_error_is_not_retried():
    calls: list[dict] = []
    err = BuildError("Build failed at step 'RUN pip install nope': exit code 1")
    with pytest.raises(BuildError, match="nope"):
        _build([err, "never"], calls)("ctx", "t", timeout_s=100, on_event=None)
    assert len(calls) == 1


def test_a_failed_run_step_that_quotes_the_words_is_not_retried():
    calls: list[dict] = []
    err = BuildError(
        "Build failed at step 'RUN echo layer does not exist && false': The command "
        "'/bin/sh -c echo layer does not exist && false' returned a non-zero code: 1"
    )
    with pytest.raises(BuildError):
        _build([err, "never"], calls)("ctx", "t", timeout_s=100, on_event=None)
    assert len(calls) == 1


def test_a_second_race_is_reported_not_retried_forever():
    calls: list[dict] = []
    outcomes = [BuildError(RACE), BuildError(RACE), "never"]
    with pytest.raises(BuildError, match="layer does not exist"):
        _build(outcomes, calls)("ctx", "t", timeout_s=100, on_event=None)
    assert len(calls) == 2
