"""Every lab present, through the real nbgrader: release hygiene and grading honesty."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from conftest import lab_params
from nbgrader.api import Gradebook

from autograde.course import REPO_ROOT

LABS = lab_params()
pytestmark = pytest.mark.notebook  # runs notebooks through nbgrader


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(lab: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO_ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)


def _cell_grades(course, lab: str, student: str) -> dict[str, tuple[float | None, float, str]]:
    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission_notebook(lab, lab, student)
        return {g.name: (g.auto_score, g.max_score, g.cell.cell_type) for g in sub.grades}


@pytest.mark.parametrize("lab", LABS)
def test_source_is_clean_valid_and_well_structured(lab):
    nb = _source(lab)
    nbformat.validate(nb)
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{lab}: source cells {with_outputs} carry outputs; store sources output-free"
    ids = [_meta(c)["grade_id"] for c in nb.cells if _meta(c)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"{lab}: duplicated grade ids {dupes}"
    tests = [c for c in nb.cells if _meta(c).get("grade") and c.cell_type == "code"]
    hidden = [c for c in tests if "### BEGIN HIDDEN TESTS" in c.source]
    manual = [c for c in nb.cells if _meta(c).get("grade") and c.cell_type == "markdown"]
    assert len(tests) >= 8, f"{lab}: {len(tests)} autograded test cells, need at least 8"
    assert len(hidden) >= 4, f"{lab}: {len(hidden)} test cells with hidden tests, need at least 4"
    assert manual, f"{lab}: needs at least one manually graded written answer"
    total = sum(_meta(c)["points"] for c in nb.cells if _meta(c).get("grade"))
    stated = re.search(r"Total:\s*(\d+(?:\.\d+)?)\s*points", nb.cells[0].source)
    assert stated, f"{lab}: the first cell must state 'Total: N points'"
    assert float(stated.group(1)) == total, f"{lab}: first cell says {stated.group(1)} points, cells add up to {total:g}"


@pytest.mark.parametrize("graded_lab", LABS, indirect=True)
def test_release_matches_committed_labs(graded_lab):
    lab, course = graded_lab.lab, graded_lab.course
    fresh_dir, committed_dir = course.release_dir / lab, REPO_ROOT / "labs" / lab
    fresh = sorted(p.relative_to(fresh_dir).as_posix() for p in fresh_dir.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(committed_dir).as_posix() for p in committed_dir.rglob("*") if p.is_file())
    assert fresh == committed, f"labs/{lab} files differ from a fresh release: run `make release`"
    for name in fresh:
        a, b = (fresh_dir / name).read_bytes(), (committed_dir / name).read_bytes()
        if name.endswith(".ipynb"):
            a, b = json.loads(a), json.loads(b)
        assert a == b, f"labs/{lab}/{name} is out of date: run `make release` and commit labs/"


@pytest.mark.parametrize("lab", LABS)
def test_release_leaks_no_solutions_or_hidden_tests(lab):
    text = (REPO_ROOT / "labs" / lab / f"{lab}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"labs/{lab} contains {marker!r}"
    source = _source(lab)
    release = nbformat.reads(text, as_version=4)
    released = {_meta(c).get("grade_id"): c for c in release.cells if _meta(c)}
    for cell in source.cells:
        meta = _meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            stub = released[meta["grade_id"]].source
            assert "raise NotImplementedError()" in stub, f"{lab}/{meta['grade_id']}: stub lost"
            solution = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
            assert solution not in stub, f"{lab}/{meta['grade_id']}: solution text in the release"
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].strip()
            assert hidden not in released[meta["grade_id"]].source, f"{lab}/{meta['grade_id']}: hidden test released"


@pytest.mark.parametrize("graded_lab", LABS, indirect=True)
def test_reference_solution_gets_full_marks(graded_lab):
    result = graded_lab.results["demo-reference"]
    assert result.status == "graded", result.reason
    grades = _cell_grades(graded_lab.course, graded_lab.lab, "demo-reference")
    lost = {name: (score, top) for name, (score, top, kind) in grades.items() if kind == "code" and score != top}
    assert not lost, f"{graded_lab.lab}: reference solution loses points on {lost}"
    assert result.needs_manual, "the written answer should wait for manual grading"


@pytest.mark.parametrize("graded_lab", LABS, indirect=True)
def test_untouched_release_scores_zero(graded_lab):
    result = graded_lab.results["demo-blank"]
    assert result.status == "graded", f"the untouched release crashed the grader: {result.reason}"
    grades = _cell_grades(graded_lab.course, graded_lab.lab, "demo-blank")
    earned = {name: score for name, (score, _, kind) in grades.items() if kind == "code" and score}
    assert not earned, f"{graded_lab.lab}: the untouched release earns points on {earned}"
    assert result.score == 0


@pytest.mark.parametrize("graded_lab", LABS, indirect=True)
def test_plausible_wrong_answers_lose_their_points(graded_lab):
    from conftest import load_mutants

    mutants = load_mutants(graded_lab.lab)
    if not mutants:
        pytest.fail(f"{graded_lab.lab}: add plausible wrong answers in tests/mutants/{graded_lab.lab}.py")
    probe = graded_lab.probe
    assert not probe.reference.judged_failed, f"the reference fails in the probe: {probe.reference.judged_failed}"
    survivors = [f"{m.cell}: {m.why or m.new} (passed {cell})" for m, outcome in zip(mutants, probe.mutants)
                 for cell in m.fails if cell not in outcome.judged_failed]
    assert not survivors, f"{graded_lab.lab}: tests accept wrong answers: " + "; ".join(survivors)


@pytest.mark.parametrize("graded_lab", LABS, indirect=True)
def test_correct_alternatives_keep_full_marks(graded_lab):
    from conftest import load_mutants

    alternatives = load_mutants(graded_lab.lab, "ALTERNATIVES")
    if not alternatives:
        pytest.fail(f"{graded_lab.lab}: add correct alternatives (Alternative) in tests/mutants/{graded_lab.lab}.py")
    lost = [f"{a.cell}: {a.why or a.new} fails {cell} ({why})" for a, outcome in zip(alternatives, graded_lab.probe.alternatives)
            for cell, why in outcome.judged_failed.items()]
    assert not lost, f"{graded_lab.lab}: correct alternatives lose points: " + "; ".join(lost)


VISIBLE_TARGET = 0.8  # share of plausible mistakes the student sees before submitting


@pytest.mark.parametrize("graded_lab", LABS, indirect=True)
def test_visible_checks_catch_most_mistakes(graded_lab, record_property, capsys):
    from conftest import load_mutants

    lab, mutants = graded_lab.lab, load_mutants(graded_lab.lab)
    if not mutants:
        pytest.fail(f"{lab}: add plausible wrong answers in tests/mutants/{lab}.py")
    pairs = [(m, o) for m, o in zip(mutants, graded_lab.probe.mutants) if not m.hidden_only]
    caught = [bool(o.visible_failed) for _, o in pairs]
    share = sum(caught) / len(caught)
    missed = [f"{m.cell}: {m.why or m.new}" for (m, _), c in zip(pairs, caught) if not c]
    alternatives = len(load_mutants(lab, "ALTERNATIVES"))
    record_property("visible_catch_share", share)
    # xdist hides what a worker prints: the shares also go to artifacts/ (one file per lab)
    out = REPO_ROOT / "artifacts" / "visible_catch"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{lab}.json").write_text(json.dumps({
        "lab": lab, "visible_caught": sum(caught), "mutants_with_visible_checks": len(caught),
        "hidden_only": len(mutants) - len(pairs), "alternatives": alternatives,
        "missed": missed, "probe_seconds": round(graded_lab.probe.reference.seconds + sum(
            o.seconds for o in graded_lab.probe.mutants + graded_lab.probe.alternatives), 1)}, indent=1))
    with capsys.disabled():
        print(f"\n{lab}: visible checks catch {sum(caught)}/{len(caught)} mutants ({share:.0%}); "
              f"{len(mutants) - len(pairs)} more are hidden-only by design (e.g. multiple choice); "
              f"{alternatives} correct alternatives")
    assert share >= VISIBLE_TARGET, (f"{lab}: visible checks catch {share:.0%} of plausible mistakes "
                                     f"(target {VISIBLE_TARGET:.0%}); missed: {'; '.join(missed)}")


_CHECK_CALLS = ("assert_close", "assert_equal", "assert_scalar", "assert_choice", "assert_accuracy",
                "assert_at_least", "assert_tensor", "compare_gradients", "by_hand", "expect_close",
                "expect_equal", "expect_scalar")


@pytest.mark.parametrize("lab", LABS)
def test_every_graded_statement_goes_through_labkit_checks(lab):
    """The judge only sees labkit.checks: a plain assert in a test cell would decide points in
    the student's kernel, and a test cell without a check cannot be judged at all."""
    import ast

    problems = []
    for cell in _source(lab).cells:
        meta = _meta(cell)
        if not (meta.get("grade") and cell.cell_type == "code" and not meta.get("solution")):
            continue
        tree = ast.parse(cell.source)
        asserts = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert)]
        if asserts:
            problems.append(f"{meta['grade_id']}: plain assert on line(s) {asserts}")
        calls = {n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                 for n in ast.walk(tree) if isinstance(n, ast.Call)}
        if not calls & set(_CHECK_CALLS):
            problems.append(f"{meta['grade_id']}: no labkit.checks call")
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            hidden_calls = {n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                            for n in ast.walk(ast.parse(hidden)) if isinstance(n, ast.Call)}
            in_kernel = hidden_calls & {"assert_close", "assert_equal", "assert_scalar", "compare_gradients"}
            if in_kernel:
                problems.append(f"{meta['grade_id']}: the hidden part compares in the kernel with {sorted(in_kernel)} "
                                "(use expect_close/expect_equal/expect_scalar: the judge holds the answer)")
    assert not problems, f"{lab}: " + "; ".join(problems)
