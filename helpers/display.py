"""Rendering only: HTML for reports and tables, a build progress widget, charts.

Nothing here measures or decides; modules below ``checks`` never import this one.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from . import render
from .findings import human_bytes

if TYPE_CHECKING:
    from .findings import Findings, Report
    from .images import BuildEvent

GREEN, RED, AMBER = render.GREEN, render.RED, render.AMBER
__all__ = [
    "BuildProgress",
    "findings_html",
    "human_bytes",
    "in_notebook",
    "line_printer",
    "report_html",
]


def _esc(x: Any) -> str:
    return html.escape(str(x))


def report_html(rep: Report) -> str:
    return render.report_html(rep)


def findings_html(fs: Findings) -> str:
    """An audit, a gate or the doctor as HTML (the same as their ``_repr_html_``)."""
    return render.findings_html(fs)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (so widgets can render)."""
    try:
        from IPython import get_ipython

        ip = get_ipython()
        return ip is not None and "IPKernelApp" in ip.config
    except Exception:
        return False


class BuildProgress:
    """A build progress bar plus a collapsible log, for ``images.build(on_event=...)``.

    In a terminal it prints step lines instead.
    """

    def __init__(self, title: str = "build"):
        self.title = title
        self.widget = None
        if in_notebook():
            import ipywidgets as w
            from IPython.display import display

            self.bar = w.IntProgress(
                value=0,
                min=0,
                max=1,
                description=title[:20],
                bar_style="info",
                layout=w.Layout(width="60%"),
            )
            self.step = w.HTML("")
            self.log = w.Textarea("", layout=w.Layout(width="100%", height="160px"), disabled=True)
            self.acc = w.Accordion(children=[self.log], titles=("build log",))
            self.acc.selected_index = None
            self.widget = w.VBox([w.HBox([self.bar, self.step]), self.acc])
            display(self.widget)

    def __call__(self, ev: BuildEvent) -> None:
        if self.widget is None:
            if ev.step is not None or ev.error:
                import sys

                print(ev.text.rstrip(), file=sys.stderr)
            return
        self.log.value = (self.log.value + ev.text)[-20000:]
        if ev.step is not None and ev.total:
            self.bar.max, self.bar.value = ev.total, ev.step
            self.step.value = f"<code>{_esc(ev.text.strip()[:90])}</code>"
        if ev.error:
            self.bar.bar_style = "danger"
            self.acc.selected_index = 0

    def done(self, ok: bool = True) -> None:
        if self.widget is not None:
            self.bar.bar_style = "success" if ok else "danger"
            if ok:
                self.bar.value = self.bar.max


def line_printer(prefix: str = "") -> Any:
    """A plain ``on_line`` callback for long jobs (replica builds) in any front end."""
    import sys

    def say(line: str) -> None:
        print(f"{prefix}{line}", file=sys.stderr, flush=True)

    return say
