"""The helpers core against the real engine: builds, waits, OOM, stop timing, bad input."""

from __future__ import annotations

import time
import uuid

import pytest

from helpers import containers, engine, images, waiting

pytestmark = [pytest.mark.docker]


@pytest.fixture
def built(docker_client, base_images):
    """Build helper that removes every image it made."""
    made: list[str] = []

    def build(ctx, tag, **kw):
        made.append(tag)
        return images.build(ctx, tag, on_event=None, **kw)

    yield build
    for t in made:
        images.remove(t)


@pytest.mark.slow
def test_pip_install_from_pypi_inside_a_slim_build(tmp_context, built):
    """FROM python:3.11-slim + pip install --no-cache-dir of a real PyPI package, then run it."""
    tmp_context.write(
        "Dockerfile",
        "FROM python:3.11-slim\n"
        "RUN pip install --no-cache-dir tabulate==0.9.0\n"
        'CMD ["python", "-c", "import tabulate; print(tabulate.tabulate([[1, 2]]))"]\n',
    )
    res = built(tmp_context, "shipshape-test/pip:1", timeout_s=300)
    assert res.image_id.startswith("sha256:")
    with containers.running("shipshape-test/pip:1") as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode()
    assert info.exit_code == 0, out
    assert "1  2" in out


def test_layers_and_efficiency_see_waste_from_a_later_delete(tmp_context, built):
    tmp_context.write(
        "Dockerfile",
        "FROM debian:bookworm-slim\nRUN head -c 3000000 /dev/urandom > /big.bin\nRUN rm /big.bin\n",
    )
    built(tmp_context, "shipshape-test/waste:1")
    rows = {r["created_by"]: r for r in images.layers("shipshape-test/waste:1")}
    write = next(r for k, r in rows.items() if "head -c" in k)
    delete = next(r for k, r in rows.items() if "rm /big.bin" in k)
    assert write["size_bytes"] >= 3_000_000
    assert delete["size_bytes"] == 0  # the rm layer adds only a whiteout
    eff = images.efficiency("shipshape-test/waste:1")
    assert eff.wasted_bytes >= 3_000_000
    assert eff.top_waste[0][0] == "big.bin" and eff.top_waste[0][3] is True  # deleted at the end
    assert 0 < eff.score < 1


def test_multi_stage_build_leaves_no_stage_images(tmp_context, docker_client, base_images):
    tmp_context.write(
        "Dockerfile",
        "FROM debian:bookworm-slim AS builder\nRUN echo built > /artifact\n"
        "FROM debian:bookworm-slim\nCOPY --from=builder /artifact /artifact\n",
    )
    res = images.build(tmp_context, "shipshape-test/stages:1", on_event=None)
    assert len(res.stage_images) == 1, res.stage_images
    stage = docker_client.images.get(res.stage_images[0])
    assert stage.labels.get(engine.KIND_LABEL) != engine.KIND_TEMP  # inherited, not ours
    assert res.stage_images[0] in engine.leftovers()["images"]
    images.remove("shipshape-test/stages:1")
    assert not docker_client.images.list(name=res.stage_images[0].split(":")[0])


def test_identical_multi_stage_rebuild_still_removes_its_stage(
    tmp_context, docker_client, base_images
):
    """Built twice (the benchmark's reps): the second build's stage is already tagged, and
    removing the result by its build record (no image list) still removes that tag."""
    tmp_context.write(
        "Dockerfile",
        "FROM debian:bookworm-slim AS builder\nRUN echo twice > /artifact\n"
        "FROM debian:bookworm-slim\nCOPY --from=builder /artifact /artifact\n",
    )
    first = images.build(tmp_context, "shipshape-test/stages-twice:1", on_event=None)
    again = images.build(tmp_context, "shipshape-test/stages-twice:1", on_event=None)
    assert again.image_id == first.image_id
    assert again.stage_images == first.stage_images and len(again.stage_images) == 1
    docker_client.images.remove("shipshape-test/stages-twice:1")
    images.remove_stage_images(again.image_id)
    assert not docker_client.images.list(name=again.stage_images[0].split(":")[0])


def test_remove_keeps_another_tag_of_the_same_image(tmp_context, docker_client, base_images):
    tmp_context.write("Dockerfile", "FROM debian:bookworm-slim\nLABEL twin=yes\n")
    a = images.build(tmp_context, "shipshape-test/twin:a", on_event=None)
    b = images.build(tmp_context, "shipshape-test/twin:b", on_event=None)
    assert a.image_id == b.image_id  # identical content, one image, two tags
    images.remove("shipshape-test/twin:a")
    assert docker_client.images.get("shipshape-test/twin:b").id == b.image_id
    images.remove("shipshape-test/twin:b")
    assert not docker_client.images.list(name="shipshape-test/twin")


def test_broken_dockerfile_is_a_clear_error_and_leaves_nothing(
    tmp_context, docker_client, resource_counts
):
    before = resource_counts()
    tmp_context.write("Dockerfile", "FROM debian:bookworm-slim\nRUNN echo typo\n")
    with pytest.raises(images.BuildError) as err:
        images.build(tmp_context, "shipshape-test/broken:1", on_event=None, timeout_s=60)
    msg = str(err.value)
    assert "unknown instruction" in msg.lower() and "Hint:" in msg
    assert resource_counts() == before


def test_failing_run_step_names_the_step(tmp_context, docker_client, base_images, resource_counts):
    before = resource_counts()
    mark = uuid.uuid4().hex  # names this build's own step container among the engine's
    tmp_context.write(
        "Dockerfile", f"FROM debian:bookworm-slim\nRUN echo about to fail {mark} && exit 3\n"
    )
    with pytest.raises(images.BuildError) as err:
        images.build(tmp_context, "shipshape-test/fails:1", on_event=None, timeout_s=60)
    assert "exit 3" in str(err.value) and "returned a non-zero code: 3" in str(err.value)
    assert "about to fail" in err.value.log
    assert resource_counts() == before
    # the failed step's container is gone too (other tests' containers may exist meanwhile)
    steps = [c for c in docker_client.api.containers(all=True) if mark in (c.get("Command") or "")]
    assert not steps, steps


def test_missing_context_and_missing_dockerfile(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        images.build(tmp_path / "absent", "x:1", on_event=None)
    with pytest.raises(FileNotFoundError, match="No Dockerfile"):
        images.build(tmp_path, "x:1", on_event=None)


@pytest.mark.slow
def test_hanging_build_is_cancelled_at_its_deadline(
    tmp_context, docker_client, base_images, resource_counts
):
    before = resource_counts()
    tmp_context.write("Dockerfile", "FROM debian:bookworm-slim\nRUN echo start && sleep 600\n")
    t0 = time.monotonic()
    with pytest.raises(images.BuildError) as err:
        images.build(tmp_context, "shipshape-test/hang:1", on_event=None, timeout_s=8)
    took = time.monotonic() - t0
    assert took < 60, f"the deadline was not enforced ({took:.0f}s)"
    assert "sleep 600" in str(err.value)

    # the engine cancels the step once the client hangs up: its container goes away
    def step_containers() -> list:
        # the low-level list: the high-level one inspects each container, and another
        # worker's container removed in between would raise NotFound
        return [c for c in docker_client.api.containers(all=True) if "sleep 600" in c["Command"]]

    gone = waiting.holds(lambda: not step_containers(), timeout_s=30, interval_s=0.5)
    assert gone, "the cancelled build left its step container behind"
    assert resource_counts() == before


def test_container_that_never_becomes_healthy(docker_client, base_images, resource_counts):
    before = resource_counts()
    t0 = time.monotonic()
    with (
        pytest.raises(containers.NeverHealthy) as err,
        containers.running(
            "debian:bookworm-slim",
            ["sleep", "300"],
            healthcheck={
                "test": ["CMD", "false"],
                "interval": 200_000_000,
                "retries": 100,
                "start_period": 0,
            },
        ) as ctr,
    ):
        containers.wait_until_healthy(ctr, timeout_s=3)
    assert time.monotonic() - t0 < 20
    ev = err.value.evidence
    assert ev["health_log"] and ev["health_log"][-1]["ExitCode"] == 1
    assert "still 'starting'" in str(err.value) or "still 'unhealthy'" in str(err.value)
    assert resource_counts() == before


def test_container_that_exits_while_waiting_fails_fast(docker_client, base_images):
    t0 = time.monotonic()
    with (
        pytest.raises(containers.ContainerExited) as err,
        containers.running(
            "debian:bookworm-slim",
            ["sh", "-c", "echo crashing; exit 4"],
            healthcheck={"test": ["CMD", "true"], "interval": 1_000_000_000},
        ) as ctr,
    ):
        containers.wait_until_healthy(ctr, timeout_s=60)
    assert time.monotonic() - t0 < 20, "did not fail fast on exit"
    assert "code 4" in str(err.value) and "crashing" in str(err.value)


def test_healthy_timeline(docker_client, base_images):
    with containers.running(
        "debian:bookworm-slim",
        ["sleep", "60"],
        healthcheck={"test": ["CMD", "true"], "interval": 300_000_000, "start_period": 0},
    ) as ctr:
        tl = containers.wait_until_healthy(ctr, timeout_s=30)
    assert tl.final == "healthy"
    assert tl.changes[0][1] in ("starting", "healthy")


@pytest.mark.slow
def test_oom_kill_is_confirmed_by_three_signals(docker_client, base_images):
    hog = "b = []\nwhile True:\n    b.append(bytearray(10 * 1024 * 1024))\n"
    with containers.running(
        "python:3.11-slim", ["python", "-c", hog], mem_limit="64m", memswap_limit="64m"
    ) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
    assert info.oom_killed and info.exit_code == 137 and info.memory_limit == 64 * 1024 * 1024
    assert info.oom_confirmed


def test_stop_timing_pid1_without_handler_is_killed(docker_client, base_images):
    with containers.running("debian:bookworm-slim", ["sleep", "300"]) as ctr:
        res = containers.stop_timed(ctr, grace_s=2)
    # sleep as PID 1 has no SIGTERM handler and the kernel ignores the signal for PID 1
    assert res.exit_code == 137 and res.killed
    assert 1.5 <= res.seconds < 15


def test_stop_timing_with_init_is_quick(docker_client, base_images):
    with containers.running("debian:bookworm-slim", ["sleep", "300"], init=True) as ctr:
        # stop once the init has started its child (and so forwards signals): on a busy engine
        # a stop sent at once can reach the init before it has set up forwarding
        waiting.until(
            lambda: any("sleep" in " ".join(p) for p in ctr.top().get("Processes") or []),
            timeout_s=30,
            what="sleep running under the init",
        )
        res = containers.stop_timed(ctr, grace_s=10)
    assert res.exit_code == 143 and not res.killed
    assert res.seconds < 5


def test_stats_sampling(docker_client, base_images):
    with containers.running(
        "debian:bookworm-slim", ["sh", "-c", "while :; do :; done"], nano_cpus=500_000_000
    ) as ctr:
        rows = containers.sample_stats(ctr, duration_s=4)
    assert len(rows) >= 2
    assert max(r["cpu_percent"] for r in rows[1:]) <= 80  # capped near 50% of one CPU


def test_clean_never_touches_a_learners_image(docker_client, tmp_context):
    """A learner image inherits the replica labels of its base; clean() must still keep it."""
    tmp_context.write("Dockerfile", "FROM debian:bookworm-slim\nLABEL made.by=learner\n")
    # built the way a learner would, with the docker CLI: no helper labels of its own
    import subprocess

    subprocess.run(
        ["docker", "build", "-q", "-t", "learner/own-image:1", str(tmp_context)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    learner_ctr = docker_client.containers.create("learner/own-image:1", ["true"])
    try:
        assert learner_ctr.labels.get(engine.MANAGED_LABEL) == "true"  # inherited from the base
        engine.clean(run=engine.RUN_ID)  # never every run: the engine may be shared
        assert docker_client.images.get("learner/own-image:1")
        assert docker_client.containers.get(learner_ctr.id)
        removable = engine.removable_images(include_base=True)
        tags = {t for row in removable for t in row.get("RepoTags") or []}
        assert "learner/own-image:1" not in tags
    finally:
        learner_ctr.remove(force=True)
        docker_client.images.remove("learner/own-image:1")


@pytest.mark.slow
def test_bundle_save_and_load_round_trip(tmp_path, base_images):
    from helpers import baseimages

    info = baseimages.bundle_save(tmp_path / "b.tar", names=["debian:bookworm-slim"])
    assert info["images"] == ["debian:bookworm-slim"] and info["bytes"] > 50_000_000
    assert baseimages.bundle_load(tmp_path / "b.tar") == ["debian:bookworm-slim"]
    with pytest.raises(FileNotFoundError, match="No bundle"):
        baseimages.bundle_load(tmp_path / "absent.tar")
