"""The student's path in a real browser: JupyterLab, the released lab 1, its visible checks.

Headless Chromium (driven by Playwright) opens lab 1 in the JupyterLab that ``make lab`` starts,
runs every cell, reads each visible check's failure on the unfilled stubs, types an exercise
into its cell (first a wrong answer, then the right one), sees its check fail and then pass,
saves, and presses nbgrader's Validate button. Screenshots go to ``artifacts/browser/``.

The labs are served from a temporary copy; the repository is never written to.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import browser_lab as bl
import nbformat
import psutil
import pytest

from autograde.course import REPO_ROOT

LAB = "lab1_perceptron"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
BUDGET_S = 300  # hard limit for the whole journey (about a minute on an idle 2-core machine)

# What each visible check says when the exercise it checks is still the released stub.
# Stubs raise NotImplementedError inside the student's function, so the traceback names it;
# the multiple-choice checks run on the empty `answers` dict and fail with a CheckError.
BLANK_FAILURES = {
    "test_perceptron_predict": ("NotImplementedError", "in perceptron_predict(x, w, b)"),
    "test_perceptron_train_gates": ("NotImplementedError", "in perceptron_train(x, y, lr, max_epochs)"),
    "test_perceptron_train_random": ("NotImplementedError", "in perceptron_train(x, y, lr, max_epochs)"),
    "test_best_linear_accuracy": ("NotImplementedError", "in best_linear_accuracy(x, y, steps)"),
    "test_xor_network": ("NotImplementedError", "in xor_network(x)"),
    "test_activations": ("NotImplementedError", "in sigmoid(z)"),
    "test_activation_derivatives": ("NotImplementedError", "in d_sigmoid(z)"),
    "test_collapse_linear": ("NotImplementedError", "in collapse_linear(layers)"),
    "test_xor_mlp": ("NotImplementedError", "in make_xor_model(hidden)"),
    **{
        f"test_mcq_q{i}": ("CheckError", f"CheckError: q{i}: answer with a string, one of ['a', 'b', 'c', 'd']; got NoneType")
        for i in range(1, 5)
    },
}
EXERCISE = "perceptron_predict"  # the exercise the student types in
CHECK = "test_perceptron_predict"
# the wrong answer forgets the bias: AND then fires for one input on
WRONG = ("x @ w + b > 0", "x @ w > 0")
WRONG_MESSAGE = "CheckError: AND outputs: 2 of 4 values differ (shape (4,)); max |difference| = 1 at index (1,)"


def _skip_reason() -> str | None:
    if not bl.CHROMIUM.exists():
        return f"{bl.CHROMIUM} is missing (make setup installs Debian's chromium where it can)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing (pinned in requirements.txt)"
    return None


def student_answer(source_cell: str) -> str:
    """The instructor's solution cell as a student would write it: without the nbgrader markers."""
    lines = [line for line in source_cell.split("\n") if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines)


def grade_ids(nb: nbformat.NotebookNode) -> dict[str, int]:
    return {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}


def _playwright_processes() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.mark.notebook
@pytest.mark.xdist_group("browser")
def test_student_journey_in_jupyterlab(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    deadline = bl.Deadline(BUDGET_S)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    root = tmp_path / "labs"
    shutil.copytree(REPO_ROOT / "labs" / LAB, root / LAB, copy_function=shutil.copyfile)
    notebook_path = root / LAB / f"{LAB}.ipynb"
    release = nbformat.read(notebook_path, as_version=4)
    source = nbformat.read(REPO_ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    ids = grade_ids(release)
    checks = {g: i for g, i in ids.items() if release.cells[i].cell_type == "code" and release.cells[i].metadata["nbgrader"]["grade"]}
    assert set(checks) == set(BLANK_FAILURES), "lab 1's check cells changed: update BLANK_FAILURES"
    answer = student_answer(source.cells[grade_ids(source)[EXERCISE]].source)
    wrong = answer.replace(*WRONG)
    assert wrong != answer and "BEGIN SOLUTION" not in answer

    lab = bl.StudentLab(root, tmp_path / "jupyter", ARTIFACTS / "jupyter-server.log")
    with lab:
        before = _playwright_processes()
        pw = sync_playwright().start()
        # the watchdog ends the server and Playwright's driver (and so the browser) by pid if the
        # journey outlives its budget, so a hung call cannot hold the test run hostage
        driver = _playwright_processes() - before
        kill_driver = lambda: [psutil.Process(pid).kill() for pid in driver if psutil.pid_exists(pid)]  # noqa: E731
        page = None
        try:
            with bl.Watchdog(BUDGET_S + 30, lab.stop, kill_driver):
                lab.wait_ready(deadline)
                browser = pw.chromium.launch(executable_path=str(bl.CHROMIUM), args=bl.CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.set_default_timeout(60_000)
                _journey(page, lab, deadline, release, checks, ids, wrong, answer, notebook_path)
        except Exception:
            if page is not None:
                with contextlib.suppress(Exception):  # best effort: the browser may be gone
                    page.screenshot(path=str(ARTIFACTS / "failure.png"))
            raise
        finally:
            pw.stop()  # closes the browser too


def _journey(page, lab, deadline, release, checks, ids, wrong, answer, notebook_path):
    shot = lambda name: page.screenshot(path=str(ARTIFACTS / name))  # noqa: E731
    exercise, check = ids[EXERCISE], ids[CHECK]
    n = len(release.cells)

    # 1. open the released lab; JupyterLab attaches the cells and starts the kernel
    page.goto(f"{lab.url}/lab/tree/{LAB}/{LAB}.ipynb?token={lab.token}", timeout=deadline.ms(90))
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n", arg=[bl.CELLS, len(release.cells)],
        timeout=deadline.ms(90),
    )
    bl.wait_kernel_idle(page, deadline)
    # the student's JupyterLab: nbgrader's Validate button and Assignment List, no instructor tools
    assert page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).count() == 1
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.locator(".lm-Menu").last.wait_for()
    nbgrader_menu = page.locator(".lm-Menu").last.text_content()
    page.keyboard.press("Escape")
    assert "Assignment List" in nbgrader_menu
    assert "Formgrader" not in nbgrader_menu and "Course List" not in nbgrader_menu
    assert lab.get_status("/formgrader") == 404
    shot("01-opened.png")

    # 2. Run > Run All Cells. The setup cell says where it runs, and the run stops at the first
    #    failing check (JupyterLab asks the kernel to drop the queued cells after an error).
    bl.run_and_wait(page, n, deadline, lambda: bl.menu(page, "Run", "runmenu:run-all"))
    setup_out = bl.output_text(page, ids["setup"])
    assert re.search(r"labkit: using device 'cpu'", setup_out), setup_out
    assert "NotImplementedError" in bl.output_text(page, check)
    bl.scroll_to_top_of_view(page, exercise - 1)
    shot("02-failing-check.png")
    #    Then on, cell by cell with Shift+Enter, like a student reading each failure. (One cell at a
    #    time, each after the last has finished: when many cells are queued, a busy machine can
    #    deliver some after ipykernel stopped dropping them, and they would run out of order.)
    code_cells = [i for i, c in enumerate(release.cells) if c.cell_type == "code"]
    for i in range(check + 1, code_cells[-1] + 1):  # not past the last code cell: that adds a cell
        bl.select_cell(page, i, deadline)
        if release.cells[i].cell_type == "code":
            bl.run_and_wait(page, n, deadline, lambda: page.keyboard.press("Shift+Enter"))
            counts = bl.execution_counts(page, n, deadline)
            assert counts[i] == max(c for c in counts if c is not None), f"cell {i} did not run last: {counts}"
        else:
            page.keyboard.press("Shift+Enter")  # renders it and moves on
            page.wait_for_function(f"([sel]) => ({bl.ACTIVE})([sel]).index === {i + 1}", arg=[bl.CELLS],
                                   timeout=deadline.ms(30))

    # 3. every visible check shows its own failure message on the unfilled stubs
    for grade_id, index in checks.items():
        kind, message = BLANK_FAILURES[grade_id]
        text = bl.output_text(page, index)
        assert bl.has_error_output(page, index), f"{grade_id} shows no error:\n{text}"
        assert kind in text and message in text, f"{grade_id}: expected {message!r} in:\n{text}"
        assert "✓" not in text, f"{grade_id} passed something on a blank notebook:\n{text}"

    # 4. type a wrong answer into the exercise, run it and its check: a specific CheckError
    def run_exercise_and_check():
        before = max(c for c in bl.execution_counts(page, n, deadline) if c is not None)
        bl.select_cell(page, exercise, deadline)
        bl.run_and_wait(page, n, deadline, lambda: page.keyboard.press("Shift+Enter"))
        bl.run_and_wait(page, n, deadline, lambda: page.keyboard.press("Shift+Enter"))
        counts = bl.execution_counts(page, n, deadline)
        assert counts[exercise] == before + 1 and counts[check] == before + 2, (before, counts)

    bl.type_cell_source(page, exercise, wrong, deadline)
    run_exercise_and_check()
    text = bl.output_text(page, check)
    assert WRONG_MESSAGE in text, text
    bl.scroll_to_top_of_view(page, exercise)
    shot("03-wrong-answer.png")

    # 5. type the right answer: the check passes, and the saved notebook holds exactly that answer
    bl.type_cell_source(page, exercise, answer, deadline)
    bl.save_notebook(page, deadline)
    saved = nbformat.read(notebook_path, as_version=4)
    assert saved.cells[exercise].source == answer, (
        f"the typed cell differs from the answer:\n{saved.cells[exercise].source!r}\n!=\n{answer!r}"
    )
    changed = [i for i, (a, b) in enumerate(zip(saved.cells, release.cells, strict=True)) if a.source != b.source]
    assert changed == [exercise], f"typing changed other cells too: {changed}"
    run_exercise_and_check()
    text = bl.output_text(page, check)
    assert not bl.has_error_output(page, check), text
    assert "✓ AND outputs" in text and "✓ OR outputs" in text, text
    bl.scroll_to_top_of_view(page, exercise - 1)
    shot("04-passing-check.png")

    # 6. Validate: nbgrader's button runs the saved notebook on the server and lists every grade
    #    cell that fails; the answered check is no longer among them, all the others still are
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=deadline.ms(180))
    assert "validation-failed" in (message.get_attribute("class") or ""), message.text_content()
    blocks = message.locator("pre").all_inner_texts()  # source, error, source, error, ...
    sources = {c.source.strip(): g for g, c in ((g, release.cells[i]) for g, i in ids.items())}
    failed = {sources.get(text.strip(), text[:80]) for text in blocks[::2]}
    expected = {g for g, i in ids.items() if release.cells[i].metadata["nbgrader"].get("grade")} - {CHECK}
    assert failed == expected, f"Validate listed {sorted(failed)}, expected {sorted(expected)}"
    shot("05-validate.png")
    page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()


def test_make_lab_uses_the_student_config():
    """`make lab` starts JupyterLab with the folder the browser test uses (and nothing else global)."""
    out = subprocess.run(["make", "-n", "lab"], cwd=REPO_ROOT, capture_output=True, text=True,
                         env={**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]})
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stdout.splitlines() if "jupyter lab" in x or "jupyter-lab" in x]
    assert line and "JUPYTER_CONFIG_PATH=" in line[-1] and "jupyter_student" in line[-1], out.stdout


def test_validate_in_make_lab_allows_cells_as_long_as_the_grader():
    """nbgrader's default 30 s per cell cut a lab's training short in a student's Validate."""
    from autograde.course import CELL_TIMEOUT_S
    from autograde.hub_course import VALIDATE_WIDTH

    code = ("from nbgrader.apps import ValidateApp; a = ValidateApp(); a.initialize([]); "
            "print(a.config.Execute.timeout, a.config.Validator.width)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/",
                         env={**os.environ, "JUPYTER_CONFIG_PATH": str(REPO_ROOT / "jupyter_student")})
    # and the whole check message: nbgrader's 90 columns cut off the got/expected at its end
    assert out.stdout.split() == [str(CELL_TIMEOUT_S), str(VALIDATE_WIDTH)], out.stderr
