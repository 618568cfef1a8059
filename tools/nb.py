"""Author and keep the course notebooks clean.

python tools/nb.py strip notebooks/*.ipynb   # remove outputs, counts, widget state in place
python tools/nb.py check notebooks/*.ipynb   # validate; exit 1 if any carries outputs
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def write(path: str | Path, cells: list[tuple[str, str]]) -> None:
    """cells: ("md" | "code", source). Writes a clean notebook (no outputs, stable ids)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    stem = Path(path).stem.split("_")[0]
    for i, (kind, src) in enumerate(cells):
        src = src.strip("\n")
        cell = (
            nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        )
        cell.id = f"c{stem}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    Path(path).write_text(nbformat.writes(nb) + "\n")


def strip(path: str | Path) -> bool:
    """Remove outputs, execution counts and widget state in place. True if it changed."""
    p = Path(path)
    nb = nbformat.read(p, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    after = nbformat.writes(nb)
    if after != before:
        p.write_text(after + "\n")
    return after != before


def problems(path: str | Path) -> list[str]:
    """Why a notebook is not clean: schema errors, outputs, counts, widget state."""
    nb = nbformat.read(Path(path), as_version=4)
    out = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        out.append(f"invalid: {str(exc).splitlines()[0]}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            out.append(f"cell {i} carries outputs")
    if "widgets" in nb.metadata:
        out.append("widget state is committed")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["strip"]:
        for f in argv[1:]:
            if strip(f):
                print(f"stripped {f}")
        return 0
    if argv[:1] == ["check"]:
        bad = {f: problems(f) for f in argv[1:]}
        for f, why in bad.items():
            for w in why:
                print(f"{f}: {w}")
        return 1 if any(bad.values()) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
