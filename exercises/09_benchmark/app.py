"""The app every variant builds: report the size of the files in a folder, humanly."""

import sys
from pathlib import Path

import humanize


def folder_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    print(f"{root}: {humanize.naturalsize(folder_size(root))}")
