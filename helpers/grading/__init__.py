"""Class grading: ``submit`` on the learner's side, ``grade`` and ``grade-report`` for instructors.

- :mod:`.archive`: pack an exercise folder with a manifest; unpack archives safely.
- :mod:`.policy`: what a submission may not ask of the grader's engine.
- :mod:`.runner`: discover, vet, run each check isolated and timed, sweep by run id.
- :mod:`.gradebook`: one atomic JSON per graded submission, a lock, late policy.
- :mod:`.outputs`: CSVs, feedback pages and the class overview, rebuilt from the JSON.
"""

from __future__ import annotations

from .gradebook import Gradebook, GradebookLocked
from .runner import GradeOptions, Grader, Submission, discover

__all__ = ["GradeOptions", "Gradebook", "GradebookLocked", "Grader", "Submission", "discover"]
