"""Shared fixtures: an isolated grading workspace per lab, graded once through real nbgrader."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograde.course import LAB_IDS, REPO_ROOT, Course

warnings.filterwarnings("ignore", module="nbgrader")
warnings.filterwarnings("ignore", message=".*not in session.*")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` honour ``xdist_group`` marks with pytest 9.

    pytest-xdist 3.8 appends ``@group`` to ``item._nodeid``, which pytest 9 no longer reads (a node's
    id is ``item._id``), so every test was scheduled on its own and a lab's notebooks could be
    graded on two workers at once. This sets the id pytest 9 reads, the way xdist means to."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        if groups and not item.nodeid.endswith("@" + "_".join(sorted(groups))):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")


def present_labs() -> list[str]:
    """Labs that have a source notebook in solutions/."""
    return [lab for lab in LAB_IDS if (REPO_ROOT / "solutions" / lab / f"{lab}.ipynb").is_file()]


def lab_params():
    """One pytest param per present lab, grouped so xdist runs a lab's tests on one worker."""
    return [pytest.param(lab, marks=pytest.mark.xdist_group(lab), id=lab) for lab in present_labs()]


@dataclass
class GradedLab:
    lab: str
    course: Course
    results: dict  # student -> GradeResult


def make_course(tmp: Path) -> Course:
    """A course whose release and workspace live in ``tmp`` (the repo is only read)."""
    return Course(root=REPO_ROOT, workspace=tmp / "autograde", release=tmp / "labs")


def load_mutants(lab: str, kind: str = "MUTANTS") -> list:
    """The lab's plausible wrong answers (or, with kind="ALTERNATIVES", its correct
    alternatives) from tests/mutants/<lab>.py (empty if none)."""
    import importlib

    try:
        return list(getattr(importlib.import_module(f"mutants.{lab}"), kind, []))
    except ModuleNotFoundError:
        return []


def mutant_notebook(course: Course, lab: str, mutants: list):
    """The release with reference solutions, then every change (mutant or alternative) applied to its cell."""
    import nbformat

    from autograde import samples

    source = nbformat.read(course.source_notebook(lab), as_version=4)
    solutions = samples._solution_sources(source)
    for m in mutants:
        assert m.cell in solutions, f"mutant names unknown solution cell {m.cell!r}"
        assert m.old in solutions[m.cell], f"mutant text {m.old!r} not in {lab}/{m.cell}: update tests/mutants/{lab}.py"
        solutions[m.cell] = solutions[m.cell].replace(m.old, m.new)
    release = nbformat.read(course.release_notebook(lab), as_version=4)
    return samples.fill_solutions(release, solutions)


def rounds(changes: list) -> list[list]:
    """Split changes so that each round touches every solution cell at most once (round k holds
    the k-th change of each cell): several changes to one cell cannot be applied together."""
    groups: list[list] = []
    seen: dict[str, int] = {}
    for change in changes:
        k = seen.get(change.cell, 0)
        seen[change.cell] = k + 1
        if k == len(groups):
            groups.append([])
        groups[k].append(change)
    return groups


_graded: dict[str, GradedLab] = {}


@pytest.fixture
def graded_lab(request, tmp_path_factory) -> GradedLab:
    """Release the lab into a temp dir and autograde the reference, blank, mutant and alternative samples once."""
    from autograde import pipeline, samples

    lab = request.param
    if lab not in _graded:
        course = make_course(tmp_path_factory.mktemp(lab))
        pipeline.release(course, [lab])
        samples.make_samples(course, [lab], students=["demo-reference", "demo-blank"])
        mutants = load_mutants(lab)
        for i, group in enumerate(rounds(mutants)):
            samples.write_submission(course, lab, f"demo-mutant-{i}", mutant_notebook(course, lab, group))
        for i, group in enumerate(rounds(load_mutants(lab, "ALTERNATIVES"))):
            samples.write_submission(course, lab, f"demo-alternative-{i}", mutant_notebook(course, lab, group))
        results = pipeline.autograde(course, [lab], progress=False)
        _graded[lab] = GradedLab(lab, course, {r.student: r for r in results})
    return _graded[lab]
