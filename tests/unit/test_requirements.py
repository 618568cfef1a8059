"""Every requirement an exercise's README states is judged by a rubric item (issue 11).

Each check module's ``REQUIREMENTS`` quotes its README and names the items that judge each
requirement; rule-like sentences that are not requirements are explained in
``README_NOT_RULES``. See :mod:`helpers.checks.requirements`.
"""

from __future__ import annotations

import pytest

from helpers.checks import exercise_ids, find_module
from helpers.checks.requirements import missing_quotes, uncovered
from tests.conftest import ROOT


def _readme(mod) -> str:
    return (ROOT / "exercises" / mod.SLUG / "README.md").read_text()


@pytest.mark.parametrize("exercise", exercise_ids())
def test_every_readme_rule_has_an_item(exercise):
    mod = find_module(exercise)
    reqs = getattr(mod, "REQUIREMENTS", ())
    assert reqs, f"{mod.__name__} declares no REQUIREMENTS table"
    gaps = uncovered(_readme(mod), reqs, getattr(mod, "README_NOT_RULES", {}))
    assert not gaps, (
        f"exercises/{mod.SLUG}/README.md states rules no REQUIREMENTS entry quotes "
        f"(add the item that judges each, or explain it in README_NOT_RULES): {gaps}"
    )


@pytest.mark.parametrize("exercise", exercise_ids())
def test_requirements_quote_the_readme_and_name_real_items(exercise):
    mod = find_module(exercise)
    reqs = getattr(mod, "REQUIREMENTS", ())
    assert not missing_quotes(_readme(mod), reqs)
    keys = {i.key for i in mod.RUBRIC.items}
    for r in reqs:
        assert r.items, f"{r.says!r} names no item"
        assert set(r.items) <= keys, f"{r.says!r} names unknown items {set(r.items) - keys}"
    judged = {k for r in reqs for k in r.items}
    assert judged == keys, f"rubric items that judge no README requirement: {keys - judged}"
    not_rules = getattr(mod, "README_NOT_RULES", {})
    assert all(reason.strip() for reason in not_rules.values())
    assert not missing_quotes(
        _readme(mod), tuple(type(reqs[0])(says=k, items=("-",)) for k in not_rules)
    )


def test_recorded_fixed_files_are_the_shipped_starters():
    """``checks/data/fixed/*.json`` match ``exercises/`` (rerun ``--update`` after editing one)."""
    from helpers.checks import intact

    for f in sorted(intact.FIXED.glob("*.json")):
        recorded = intact.shipped(f.stem)
        assert recorded, f
        assert intact.compute(f.stem, list(recorded)) == recorded, (
            f"{f} is stale: run python -m helpers.checks.intact --update"
        )
        assert not intact.changed(ROOT / "exercises" / f.stem, f.stem)
