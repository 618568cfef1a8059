"""The real Compose CLI: project-scoped, labelled, torn down with its volumes."""

import pytest

from helpers import compose, engine

pytestmark = [pytest.mark.docker]

STACK = """
services:
  db:
    image: debian:bookworm-slim
    command: ["sleep", "300"]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "test", "-d", "/data"]
      interval: 1s
      retries: 3
  worker:
    image: debian:bookworm-slim
    command: ["sleep", "300"]
    init: true
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
"""


def test_stack_comes_up_labelled_and_goes_away(tmp_path, base_images, resource_counts):
    (tmp_path / "compose.yaml").write_text(STACK)
    before = resource_counts()
    with compose.Project(tmp_path) as proj:
        proj.up(wait=True, timeout_s=60)
        ctrs = proj.containers()
        assert {c.labels["com.docker.compose.service"] for c in ctrs} == {"db", "worker"}
        for c in ctrs:
            assert c.labels[engine.MANAGED_LABEL] == "true"
            assert c.labels[engine.KIND_LABEL] == engine.KIND_TEMP
        db = proj.containers("db")[0]
        db.reload()
        assert db.attrs["State"]["Health"]["Status"] == "healthy"
        states = {row["Service"]: row["State"] for row in proj.ps()}
        assert states == {"db": "running", "worker": "running"}
        during = resource_counts()
        assert len(during["volumes"] - before["volumes"]) == 1
        assert len(during["networks"] - before["networks"]) == 1
    assert resource_counts() == before


def test_compose_error_is_clear(tmp_path, docker_client):
    (tmp_path / "compose.yaml").write_text("services:\n  x:\n    image: [not, valid\n")
    with pytest.raises(compose.ComposeError) as err:
        compose.Project(tmp_path)
    assert "config" in str(err.value)
