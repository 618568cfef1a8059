"""The package's shape: no import cycle (run-time imports, lazy ones included) and small modules."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PKG = ROOT / "helpers"
MAX_LINES = 400
#: none today: a module that grows past the limit is split (audit and gate were, once the
#: concurrent edits to them had landed)
TOO_BIG_FOR_NOW: set[str] = set()


def modules() -> dict[str, ast.Module]:
    out = {}
    for p in PKG.rglob("*.py"):
        if "data" in p.relative_to(PKG).parts:
            continue
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):  # type-only imports never run
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        out[name] = tree
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, tree in mods.items():
        is_pkg = (ROOT / name.replace(".", "/") / "__init__.py").is_file()
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join([*here[: len(here) - node.level + 1], node.module or ""]).strip(".")
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    graph[name].add(target if target in mods else base)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in mods}
        graph[name] = {t for t in graph[name] if t in mods and t != name}
    return graph


def test_no_import_cycle():
    graph = import_graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if t.startswith(m + "."):  # a package importing its own submodules
                continue
            if state.get(t) == 1 and not m.startswith(t + "."):
                raise AssertionError(" -> ".join([*path[path.index(t) :], t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_module_over_400_lines():
    big = {
        str(p.relative_to(ROOT)): n
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert set(big) <= TOO_BIG_FOR_NOW, big


#: the only modules that may show things: the package's entry points and the notebook display
FRONT_ENDS = {"helpers", "helpers.__main__", "helpers.cli", "helpers.display"}


def test_the_model_and_its_renderer_import_nothing_else():
    graph = import_graph()
    assert graph["helpers.findings"] == set()
    assert graph["helpers.auditmodel"] == graph["helpers.gatemodel"] == {"helpers.findings"}
    assert graph["helpers.render"] == {"helpers.findings"}


def test_no_module_below_the_front_ends_imports_a_renderer():
    graph = import_graph()
    users = {m for m, targets in graph.items() if targets & {"helpers.render", "helpers.display"}}
    assert users <= FRONT_ENDS, users - FRONT_ENDS
