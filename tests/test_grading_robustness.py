"""Broken submissions get a clear per-student reason; everyone else is still graded."""

from __future__ import annotations

import hashlib

import nbformat
import pytest
from conftest import make_small_course
from nbgrader.api import Gradebook

from autograde import exports, intake, pipeline, samples

LAB = "lab1_perceptron"
pytestmark = [pytest.mark.xdist_group("robustness"), pytest.mark.notebook]  # one worker grades this class once


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = make_small_course(tmp_path_factory.mktemp("class"), tmp_path_factory.getbasetemp())  # shortened Lab 1
    pipeline.release(course, [LAB])
    samples.make_samples(course, [LAB], students=["demo-reference"])
    release = nbformat.read(course.release_notebook(LAB), as_version=4)
    solutions = samples._solution_sources(nbformat.read(course.source_notebook(LAB), as_version=4))
    full = samples.fill_solutions(release, solutions)

    samples.write_submission(course, LAB, "not-json", '{"cells": [ oops')
    samples.write_submission(course, LAB, "empty-file", "")
    renamed = samples.write_submission(course, LAB, "renamed", full)
    renamed.rename(renamed.with_name("my_lab1_final.ipynb"))
    deleted = nbformat.from_dict(full)
    drop = {"xor_network", "test_xor_network"}
    deleted.cells = [c for c in deleted.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in drop]
    samples.write_submission(course, LAB, "deleted-cells", deleted)

    before = {s: _digest(course.submitted_dir / s) for s in course.students()}
    results = {r.student: r for r in pipeline.autograde(course, [LAB], progress=False)}
    after = {s: _digest(course.submitted_dir / s) for s in course.students()}
    return course, results, before, after


def test_every_student_gets_a_row_and_the_good_one_full_marks(graded_class):
    course, results, _, _ = graded_class
    assert set(results) == {"demo-reference", "not-json", "empty-file", "renamed", "deleted-cells"}
    ref = results["demo-reference"]
    assert ref.status == "graded" and ref.score == ref.max_score - 3  # 3 points await manual grading


@pytest.mark.parametrize(
    "student, reason",
    [
        ("not-json", r"submitted/not-json/lab1_perceptron/lab1_perceptron\.ipynb: not a notebook \(invalid JSON at line 1"),
        ("empty-file", r"lab1_perceptron\.ipynb: the file is empty"),
        ("renamed", r"notebook renamed: found my_lab1_final\.ipynb, expected lab1_perceptron\.ipynb"),
    ],
)
def test_broken_submissions_are_reported_not_graded(graded_class, student, reason):
    import re

    result = graded_class[1][student]
    assert result.status == "error"
    assert re.search(reason, result.reason), result.reason


def test_deleted_cells_score_zero_and_the_rest_is_graded(graded_class):
    course, results, _, _ = graded_class
    result = results["deleted-cells"]
    assert result.status == "graded", result.reason
    assert "1 graded cell(s) deleted (test_xor_network): they score 0" in result.reason
    with Gradebook(course.db_url) as gb:
        grades = {g.name: g.auto_score for g in gb.find_submission_notebook(LAB, LAB, "deleted-cells").grades}
    assert not grades["test_xor_network"]
    assert grades["test_perceptron_predict"] == 2
    full = results["demo-reference"].score
    assert result.score == full - 2, "only the deleted cell's 2 points are lost"
    rows = exports.export_cell_csv(course).read_text().splitlines()
    assert f"{LAB},deleted-cells,test_xor_network,autograded,0,2,yes" in rows  # flagged for a TA look


def test_originals_are_never_modified(graded_class):
    _, _, before, after = graded_class
    assert before == after


def test_exports_and_table_include_errors(graded_class):
    course, results, _, _ = graded_class
    status = exports.export_status_csv(course, results.values()).read_text()
    assert "not-json" in status and "invalid JSON" in status
    cells = exports.export_cell_csv(course).read_text().splitlines()
    assert cells[0] == "lab,student,cell,kind,score,max_score,needs_manual_grade"
    assert any(line.startswith(f"{LAB},demo-reference,written_xor,manual,") for line in cells)
    table = exports.format_table(results.values())
    assert "ERROR" in table and "demo-reference" in table
    assert exports.export_nbgrader_csv(course).read_text().count("\n") >= 2


def test_intake_rejects_a_json_document_that_is_no_notebook(tmp_path):
    folder = tmp_path / LAB
    folder.mkdir()
    (folder / f"{LAB}.ipynb").write_text('{"hello": 1}')
    result = intake.inspect(folder, LAB, "x", [])
    assert result.error and "no 'cells' list" in result.error
    (folder / f"{LAB}.ipynb").write_bytes(b"\x80\x81garbage")
    assert "not UTF-8" in intake.inspect(folder, LAB, "x", []).error


def test_feedback_for_every_graded_submission_and_only_those(graded_class):
    course, results, _, _ = graded_class
    pairs = pipeline.graded_submissions(course, [LAB])
    assert {student for _, student in pairs} == {"demo-reference", "deleted-cells"}
    written = pipeline.feedback(course, pairs + [(LAB, "not-json")])  # a bad pair must not stop the rest
    assert len(written) == 2 and all(path.exists() for path in written)
    assert "Lab 1" in written[0].read_text()
