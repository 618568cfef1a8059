"""Write a notebook from a compact list of cells (used to author the course notebooks).

python tools/nb.py check notebooks/*.ipynb   # validate, no outputs
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["strip"]:
        for f in sys.argv[2:]:
            if strip(f):
                print(f"stripped {f}")
