"""`make report`: per lab a score histogram, each test cell's pass rate, one HTML page, the CSV."""

from __future__ import annotations

import csv
import html
import re
import statistics

import nbformat
import pytest
from conftest import first_per_cell, load_mutants, make_course
from nbgrader.api import Gradebook

from autograde import __main__ as cli
from autograde import exports, report

LAB = "lab1_perceptron"
EMPTY_LAB = "lab2_backprop"  # in the course, nobody submitted it
PNG = b"\x89PNG\r\n\x1a\n"


def _grade_cells(course, lab: str) -> dict[str, tuple[float, str]]:
    """grade_id -> (points, cell type) of every graded cell of the lab's source notebook."""
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return {c.metadata.nbgrader.grade_id: (float(c.metadata.nbgrader.points), c.cell_type)
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def _scores(cells: dict[str, tuple[float, str]]) -> dict[str, dict[str, float]]:
    """Autograded scores per student, chosen so that every test cell has its own pass rate."""
    tests = [name for name, (_, kind) in cells.items() if kind == "code"]
    full = {name: cells[name][0] for name in tests}
    students = {
        "ann": dict(full),
        "bob": {name: 0.0 for name in tests},
        "cy": {name: (full[name] if i % 2 else 0.0) for i, name in enumerate(tests)},
        "dee": {name: (full[name] if i < len(tests) // 2 else 0.0) for i, name in enumerate(tests)},
    }
    students["dee"][tests[0]] = full[tests[0]] / 2  # partial credit is no pass
    return students


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """A gradebook filled through nbgrader's API, no notebook executed (well under a second)."""
    course = make_course(tmp_path_factory.mktemp("report"))
    cells = _grade_cells(course, LAB)
    scores = _scores(cells)
    course.workspace.mkdir(parents=True)
    with Gradebook(course.db_url) as gb:
        gb.add_assignment(LAB)
        gb.add_notebook(LAB, LAB)
        for name, (points, kind) in cells.items():
            gb.add_grade_cell(name, LAB, LAB, max_score=points, cell_type=kind)
        for student, by_cell in [*scores.items(), ("failed-one", {})]:
            gb.add_student(student)
            gb.add_submission(LAB, student)
            for name, (_, kind) in cells.items():
                grade = gb.find_grade(name, LAB, LAB, student)
                grade.auto_score = by_cell.get(name) if kind == "code" else None
                grade.needs_manual_grade = kind == "markdown"
            gb.db.commit()
            if student != "failed-one":  # nbgrader failed on this one: no autograded notebook
                notebook = course.autograded_notebook(LAB, student)
                notebook.parent.mkdir(parents=True)
                notebook.write_text("{}")
    exports._atomic_csv(course.exports_dir / "status.csv", [
        "lab", "student", "status", "score", "max_score", "needs_manual_grade", "seconds", "reason"], [
        [LAB, "ann", "graded", "23", "26", "yes", "9.0", ""],
        [LAB, "dee", "graded", "5", "26", "yes", "9.0", "1 graded cell(s) deleted (test_x): they score 0; "
                                                         "review: cell perceptron_predict uses exec() (line 2): look at it"],
        [LAB, "<script>x</script>", "error", "0", "0", "no", "0.0", "not a notebook <b>&</b>"],
        [LAB, "eve", "held", "0", "0", "no", "0.0", "notebook changed a locked test cell"],
    ])
    index = report.build(course, [LAB, EMPTY_LAB])
    return course, cells, scores, index


def _cell_table(page: str, lab: str) -> dict[str, list[str]]:
    """test cell -> [pass rate, passed, mean points, max points] from the lab's table, in page order."""
    table = re.search(rf'(?s)<table class="cells" data-lab="{lab}">(.*?)</table>', page).group(1)
    rows = {}
    for row in re.findall(r"(?s)<tbody>.*", table)[0].split("<tr>")[1:]:
        values = [html.unescape(re.sub(r"<[^>]+>", "", v)).strip() for v in re.findall(r"(?s)<td[^>]*>(.*?)</td>", row)]
        rows[values[0]] = values[1:]
    return rows


def test_report_has_figures_page_and_csv(gradebook):
    course, _, _, index = gradebook
    out = course.exports_dir / "report"
    assert index == out / "index.html"
    for name in (f"{LAB}_scores.png", f"{LAB}_cells.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name
        assert f'<img src="{name}"' in index.read_text()
    assert not list(out.glob(f"{EMPTY_LAB}*.png"))
    assert (out / "grades_by_cell.csv").read_text() == exports.export_cell_csv(course).read_text()


def test_pass_rates_and_scores_match_the_gradebook(gradebook):
    course, cells, scores, index = gradebook
    page = index.read_text()
    table = _cell_table(page, LAB)
    tests = [name for name, (_, kind) in cells.items() if kind == "code"]
    assert set(table) == set(tests), "every test cell of the lab, and only those"

    # independently from the gradebook: the per-cell CSV rows of the students that were graded
    rows = [r for r in csv.DictReader(open(course.exports_dir / "report" / "grades_by_cell.csv"))
            if r["kind"] == "autograded" and r["student"] != "failed-one"]
    for name in tests:
        got = [float(r["score"]) for r in rows if r["cell"] == name]
        passed = sum(s == cells[name][0] for s in got)
        assert passed == sum(by_cell[name] == cells[name][0] for by_cell in scores.values())
        assert table[name] == [f"{100 * passed / 4:.0f}%", f"{passed}/4", f"{sum(got) / 4:.2f}", f"{cells[name][0]:g}"], name
    rates = [int(v[0].rstrip("%")) for v in table.values()]
    assert rates == sorted(rates), "hardest cells first"

    totals = {s: sum(by_cell.values()) for s, by_cell in scores.items()}
    top = sum(cells[name][0] for name in tests)
    assert "<td>students graded</td><td>4</td>" in page
    mean = report._num(sum(totals.values()) / 4)
    assert f"<td>mean score</td><td>{mean} / {report._num(top)}</td>" in page
    median = report._num(statistics.median(totals.values()))
    assert f"<td>median score</td><td>{median} / {report._num(top)}</td>" in page
    assert "<td>written answers awaiting manual grading</td><td>4</td>" in page
    assert "failed-one" in page  # left out of the numbers, but named


def test_not_graded_submissions_empty_labs_and_escaping(gradebook):
    page = gradebook[3].read_text()
    not_graded = re.search(r'(?s)id="not-graded">(.*?)</table>', page).group(1)
    assert "&lt;script&gt;x&lt;/script&gt;" in not_graded and "not a notebook &lt;b&gt;&amp;&lt;/b&gt;" in not_graded
    assert "<td>eve</td><td>held</td><td>notebook changed a locked test cell</td>" in not_graded
    assert "ann" not in not_graded and "<script>" not in page
    assert "1 graded cell(s) deleted (test_x): they score 0" in page  # graded, with a note
    empty = page[page.index(f'<h2 id="{EMPTY_LAB}">'):]
    assert "No graded submissions for this lab yet." in empty


def test_report_without_gradebook_and_from_the_command_line(tmp_path, capsys):
    course = make_course(tmp_path)
    assert cli.main(["--workspace", str(course.workspace), "report", "--lab", LAB]) == 0
    out = course.exports_dir / "report"
    assert "wrote" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    assert "No gradebook yet" in page and "No graded submissions for this lab yet." in page
    assert (out / "grades_by_cell.csv").read_text().strip() == ",".join(report.CELL_CSV_HEADER)
    assert not course.gradebook_path.exists(), "a report never creates a gradebook"


LAB1 = pytest.param(LAB, marks=pytest.mark.xdist_group(LAB), id=LAB)  # shares test_labs' grading


@pytest.mark.notebook
@pytest.mark.parametrize("graded_lab", [LAB1], indirect=True)
def test_report_of_a_graded_class(graded_lab):
    """Reference, blank and all-mutants students, graded for real: the page agrees with the gradebook."""
    course, lab = graded_lab.course, graded_lab.lab
    index = report.build(course, [lab])
    page = index.read_text()
    table = _cell_table(page, lab)
    rows = [r for r in exports.cell_rows(course) if r[0] == lab and r[3] == "autograded"]
    passed = {name: sum(float(r[4]) == float(r[5]) for r in rows if r[2] == name) for name in table}
    assert {name: v[1] for name, v in table.items()} == {name: f"{n}/3" for name, n in passed.items()}
    tests = [name for name, (_, kind) in _grade_cells(course, lab).items() if kind == "code"]
    assert set(table) == set(tests)
    for name in {name for m in first_per_cell(load_mutants(lab)) for name in m.fails}:
        assert table[name][1] == "1/3", f"only the reference passes {name}"
    for student in graded_lab.results:
        total = sum(float(r[4]) for r in rows if r[1] == student)
        assert f"<td>{student}</td><td class=num>{report._num(total)}</td>" in page
    assert "<td>demo-reference</td><td class=num>23</td>" in page  # all autograded points


def test_submissions_flagged_for_review_have_their_own_section(gradebook):
    page = gradebook[3].read_text()
    review = re.search(r'(?s)id="review">(.*?)</table>', page).group(1)
    assert "<td>dee</td><td>cell perceptron_predict uses exec() (line 2): look at it</td>" in review
    assert "ann" not in review
