"""The course as a learner sees it: JupyterLab in a real (headless) Chromium.

Starts JupyterLab on a temporary copy of the course, opens notebooks, runs every cell
through JupyterLab's own "Run All" command, waits for what a learner waits for (the check
report, the checklist widget), clicks an ipywidgets button and asserts on the rendered DOM.
Screenshots go to ``artifacts/ui/`` (CI keeps that folder).

The browser is Debian's ``chromium`` (``.ci/run`` installs it), driven by the Python
Playwright release whose bundled Chromium has the same major version (1.64.1 <-> 156);
``playwright install`` is never run. Skipped, with the reason, only when no chromium exists.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.ui, pytest.mark.docker, pytest.mark.slow, pytest.mark.serial]

ARTIFACTS = ROOT / "artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "artifacts", "__pycache__", "*.egg-info", ".ipynb_checkpoints", ".pytest_cache"
)


def chromium_path() -> str | None:
    for cand in (
        os.environ.get("SHIPSHAPE_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory, docker_client, base_images) -> Iterator[tuple[str, str]]:
    """JupyterLab serving a temporary copy of the course: (base url, token)."""
    tmp = tmp_path_factory.mktemp("ui")
    course = tmp / "course"
    shutil.copytree(ROOT, course, ignore=COPY_IGNORE)
    # not a git checkout: give it the untouched starters, as `helpers learner-copy` does
    shutil.copytree(course / "exercises", course / ".starters")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(course),  # the kernels import the copy's helpers, not the checkout's
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
    )
    # no news or update checks: nothing reaches the internet, no popup covers the page
    notif = tmp / "lab-settings" / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    log = (tmp / "jupyter.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={course}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, read models
            "--ServerApp.allow_root=True",  # CI runs as root
        ],
        cwd=course,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not start: {(tmp / 'jupyter.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)  # polling the server's status with a deadline
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    exe = chromium_path()
    if exe is None:
        pytest.skip(
            "no chromium: install Debian's `chromium` package (.ci/run does: apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# JupyterLab's own models, read in the page: the panel of one notebook (found by its path,
# never "the current widget": JupyterLab restores the previous test's tabs, and the current
# widget can be another notebook), is every code cell executed, and any error?
PANEL_JS = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}"""
STATE_JS = f"""(path) => {{
  const nb = ({PANEL_JS})(path);
  if (!nb || !nb.sessionContext.session) return null;
  const kernel = nb.sessionContext.session.kernel;
  const cells = nb.content.widgets.filter(c => c.model.type === 'code');
  const errors = cells.flatMap(c => c.model.outputs.toJSON()
      .filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue));
  return {{kernel: kernel ? kernel.status : 'none', cells: cells.length,
          executed: cells.filter(c => c.model.executionCount !== null).length,
          running: cells.filter(c => c.model.executionState === 'running').length, errors}};
}}"""


RUN_ALL_TRIES = 18


def open_and_run_all(page, base: str, token: str, notebook: str, timeout_s: float) -> dict:
    """Open ``notebook``, wait for an idle kernel, Run All on that panel, wait until every cell ran."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    path = f"notebooks/{notebook}"
    # ?reset: no tabs restored from the previous test's workspace
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
    page.wait_for_function(
        f"(path) => {{ const s = ({STATE_JS})(path); return s && s.kernel === 'idle'; }}",
        arg=path,
        timeout=120_000,
        polling=500,
    )
    # Activate that panel, wait until its context and session are ready, and re-issue Run All
    # until a cell is running or has run (a Run All issued too early runs nothing). Each try
    # waits 10 s for a sign: a Run All that took starts a cell within a second or two, and a
    # lost one is re-issued soon (a 60 s wait here left the browser idle for a minute).
    started = False
    for _ in range(RUN_ALL_TRIES):
        page.evaluate(
            f"""async (path) => {{
              const app = window.jupyterapp, nb = ({PANEL_JS})(path);
              await nb.context.ready; await nb.sessionContext.ready;
              app.shell.activateById(nb.id);
              app.commands.execute('notebook:run-all-cells');  // resolves only when all ran
            }}""",
            path,
        )
        try:
            page.wait_for_function(
                f"(path) => {{ const s = ({STATE_JS})(path); return s && (s.executed > 0 || "
                "s.running > 0 || s.errors.length > 0); }",
                arg=path,
                timeout=10_000,
                polling=250,
            )
            started = True
            break
        except PlaywrightTimeout:
            continue
    if not started:
        state = page.evaluate(STATE_JS, path)
        pytest.fail(f"{notebook}: Run All started nothing ({RUN_ALL_TRIES} tries): {state}")

    try:
        page.wait_for_function(
            f"(path) => {{ const s = ({STATE_JS})(path); return s && (s.errors.length > 0 || "
            "(s.executed === s.cells && s.kernel === 'idle')); }",
            arg=path,
            timeout=timeout_s * 1000,
            polling=1000,
        )
    except PlaywrightTimeout:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{Path(notebook).stem}_timeout.png"))
        state = page.evaluate(STATE_JS, path)
        pytest.fail(f"{notebook}: not finished after {timeout_s:.0f} s: {state}")
    state = page.evaluate(STATE_JS, path)
    assert not state["errors"], f"{notebook}: {state['errors']}"
    assert state["executed"] == state["cells"], state
    return state


def test_setup_notebook_runs_and_renders_the_check_report(lab, browser):
    base, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        state = open_and_run_all(page, base, token, "00_setup.ipynb", timeout_s=600)
        assert state["cells"] >= 10
        # the check report rendered as HTML: the exercise title, a score, hints for failed items
        report = page.locator(
            ".jp-OutputArea-output", has_text=re.compile(r"score\s+\d+/\d+")
        ).first
        report.scroll_into_view_if_needed()
        text = report.inner_text()
        assert "Exercise 00" in text or "00" in text, text
        assert re.search(r"score\s+\d+/\d+", text), text
        assert "Hint" in text  # the starter fails, and says why
        # the preflight table rendered too
        assert page.locator(".jp-OutputArea-output", has_text="api version").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "00_setup.png"))
        report.screenshot(path=str(ARTIFACTS / "00_setup_report.png"))
    finally:
        page.close()


def test_checklist_widget_ticks_and_switches_projects(lab, browser):
    base, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, base, token, "12_checklist.ipynb", timeout_s=600)
        header = page.locator(".widget-html", has_text=re.compile(r"\d+/\d+ items pass")).first
        header.wait_for(timeout=60_000)
        header.scroll_into_view_if_needed()

        def score() -> tuple[int, int, int]:
            m = re.search(r"(\d+)/(\d+) items pass", header.inner_text())
            assert m, header.inner_text()
            ticked = page.locator(".widget-checkbox input[type=checkbox]:checked").count()
            return int(m.group(1)), int(m.group(2)), ticked

        naive, total, naive_ticked = score()
        assert total == 13 and naive_ticked == naive
        page.screenshot(path=str(ARTIFACTS / "12_checklist_naive.png"))
        page.locator(".widget-toggle-button", has_text="production").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.widget-html')].some("
            f"e => /\\d+\\/13 items pass/.test(e.innerText) && !e.innerText.startsWith('{naive}/'))",
            timeout=30_000,
        )
        header = page.locator(".widget-html", has_text=re.compile(r"\d+/13 items pass")).first
        production, _, production_ticked = score()
        assert production > naive and production_ticked == production
        assert production >= 12  # all but, where no vulnerability database exists, the scan
        header.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "12_checklist_production.png"))
    finally:
        page.close()
