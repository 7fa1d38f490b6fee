"""Students' HTML feedback: pass/fail, points and the failure message per test, never a hidden test."""

from __future__ import annotations

import html
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograde import feedback_filters, pipeline

LAB = "lab1_perceptron"
LAB1 = pytest.param(LAB, marks=pytest.mark.xdist_group(LAB), id=LAB)  # shares test_labs' grading


def _text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, runs of blanks collapsed."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return re.sub(r"[ \t\xa0]+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def _hidden_lines(course, lab: str) -> list[str]:
    """Every line between the hidden-test delimiters of the source notebook that would tell a
    student something: no blank or comment-only lines, none the release shows anyway."""
    release = nbformat.read(course.release_notebook(lab), as_version=4)
    visible = {line.strip() for cell in release.cells for line in cell.source.split("\n")}
    hidden, inside = [], False
    for cell in nbformat.read(course.source_notebook(lab), as_version=4).cells:
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
                continue
            text = line.strip()
            if inside and text and not text.startswith("#") and text not in visible:
                hidden.append(re.sub(r"[ \t]+", " ", text))
    return hidden


def _summary(page: str) -> dict[str, list[str]]:
    """The summary table on top of a feedback page: grade id -> [result, points, message]."""
    table = page[page.index('class="autograde-summary"'):]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"(?s)<tr[^>]*>(.*?)</tr>", table):
        cells = [_text(c).strip() for c in re.findall(r"(?s)<td>(.*?)</td>", row)]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.notebook
@pytest.mark.parametrize("graded_lab", [LAB1], indirect=True)
def test_feedback_shows_results_but_no_hidden_test(graded_lab):
    course, lab = graded_lab.course, graded_lab.lab
    hidden = _hidden_lines(course, lab)
    assert len(hidden) > 40, "the lab's hidden tests were not found"

    # nbgrader's own feedback (its default preprocessors) leaks them: the check below would see it
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    nbgrader_default = [GetGrades, CSSHTMLHeaderPreprocessor]
    plain = pipeline.make_api(course, {"GenerateFeedback.preprocessors": nbgrader_default}).generate_feedback(
        lab, "demo-mutant", force=True)
    assert plain["success"], plain.get("error")
    page = (course.feedback_dir / "demo-mutant" / lab / f"{lab}.html").read_text()
    assert any(line in _text(page) for line in hidden), "nbgrader's default feedback should show hidden lines"

    students = ["demo-reference", "demo-blank", "demo-mutant"]
    written = pipeline.feedback(course, [(lab, s) for s in students])
    assert [p.parent.parent.name for p in written] == students
    pages = {p.parent.parent.name: p.read_text() for p in written}
    for student, page in pages.items():
        text = _text(page)
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden test lines: {leaked[:3]}"
        assert "HIDDEN TESTS" not in text

    # the mutant answers q2 wrongly: the judge fails it and says so; no hidden source is shown
    mutant = _summary(pages["demo-mutant"])
    assert mutant["test_mcq_q2"] == ["failed", "0 / 1", "CheckError: q2: 'a' is not the correct answer"]
    assert mutant["test_mcq_q1"] == ["passed", "1 / 1", ""]
    assert mutant["test_perceptron_predict"][:2] == ["failed", "0 / 2"]
    assert mutant["test_perceptron_predict"][2].startswith("CheckError: step(0) = 0")
    text = _text(pages["demo-mutant"])
    assert "✗ failed: 0 / 1 points" in text and "q2: 'a' is not the correct answer" in text
    assert 'q2 = assert_choice(answers.get("q2"), "abcd", "q2")' in text  # visible tests stay
    assert "hidden test: perceptron on random (7, 3): not checked" in text  # hidden checks: verdicts only

    reference = _summary(pages["demo-reference"])
    tests = [c.metadata.nbgrader.grade_id for c in nbformat.read(course.source_notebook(lab), as_version=4).cells
             if feedback_filters.is_test_cell(c)]
    assert {cell: reference[cell][:2] for cell in tests} == {
        cell: ["passed", f"{c:g} / {c:g}"] for cell, c in _points(course, lab).items() if cell in tests
    }
    assert "✓ passed: 2 / 2 points" in _text(pages["demo-reference"])
    blank = _summary(pages["demo-blank"])
    assert blank["test_perceptron_predict"][:2] == ["failed", "0 / 2"]
    assert blank["test_perceptron_predict"][2].startswith(
        "CheckError: AND outputs: not checked: the cell stopped with NotImplementedError before this check")


def _points(course, lab: str) -> dict[str, float]:
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return {c.metadata.nbgrader.grade_id: float(c.metadata.nbgrader.points)
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


# -- the filters on a hand-made notebook (no kernel) ----------------------------------------

def _ansi(text: str) -> str:
    return f"\x1b[32m{text}\x1b[39m"


def _test_notebook():
    test = new_code_cell(
        'x = answer()\nassert_choice(x)\n### BEGIN HIDDEN TESTS\nassert x == 42, "x is not right"\n'
        "_secret = [1, 2, 3]\n### END HIDDEN TESTS",
        execution_count=7,
        metadata={"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "test_x",
                               "points": 2, "score": 0.0}},
    )
    frame = "\n".join([
        f"\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m{_ansi('In[7]')}{_ansi(', line 4')}",
        f"{_ansi('      1')} x = answer()",
        f"{_ansi('      2')} assert_choice(x)",
        f"{_ansi('      3')} \x1b[38;5;66;03m### BEGIN HIDDEN TESTS\x1b[39;00m",
        f"{_ansi('----> ')}{_ansi('4')} \x1b[38;5;28;01massert\x1b[39;00m x == 42, \x1b[33m\"x is not right\"\x1b[39m",
        f"{_ansi('      5')} _secret = [1, 2, 3]",
    ])
    test.outputs = [
        new_output("stream", name="stdout", text="UserWarning: careful\n  _secret = [1, 2, 3]\n"),
        new_output("error", ename="AssertionError", evalue="x is not right", traceback=[
            "\x1b[31m------\x1b[39m", "\x1b[31mAssertionError\x1b[39m   Traceback (most recent call last)",
            frame, "\x1b[31mAssertionError\x1b[39m: x is not right"]),
    ]
    passing = new_code_cell("assert True", execution_count=8, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_y", "points": 1, "score": 1.0}})
    student = new_code_cell("# my notes\n### BEGIN HIDDEN TESTS\nprint('mine')", execution_count=6,
                            metadata={"nbgrader": {"grade": False, "solution": True, "grade_id": "answer"}})
    return new_notebook(cells=[student, test, passing])


def test_filters_hide_hidden_lines_and_keep_the_message():
    nb = _test_notebook()
    resources: dict = {}
    for pp in (feedback_filters.HideHiddenTests(), feedback_filters.TestResults()):
        nb, resources = pp.preprocess(nb, resources)
    summary, student, test, passing = nb.cells
    assert student.source == "# my notes\n### BEGIN HIDDEN TESTS\nprint('mine')"  # the student's own text
    assert test.source == "x = answer()\nassert_choice(x)"
    rendered = "\n".join(
        feedback_filters.strip_ansi("\n".join(o.get("traceback", [])) + o.get("text", "")
                                    + o.get("data", {}).get("text/html", ""))
        for o in test.outputs
    )
    for secret in ("x == 42", "_secret", "BEGIN HIDDEN"):
        assert secret not in rendered
    assert "      1 x = answer()\n      2 assert_choice(x)\n----> … hidden test lines not shown" in rendered
    assert "AssertionError: x is not right" in rendered
    assert "✗ <b>failed</b>: 0 / 2 points<br><code>AssertionError: x is not right</code>" in rendered
    assert "✓ <b>passed</b>: 1 / 1 points" in passing.outputs[0].data["text/html"]
    assert summary.cell_type == "markdown" and "x == 42" not in summary.source
    assert '<td>failed</td><td>0 / 2</td><td>AssertionError: x is not right</td>' in summary.source


def test_failure_message_escapes_html():
    cell = new_code_cell("", metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t",
                                                    "points": 1, "score": 0}})
    cell.outputs = [new_output("error", ename="ValueError", evalue="<script>alert(1)</script>", traceback=[])]
    nb, _ = feedback_filters.TestResults().preprocess(new_notebook(cells=[cell]), {})
    assert "<script>" not in nb.cells[0].source and "&lt;script&gt;" in nb.cells[0].source
    assert "<script>" not in nb.cells[1].outputs[0].data["text/html"]
