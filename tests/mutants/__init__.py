"""Plausible wrong answers per lab: each must lose the points of the tests it names.

A lab's module ``<lab_id>.py`` defines ``MUTANTS``, a list of :class:`Mutant`, and
``ALTERNATIVES``, a list of :class:`Alternative` (correct answers written differently). The
test suite applies all of a lab's mutants to the reference solution at once, grades
that notebook through nbgrader, and checks that every test cell named in ``fails``
scores 0. ``old`` must occur in the solution cell, so a mutant cannot go stale silently.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    cell: str  # grade_id of the solution cell to corrupt
    old: str  # exact text in the reference solution
    new: str  # the plausible mistake
    fails: tuple[str, ...]  # grade_ids of test cells that must score 0
    why: str = ""  # the mistake, in words
    # True only where, by design, no visible check can tell (a multiple-choice answer):
    # such mutants are left out of the visible-catch share and reported as such
    hidden_only: bool = False


@dataclass(frozen=True)
class Alternative:
    """A *correct* way to write an exercise that differs from the reference (loops instead of
    vectorised code, ``einsum`` instead of ``@``, another stable formula, ...). The suite applies
    all of a lab's alternatives at once and requires full marks: a test that rejects one of them
    grades the way an answer is written, not whether it is right."""

    cell: str  # grade_id of the solution cell
    old: str  # exact text in the reference solution
    new: str  # the correct alternative
    why: str = ""
