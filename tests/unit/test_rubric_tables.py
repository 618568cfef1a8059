"""One source for each rubric: the README's table lists exactly the rubric's items and points."""

from __future__ import annotations

import re

import pytest

from helpers import audit
from helpers.checks import exercise_ids, find_module, materialized
from tests.conftest import ROOT


def readme_table(text: str) -> list[tuple[str, float]]:
    """(title, points) rows of the table whose header is ``| item | points |...``."""
    rows: list[tuple[str, float]] = []
    in_table = False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if not in_table:
            if len(cells) >= 2 and cells[0] in ("item", "rubric item") and cells[1] == "points":
                in_table = True
            continue
        if not cells:
            break
        if set(cells[0]) <= {"-", ":"}:
            continue
        rows.append((normalise(cells[0]), float(cells[1])))
    return rows


def normalise(title: str) -> str:
    """Backticks dropped; a trailing ``(how it is measured)`` note is the README's own."""
    title = title.replace("`", "")
    return re.sub(r"\s*\([^()]*\)$", "", title).strip() if "(" in title else title


@pytest.mark.parametrize("exercise", exercise_ids())
def test_readme_table_is_the_rubric(exercise):
    mod = find_module(exercise)
    text = (ROOT / "exercises" / mod.SLUG / "README.md").read_text()
    table = readme_table(text)
    assert table, f"exercises/{mod.SLUG}/README.md has no `| item | points |` rubric table"
    rubric = [(normalise(i.title), float(i.points)) for i in mod.RUBRIC.items]
    assert table == rubric
    assert sum(p for _, p in table) == mod.RUBRIC.max_score


def test_rubric_keys_are_unique_and_titles_distinct():
    for exercise in exercise_ids():
        items = find_module(exercise).RUBRIC.items
        assert len({i.key for i in items}) == len(items)
        assert len({i.title for i in items}) == len(items)


def test_capstone_checklist_items_are_the_audits():
    """Exercise 07 scores one point per checklist line the audit returns, in its order."""
    from helpers.checks import ex07_production_pipeline as ex07

    with materialized(ROOT / "solutions" / ex07.SLUG) as folder:
        got = [(it.key, it.title) for it in audit.audit_static(folder).items]
    assert got == list(ex07.CHECKLIST)
