"""Make a messy copy of this project, the way a real project folder looks after a few weeks.

    python make_clutter.py /tmp/messy-etl        # copy this folder there and add the mess
    docker build -t messy-etl /tmp/messy-etl     # then look at how much context is sent

It adds, in the COPY (never in this folder, so nothing large lands in git):
  data/          ~32 MB of CSV extracts and a binary export (local experiments)
  .git/          the project's history (a pack file of a few MB)
  __pycache__/   bytecode beside every module, and .pytest_cache/
  .env           a database password

The checker (`check("03")`) makes the same mess with the same generator, then builds.
"""

import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

SECRET_NAME = "WAREHOUSE_PASSWORD"
CLUTTER_KINDS = ("data", "git", "cache", "secret")


def secret_value(seed=0):
    return "pw-" + random.Random(f"secret-{seed}").randbytes(12).hex()


def _is_clutter(rel):
    parts = rel.split("/")
    return (
        parts[0] in ("data", ".git")
        or any(p in ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache") for p in parts)
        or parts[-1].endswith((".pyc", ".pyo"))
        or parts[-1] == ".env"
        or parts[-1].startswith(".env.")
    )


def add_clutter(folder, data_mb=32, seed=0):
    root = Path(folder)
    rng = random.Random(seed)
    written = {k: 0 for k in CLUTTER_KINDS}

    def put(rel, data, kind):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written[kind] += len(data)

    py_files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if not _is_clutter(p.relative_to(root).as_posix())
    )
    total = data_mb * 1024 * 1024
    header = b"event_id,ts,user_id,amount_eur,country\n"
    rows = b"".join(
        f"{i},2024-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,u{rng.randrange(10**6)},"
        f"{rng.randrange(1, 50000) / 100:.2f},{rng.choice(['DE', 'FR', 'NL', 'PL'])}\n".encode()
        for i in range(4000)
    )
    csv_share = total * 3 // 4 // 3
    for month in ("2024-03", "2024-04", "2024-05"):
        body = header + rows * (csv_share // len(rows) + 1)
        put(f"data/raw/events_{month}.csv", body[:csv_share], "data")
    put("data/processed/events.parquet", rng.randbytes(total - 3 * csv_share), "data")
    put(".git/HEAD", b"ref: refs/heads/main\n", "git")
    put(".git/config", b"[core]\n\trepositoryformatversion = 0\n\tbare = false\n", "git")
    put(".git/refs/heads/main", rng.randbytes(20).hex().encode() + b"\n", "git")
    pack = rng.randbytes(20).hex()
    put(f".git/objects/pack/pack-{pack}.pack", rng.randbytes(max(1 << 20, total // 8)), "git")
    put(f".git/objects/pack/pack-{pack}.idx", rng.randbytes(4096), "git")
    for rel in py_files:
        d, name = os.path.split(rel)
        pyc = f"{d + '/' if d else ''}__pycache__/{name[:-3]}.cpython-311.pyc"
        put(pyc, b"\xa7\r\r\n" + rng.randbytes(2000), "cache")
    put(".pytest_cache/v/cache/lastfailed", b"{}\n", "cache")
    put(".pytest_cache/README.md", b"# pytest cache directory #\n", "cache")
    put(
        ".env",
        f"{SECRET_NAME}={secret_value(seed)}\nWAREHOUSE_HOST=warehouse.internal\n".encode(),
        "secret",
    )
    return written


def main(argv):
    here = Path(__file__).resolve().parent
    dest = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="messy-etl-"))
    if dest.resolve() == here:
        sys.exit("Give a folder OUTSIDE this exercise: the mess must never land in git.")
    shutil.copytree(here, dest, dirs_exist_ok=True)
    written = add_clutter(dest)
    for kind, n in written.items():
        print(f"{kind:>7}: {n / 1e6:6.1f} MB")
    print(f"messy copy ready: {dest}")


if __name__ == "__main__":
    main(sys.argv[1:])
