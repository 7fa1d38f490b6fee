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
    if not (getattr(config.option, "loadgroup", False) or getattr(config.option, "dist", "") == "loadgroup"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        if groups and not item.nodeid.endswith("@" + "_".join(sorted(groups))):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")
    # Longest group first, the many short ungrouped tests last, so both workers finish together.
    def group(item) -> str:
        return item.nodeid.rpartition("@")[2] if "@" in item.nodeid else ""

    items.sort(key=lambda item: (-GROUP_SECONDS.get(group(item), 0), group(item)))


# Seconds each xdist group kept a worker busy in a fresh-clone `make test` on 2 cores (read from
# artifacts/suite_timeline/, 2026-12-01 14:04): only the order in which groups are handed out depends on them.
GROUP_SECONDS = {"hub": 233, "lab4_cnn": 205, "lab7_text": 200, "parallel": 147, "hostile": 144,
                 "lab5_rnn": 108, "lab3_optimizers": 106, "lab2_backprop": 88, "lab6_attention": 66,
                 "browser": 59, "lab1_perceptron": 55, "validate": 46, "robustness": 15}


TIMELINE = REPO_ROOT / "artifacts" / "suite_timeline"


def pytest_configure(config):
    """The controller starts each run with an empty timeline (workers start after it)."""
    import os
    import shutil

    if "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(TIMELINE, ignore_errors=True)
    # hand groups out in collection order (GROUP_SECONDS above), not by their number of tests
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_runtest_logreport(report):
    """Append each test phase's start, end and worker to artifacts/suite_timeline/<worker>.tsv, so a
    slow suite can be read as a timeline (which worker idled, which group ran last)."""
    import os

    if hasattr(report, "node"):  # the xdist controller's copy of a worker's report
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    TIMELINE.mkdir(parents=True, exist_ok=True)
    with open(TIMELINE / f"{worker}.tsv", "a") as f:
        f.write(f"{report.start:.2f}\t{report.stop:.2f}\t{report.when}\t{report.nodeid}\n")


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
    probe: object = None  # lab_probe.Probe: every mutant and alternative, judged


def make_course(tmp: Path) -> Course:
    """A course whose release and workspace live in ``tmp`` (the repo is only read)."""
    return Course(root=REPO_ROOT, workspace=tmp / "autograde", release=tmp / "labs")


SMALL_LAB = "lab1_perceptron"


def small_course_root(base: Path) -> Path:
    """A course root under ``base`` whose only lab is Lab 1 without its sections 4–6 (activations,
    the linear collapse, the trained MLP): 14 autograded points instead of 23, and half the kernel
    time. The tests of the grader's machinery (parallel and Dask workers, resuming after kill -9,
    PostgreSQL, hostile submissions) grade dozens of submissions and need a real lab, not every
    exercise of it; tests/test_labs.py grades every lab in full through the same grader.
    Built once per test process; its recorded answers are shared by the courses made on it."""
    import shutil

    import nbformat

    root = base / "small-course-root"
    target = root / "solutions" / SMALL_LAB / f"{SMALL_LAB}.ipynb"
    if not target.exists():
        source = REPO_ROOT / "solutions" / SMALL_LAB
        nb = nbformat.read(source / f"{SMALL_LAB}.ipynb", as_version=4)
        heads = [c.source.split("\n", 1)[0] if c.cell_type == "markdown" else "" for c in nb.cells]
        start = next(i for i, h in enumerate(heads) if h.startswith("## 4."))
        stop = next(i for i, h in enumerate(heads) if h.startswith("## 7."))
        nb.cells = nb.cells[:start] + nb.cells[stop:]
        shutil.copytree(source, target.parent, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        nbformat.write(nb, target)
    return root


def make_small_course(tmp: Path, base: Path) -> Course:
    """A course on :func:`small_course_root` (built under ``base``) whose workspace lives in ``tmp``."""
    return Course(root=small_course_root(base), workspace=tmp / "autograde")


def load_mutants(lab: str, kind: str = "MUTANTS") -> list:
    """The lab's plausible wrong answers (or, with kind="ALTERNATIVES", its correct
    alternatives) from tests/mutants/<lab>.py (empty if none)."""
    import importlib

    try:
        return list(getattr(importlib.import_module(f"mutants.{lab}"), kind, []))
    except ModuleNotFoundError:
        return []


def first_per_cell(mutants: list) -> list:
    """The first mutant of each solution cell: the ones ``demo-mutant`` carries."""
    seen: set[str] = set()
    return [m for m in mutants if not (m.cell in seen or seen.add(m.cell))]


def mutant_notebook(course: Course, lab: str, mutants: list):
    """The release with reference solutions and the first mutant of each solution cell applied
    (a sample wrong submission for the feedback and report tests)."""
    import nbformat

    from autograde import samples

    solutions = samples._solution_sources(nbformat.read(course.source_notebook(lab), as_version=4))
    for m in first_per_cell(mutants):
        solutions[m.cell] = solutions[m.cell].replace(m.old, m.new)
    return samples.fill_solutions(nbformat.read(course.release_notebook(lab), as_version=4), solutions)


_graded: dict[str, GradedLab] = {}
# labs whose sample wrong submission (demo-mutant) is graded for real: test_feedback reads lab 1's;
# the other labs' mutants are judged by the probe, which is far cheaper than a grading run each
MUTANT_SUBMISSION_LABS = {"lab1_perceptron"}


@pytest.fixture
def graded_lab(request, tmp_path_factory) -> GradedLab:
    """Probe every mutant and alternative of the lab (tests/lab_probe.py; it records the lab's
    answers from its reference part when there are none yet), release the lab into a temp dir and
    autograde the reference and blank samples once, through the real grader."""
    from lab_probe import probe_lab

    from autograde import pipeline, samples

    lab = request.param
    if lab not in _graded:
        course = make_course(tmp_path_factory.mktemp(lab))
        probe = probe_lab(course, lab, load_mutants(lab), load_mutants(lab, "ALTERNATIVES"))
        pipeline.release(course, [lab])  # the answers are current now: nothing is run again
        samples.make_samples(course, [lab], students=["demo-reference", "demo-blank"])
        if lab in MUTANT_SUBMISSION_LABS:
            samples.write_submission(course, lab, "demo-mutant", mutant_notebook(course, lab, load_mutants(lab)))
        results = pipeline.autograde(course, [lab], progress=False)
        _graded[lab] = GradedLab(lab, course, {r.student: r for r in results}, probe)
    return _graded[lab]
