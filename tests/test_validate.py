"""`nbgrader validate` tells a student what the autograder says about the visible tests, cell by cell.

A student only has the visible checks, so the autograder's verdict to compare with is the one on
those checks alone. It is made the same way as real grading, through nbgrader and this course's
pipeline, from a source notebook whose hidden tests were removed by nbgrader's own
``ClearHiddenTests``: its release is exactly the committed ``labs/`` notebook (checked below), and
its gradebook holds only the visible asserts. The samples are the demo students: the untouched
release, half the exercises answered, and the instructor's solution.

The validator is the real ``nbgrader validate`` command line run from the repository root, so it
reads the course's ``nbgrader_config.py`` like a student's JupyterLab Validate button does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests

from autograde import pipeline, samples
from autograde.course import REPO_ROOT, Course

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("validate")]

LAB = "lab1_perceptron"
STUDENTS = ("demo-blank", "demo-partial", "demo-reference")
BIN = Path(sys.executable).parent
WIDTH = 100_000  # nbgrader validate cuts printed lines at this width; never cut them here
SEPARATOR = "\n" + "=" * WIDTH + "\n"
VALIDATE_TIMEOUT_S = 600


def _grade_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")  # nbgrader shells out to alembic
    env["LABKIT_DEVICE"] = "cpu"  # the same verdict on a machine with or without a GPU
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def nbgrader_validate(notebook: Path) -> tuple[str, dict[str, bool]]:
    """Run ``nbgrader validate`` on ``notebook``; (its report, grade_id -> passed for every grade cell).

    nbgrader prints each failing grade cell's source; a cell it does not print passed (a written
    answer it does not print is one it cannot judge, like the autograder sending it to a TA).
    """
    for _attempt in range(3):
        proc = subprocess.run(
            [str(BIN / "nbgrader"), "validate", str(notebook), f"--Validator.width={WIDTH}"],
            cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=VALIDATE_TIMEOUT_S,
        )
        # jupyter_client picks free TCP ports for a kernel before the kernel binds them; with three
        # validations and other kernels starting at once, another process can take one in between
        # ("Address already in use", seen once in a full run). Nothing of nbgrader's: start again.
        if proc.returncode == 0 or "Address already in use" not in proc.stderr:
            break
    report = proc.stdout
    assert proc.returncode == 0, f"nbgrader validate {notebook.name} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert "HAVE CHANGED" not in report, f"validate saw edited test cells in {notebook}:\n{report[:2000]}"
    cells = _grade_cells(nbformat.read(notebook, as_version=4))
    by_source = {cell.source.strip(): grade_id for grade_id, cell in cells.items()}
    failed = set()
    for block in report.split(SEPARATOR)[1:]:
        head, _, rest = block.partition("\n\n")
        assert head == "The following cell failed:", f"unexpected validate output: {block[:300]}"
        source, _, _ = rest.partition("\n\nThe error was:\n\n")
        # nbgrader indents every line of the cell's stripped source by Validator.indent (4 spaces)
        source = "\n".join(line.removeprefix("    ") for line in source.split("\n"))
        assert source in by_source, f"validate printed a cell that is not a grade cell of {notebook.name}:\n{source[:300]}"
        failed.add(by_source[source])
    summary = report.split(SEPARATOR)[0]
    if failed:
        assert f"VALIDATION FAILED ON {len(failed)} CELL(S)!" in summary, summary
    else:
        assert "Success! Your notebook passes all the tests." in summary, summary
    return report, {grade_id: grade_id not in failed for grade_id in cells}


def visible_course(tmp: Path) -> Course:
    """A course whose source is the lab without hidden tests; its samples autograded through nbgrader."""
    course = Course(root=tmp, workspace=tmp / "autograde", release=tmp / "labs")
    source = nbformat.read(REPO_ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    visible_source, _ = ClearHiddenTests().preprocess(source, {})
    course.source_notebook(LAB).parent.mkdir(parents=True)
    nbformat.write(visible_source, course.source_notebook(LAB))
    pipeline.release(course, [LAB])
    samples.make_samples(course, [LAB], students=list(STUDENTS))
    results = {r.student: r for r in pipeline.autograde(course, [LAB], progress=False)}
    for student in STUDENTS:
        assert results[student].status == "graded", f"{student}: {results[student].reason}"
    return course


def autograder_visible_verdict(course: Course, student: str) -> dict[str, bool]:
    """grade_id -> passed, from the gradebook: full marks, or a written answer waiting for a TA."""
    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission_notebook(LAB, LAB, student)
        return {g.name: g.needs_manual_grade or g.score == g.max_score for g in sub.grades}


def validate_samples(course: Course, tmp: Path) -> dict[str, tuple[str, dict[str, bool]]]:
    """nbgrader validate on each sample (the released notebook itself for the blank one), in parallel."""
    notebooks = {}
    for student in STUDENTS:
        original = (
            REPO_ROOT / "labs" / LAB / f"{LAB}.ipynb"
            if student == "demo-blank"
            else course.submission_dir(LAB, student) / f"{LAB}.ipynb"
        )
        notebooks[student] = tmp / student / f"{LAB}.ipynb"
        notebooks[student].parent.mkdir(parents=True)
        shutil.copy(original, notebooks[student])
    with ThreadPoolExecutor(max_workers=len(STUDENTS)) as pool:
        futures = {student: pool.submit(nbgrader_validate, path) for student, path in notebooks.items()}
        return {student: future.result() for student, future in futures.items()}


# One test on purpose: grading and validating are the expensive part, and every check below reads
# the same results (a module fixture would be rebuilt on each xdist worker that gets a test).
def test_validate_agrees_with_autograder_on_visible_tests(tmp_path):
    course = visible_course(tmp_path / "course")

    # removing the hidden tests from the source gives exactly the students' notebook, and the
    # gradebook then holds the visible tests only
    ours = _grade_cells(nbformat.read(course.release_notebook(LAB), as_version=4))
    committed = _grade_cells(nbformat.read(REPO_ROOT / "labs" / LAB / f"{LAB}.ipynb", as_version=4))
    assert {k: c.source for k, c in ours.items()} == {k: c.source for k, c in committed.items()}
    with Gradebook(course.db_url) as gb:
        stored = {c.name: c.source for c in gb.find_notebook(LAB, LAB).source_cells}
    assert set(committed) <= set(stored) and not [g for g in committed if "HIDDEN TESTS" in stored[g]]

    validated = validate_samples(course, tmp_path / "validate")

    # the same verdict, cell by cell, for every sample
    disagree = {}
    for student, (_, verdict) in validated.items():
        autograder = autograder_visible_verdict(course, student)
        assert set(verdict) == set(autograder), student
        diff = {g: {"validate": verdict[g], "autograder": autograder[g]} for g in verdict if verdict[g] != autograder[g]}
        if diff:
            disagree[student] = diff
    assert not disagree, f"nbgrader validate and the autograder disagree: {disagree}"

    # the blank release fails every check; the partial sample passes some and fails some;
    # the reference solution passes validation
    report, verdict = validated["demo-blank"]
    assert "VALIDATION FAILED" in report
    assert not any(ok for g, ok in verdict.items() if g.startswith("test_")), verdict
    _, verdict = validated["demo-partial"]
    assert any(verdict.values()) and not all(verdict.values()), verdict
    report, verdict = validated["demo-reference"]
    assert all(verdict.values()) and "Success! Your notebook passes all the tests." in report, report[:3000]
