"""What an exercise's README asks for, mapped to the rubric items that judge it.

Each check module declares ``REQUIREMENTS``: one :class:`Requirement` per thing its README
asks of the learner, quoting the README (``says``) and naming the rubric item keys that judge
it. A README sentence that reads like a rule (it says *must*, *only*, *both*, *keep*,
*same*, *never*, *at most*, ...) but is advice or a description of the check goes in the
module's ``README_NOT_RULES`` with the reason. ``tests/unit/test_requirements.py`` fails
when a rule-like sentence is in neither, when a quote is not in the README, or when an item
key does not exist: a README requirement without an item cannot go unnoticed.

Example:
    >>> text = "Keep the app unchanged. The check is slow. Both files must stay."
    >>> [s for s in rule_sentences(text)]
    ['keep the app unchanged.', 'both files must stay.']
    >>> uncovered(text, (Requirement("keep the app unchanged", ("app",)),), {})
    ['both files must stay.']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Words that make a README sentence a rule the check has to judge (or explain why not).
RULE_WORDS = re.compile(
    r"\b(must|only|both|keep|keeps|same|never|at most|at least|shorter than|longer than|"
    r"do not|don't|unchanged|instead of|every|no more than)\b"
)


@dataclass(frozen=True)
class Requirement:
    """A README requirement (quoted) and the rubric item keys that judge it."""

    says: str
    items: tuple[str, ...]


def normalise(text: str) -> str:
    """Markdown emphasis, backticks and line breaks dropped; lower case; single spaces."""
    text = re.sub(r"[*`]{1,2}(?=\S)|(?<=\S)[*`]{1,2}", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def _prose(readme: str) -> str:
    """The README without fenced code blocks, tables and headings."""
    out, fenced = [], False
    for line in readme.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.lstrip().startswith(("|", "#")):
            out.append("")  # a paragraph break
            continue
        # a list item starts a new sentence
        out.append(re.sub(r"^\s*(\d+\.|[-*])\s+", "\n\n", line))
    return "\n".join(out)


def sentences(readme: str) -> list[str]:
    """The README's prose split into normalised sentences (list items and paragraphs split)."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", _prose(readme)):
        for s in re.split(r"(?<=[.;!?])\s+(?=[A-Z`*(\"])", para.strip()):
            s = normalise(s)
            if s:
                out.append(s)
    return out


def rule_sentences(readme: str) -> list[str]:
    """The sentences that read like a rule."""
    return [s for s in sentences(readme) if RULE_WORDS.search(s)]


def uncovered(
    readme: str, requirements: tuple[Requirement, ...], not_rules: dict[str, str]
) -> list[str]:
    """Rule-like sentences that no requirement quotes and no ``README_NOT_RULES`` entry explains."""
    quotes = [normalise(r.says) for r in requirements] + [normalise(k) for k in not_rules]
    return [s for s in rule_sentences(readme) if not any(q and q in s for q in quotes)]


def missing_quotes(readme: str, requirements: tuple[Requirement, ...]) -> list[str]:
    """Requirement quotes that do not appear in the README (after normalising both)."""
    text = normalise(_prose(readme))
    return [r.says for r in requirements if normalise(r.says) not in text]
