"""Hostile and broken submissions (tests/hostile_corpus.py) get the score and the one-line
reason they deserve, in one parallel grading run beside honest ones; originals stay
untouched, and the sandbox really keeps student code away from solutions/ and the network."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket

import nbformat
import pytest
from conftest import make_small_course
from hostile_corpus import CASES, LAB, apply_edit

from autograde import parallel, pipeline, samples
from autograde.course import REPO_ROOT, GradingLimits
from autograde.sandbox import sandbox_status

pytestmark = [pytest.mark.xdist_group("hostile"), pytest.mark.notebook]

# Small limits so the corpus grades in a couple of minutes; the shortened Lab 1 needs ~5 s and <1 GiB.
# HOSTILE_CELL_TIMEOUT raises the cell limit on a machine busy with other work (importing torch
# alone can then take longer than the default); the notebook limit stays three cell limits.
_CELL = int(os.environ.get("HOSTILE_CELL_TIMEOUT", "12"))
LIMITS = GradingLimits(cell_timeout_s=_CELL, notebook_timeout_s=3 * _CELL, memory_bytes=1024**3,
                       max_processes=64, max_output_bytes=2 * 1024**2)


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded_corpus(tmp_path_factory):
    ok, why = sandbox_status()
    if not ok:
        pytest.fail(f"the sandbox is required for this test: {why}")
    import dataclasses

    course = dataclasses.replace(make_small_course(tmp_path_factory.mktemp("hostile"), tmp_path_factory.getbasetemp()),
                                 limits=LIMITS)
    pipeline.release(course, [LAB])
    release = nbformat.read(course.release_notebook(LAB), as_version=4)
    reference = samples._solution_sources(nbformat.read(course.source_notebook(LAB), as_version=4))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # the grader's own loopback: the sandboxed kernel must not reach it
    port = listener.getsockname()[1]
    for case in CASES:
        solutions = dict(reference)
        for cell, code in case.replace.items():
            solutions[cell] = code
        for cell, code in case.prepend.items():
            solutions[cell] = code + solutions[cell]
        nb = apply_edit(samples.fill_solutions(release, solutions), case.edit)
        if case.append_cell:
            code = case.append_cell.replace("__REPO__", str(REPO_ROOT))
            nb.cells.append(nbformat.v4.new_code_cell(code.replace('"PROBE_PORT", "1"', f'"PROBE_PORT", "{port}"')))
        path = samples.write_submission(course, LAB, case.student, nb if case.raw is None else case.raw)
        if case.rename_to:
            path.rename(path.with_name(case.rename_to))
        for rel, text in case.extra_files.items():
            (path.parent / rel).parent.mkdir(parents=True, exist_ok=True)
            (path.parent / rel).write_text(text)
    before = {s: _digest(course.submitted_dir / s) for s in course.students()}
    results = {r.student: r for r in parallel.autograde(course, [LAB], workers=2, progress=False)}
    after = {s: _digest(course.submitted_dir / s) for s in course.students()}
    listener.close()
    return course, results, before, after


@pytest.mark.parametrize("case", CASES, ids=[c.student for c in CASES])
def test_each_case_gets_its_score_and_reason(graded_corpus, case):
    course, results, _, _ = graded_corpus
    result = results[case.student]
    assert result.status == case.status, f"{case.what}: {result.status}: {result.reason}"
    if case.score is not None:
        assert result.score == case.score, f"{case.what}: {result.score} (reason: {result.reason})"
    if case.at_most is not None:
        assert result.score <= case.at_most, f"{case.what}: earned {result.score} > {case.at_most} (reason: {result.reason})"
    assert re.search(case.reason, result.reason), f"{case.what}: reason was {result.reason!r}"


def test_every_submission_has_a_row_and_the_gradebook_is_sound(graded_corpus):
    import sqlite3

    course, results, _, _ = graded_corpus
    assert set(results) == {c.student for c in CASES}
    with sqlite3.connect(course.gradebook_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_tamper_evidence_is_flagged_for_review_and_graded_by_the_judge(graded_corpus):
    course, results, _, _ = graded_corpus
    flagged = [s for s, r in results.items() if "review: a decoy check that must fail passed" in r.reason]
    assert {"input-transformer", "patched-checks"} <= set(flagged), flagged
    for student in flagged:
        assert results[student].status == "graded"
        assert (course.held_dir / LAB / f"{student}.ipynb").exists(), "a flagged notebook is kept for the TA"


def test_honest_work_is_never_flagged(graded_corpus):
    _, results, _, _ = graded_corpus
    for case in CASES:
        if case.student.startswith("honest") or case.student == "sandbox-probe":
            assert "review:" not in results[case.student].reason, results[case.student].reason


def test_hidden_tests_never_reach_feedback_in_any_encoding(graded_corpus):
    """A student function prints the running test cell (hidden part included) base64-encoded, and
    a later cell prints what it stashed: neither reaches the autograded test cells or the feedback."""
    import base64

    course, results, _, _ = graded_corpus
    leakers = [c.student for c in CASES if c.leak]
    written = pipeline.feedback(course, [(LAB, s) for s in leakers])
    assert len(written) == len(leakers)
    source = nbformat.read(course.source_notebook(LAB), as_version=4)
    hidden = [c.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].strip()
              for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source]
    for student, page in zip(leakers, written):
        html = page.read_text()
        # the student's own code (which contains these words) is shown; what it printed is not
        assert not re.search(r"(LEAK|LATER)[A-Za-z0-9+/=]{16,}", html), f"{student}: printed source reached the feedback"
        for text in hidden:
            assert text.splitlines()[0] not in html
            assert base64.b64encode(text.encode()).decode()[:40] not in html
        nb = nbformat.read(course.autograded_notebook(LAB, student), as_version=4)
        graded = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        assert not any("LEAK" in o.get("text", "") for c in graded for o in c.get("outputs", [])), \
            "a test cell kept the student's own output"


def test_originals_are_untouched(graded_corpus):
    _, _, before, after = graded_corpus
    assert before == after


def test_the_sandbox_blocks_solutions_gradebook_other_students_and_network(graded_corpus):
    course, results, _, _ = graded_corpus
    nb = nbformat.read(course.autograded_notebook(LAB, "sandbox-probe"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    probe = json.loads(re.search(r"PROBE (\{.*\})", text).group(1))
    assert probe["solutions"] == "blocked: FileNotFoundError", probe
    assert probe["repo_root"] == ["data", "labkit"] or set(probe["repo_root"]) <= {"data", "labkit", ".venv"}, probe
    assert probe["gradebook_here"].startswith("blocked"), probe
    assert probe["other_student"].startswith("blocked"), probe
    assert probe["loopback"].startswith("blocked") and probe["internet"].startswith("blocked"), probe
    assert probe["write_usr"].startswith("blocked") and probe["write_labkit"].startswith("blocked"), probe


@pytest.mark.parametrize("asked", [False, True])
def test_without_bubblewrap_the_grader_refuses_unless_asked(monkeypatch, asked):
    from autograde import sandbox

    monkeypatch.setattr(sandbox, "sandbox_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    if asked:
        assert sandbox.require_sandbox(True).startswith("UNSANDBOXED (asked for): bubblewrap")
    else:
        with pytest.raises(sandbox.SandboxUnavailable, match=r"cannot sandbox student code: .*--unsandboxed"):
            sandbox.require_sandbox(False)


def test_the_sandbox_binds_nothing_of_the_course_but_labkit_and_data(tmp_path):
    from autograde.sandbox import bwrap_command

    cmd = bwrap_command(["python", "-m", "ipykernel_launcher"], tmp_path / "scratch", tmp_path / "ipc",
                        uid=-1, max_processes=64, max_file_bytes=1, tmp_bytes=1)
    binds = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")]
    repo = [b for b in binds if b.startswith(str(REPO_ROOT)) and not b.startswith(str(REPO_ROOT / ".venv"))]
    assert sorted(repo) == sorted([str(REPO_ROOT / "labkit"), str(REPO_ROOT / "data")])
    writable = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--bind"]
    assert writable == [str(tmp_path / "scratch"), str(tmp_path / "ipc")]
    assert "--unshare-net" in cmd and "--unshare-pid" in cmd


def test_kernels_read_one_matplotlib_font_list_and_cannot_change_it(tmp_path, monkeypatch):
    """The font list is built once outside the sandbox and bound read-only into each kernel's
    matplotlib folder, which stays the kernel's own (writable) otherwise."""
    import subprocess
    import sys

    from autograde import sandbox

    ok, why = sandbox.sandbox_status()
    if not ok:
        pytest.fail(f"the sandbox is required for this test: {why}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fonts = sandbox.matplotlib_font_cache.__wrapped__()
    assert fonts is not None and fonts.is_relative_to(tmp_path / "cache")
    [fontlist] = fonts.glob("fontlist-*.json")
    before = fontlist.read_bytes()
    scratch, ipc = tmp_path / "scratch", tmp_path / "ipc"
    scratch.mkdir()
    ipc.mkdir()
    code = (
        "import logging, pathlib\n"
        "logging.basicConfig()\n"
        "logging.getLogger('matplotlib.font_manager').setLevel(logging.DEBUG)\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2]); plt.savefig('/tmp/plot.png')\n"
        f"listed = pathlib.Path('/tmp/matplotlib/{fontlist.name}')\n"
        "try:\n"
        "    listed.write_text('{}')\n"
        "    print('WROTE THE FONT LIST')\n"
        "except OSError:\n"
        "    pass\n"
        "pathlib.Path('/tmp/matplotlib/other.txt').write_text('mine')\n"
        "print('done')\n"
    )
    uid = 65534 if os.geteuid() == 0 else -1  # as root the kernel drops to a uid of its own
    cmd = sandbox.bwrap_command([sys.executable, "-c", code], scratch, ipc, uid=uid, max_processes=64,
                                max_file_bytes=2**30, tmp_bytes=2**28, font_cache=fonts)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["done"], done.stdout
    assert f"Using fontManager instance from /tmp/matplotlib/{fontlist.name}" in done.stderr, done.stderr[-2000:]
    assert "Could not save" not in done.stderr and "Rebuilding" not in done.stderr, done.stderr[-2000:]
    assert fontlist.read_bytes() == before
    assert sandbox.matplotlib_font_cache.__wrapped__() == fonts  # built once: found again, not rebuilt
