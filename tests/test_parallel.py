"""The parallel grader gives exactly what serial nbgrader gives, locally and on Dask,
and survives being killed."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings

import nbformat
import psutil
import pytest
from conftest import make_small_course
from nbgrader.api import Gradebook

from autograde import parallel, pipeline, samples
from autograde.course import REPO_ROOT

LAB = "lab1_perceptron"
STUDENTS = ["demo-reference", "demo-partial", "demo-blank"]
pytestmark = [pytest.mark.xdist_group("parallel"), pytest.mark.notebook]  # one worker runs these, in order


def _prepare(tmp_path):
    course = make_small_course(tmp_path, tmp_path.parent)  # a shortened Lab 1 (see conftest)
    pipeline.release(course, [LAB])
    samples.make_samples(course, [LAB])
    samples.write_submission(course, LAB, "broken", "{ not json")
    return course


def _grades(course) -> dict:
    """Everything nbgrader recorded, per student: cell scores, flags, totals."""
    out = {}
    with Gradebook(course.db_url) as gb:
        for sub in gb.find_assignment(LAB).submissions:
            nb = gb.find_submission_notebook(LAB, LAB, sub.student.id)
            out[sub.student.id] = {
                "score": sub.score,
                "cells": {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades},
                "comments": sorted((c.name, c.auto_comment) for c in nb.comments),
            }
    return out


def _notebook(course, student) -> dict:
    """The autograded notebook, minus what differs between two serial runs too: nbclient's
    per-cell execution timestamps, and how the kernel happened to chunk a stream."""
    nb = json.loads(course.autograded_notebook(LAB, student).read_text())
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        merged = []
        for out in cell.get("outputs", []):
            if merged and out["output_type"] == "stream" and merged[-1]["output_type"] == "stream" \
                    and merged[-1]["name"] == out["name"]:
                merged[-1] = {**merged[-1], "text": "".join(merged[-1]["text"]) + "".join(out["text"])}
            else:
                merged.append({**out, "text": "".join(out["text"])} if out["output_type"] == "stream" else out)
        if "outputs" in cell:
            cell["outputs"] = merged
    return nb


def _digest(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    course = _prepare(tmp_path_factory.mktemp("serial"))
    results = {r.student: r for r in pipeline.autograde(course, [LAB], progress=False)}
    return course, results


def _assert_same_as_serial(serial, course, results):
    serial_course, serial_results = serial
    assert {s: (r.status, r.score) for s, r in results.items()} == {
        s: (r.status, r.score) for s, r in serial_results.items()
    }
    assert results["broken"].reason == serial_results["broken"].reason
    assert _grades(course) == _grades(serial_course)
    for student in STUDENTS:
        ours, theirs = _notebook(course, student), _notebook(serial_course, student)
        assert ours == theirs, f"{student}: notebooks differ: {_first_difference(ours, theirs)}"


def _first_difference(a: dict, b: dict) -> str:
    if a["metadata"] != b["metadata"]:
        return f"notebook metadata {a['metadata']} != {b['metadata']}"
    for i, (x, y) in enumerate(zip(a["cells"], b["cells"])):
        for key in sorted(set(x) | set(y)):
            if x.get(key) != y.get(key):
                return f"cell {i} {key}: {str(x.get(key))[:400]} != {str(y.get(key))[:400]}"
    return f"{len(a['cells'])} cells != {len(b['cells'])} cells"


def test_two_local_workers_match_serial_nbgrader(serial, tmp_path):
    course = _prepare(tmp_path)
    before = _digest(course.submitted_dir)
    # two scoring processes sharing the SQLite gradebook (autograde.scoring)
    results = {r.student: r for r in parallel.autograde(course, [LAB], workers=2, scorers=2, progress=False)}
    _assert_same_as_serial(serial, course, results)
    assert _digest(course.submitted_dir) == before, "student originals were modified"
    # the gradebook is an ordinary nbgrader gradebook: nbgrader's own export reads it
    from autograde import exports

    assert "demo-reference" in exports.export_nbgrader_csv(course).read_text()
    # a re-run grades nothing unchanged; a changed submission is regraded alone
    rerun = {r.student: r for r in parallel.autograde(course, [LAB], workers=2, progress=False)}
    assert all("skipped" in rerun[s].reason for s in STUDENTS)
    reference = nbformat.read(course.submission_dir(LAB, "demo-reference") / f"{LAB}.ipynb", as_version=4)
    samples.write_submission(course, LAB, "demo-blank", reference)
    third = {r.student: r for r in parallel.autograde(course, [LAB], workers=2, progress=False)}
    assert "skipped" not in third["demo-blank"].reason
    assert third["demo-blank"].score == third["demo-reference"].score
    assert "skipped" in third["demo-partial"].reason


def _running(process) -> bool:
    """Alive and not a zombie (a zombie is dead, waiting for its parent or init to reap it)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_kill_minus_9_mid_run_then_resume_loses_nothing(serial, tmp_path):
    course = _prepare(tmp_path)
    cmd = [sys.executable, "-m", "autograde", "--course-root", str(course.root), "--workspace", str(course.workspace),
           "autograde",
           "--lab", LAB, "--workers", "1", "--scorers", "2"]  # several scorers keep the property
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = course.workspace / "state" / LAB
    deadline = time.time() + 240
    while time.time() < deadline and not (state.exists() and any(state.glob("*.json"))):
        time.sleep(0.2)
    assert state.exists() and any(state.glob("*.json")), "no submission was graded before the deadline"
    children = psutil.Process(proc.pid).children(recursive=True)  # workers, scorers, kernels
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    deadline = time.time() + 15
    while any(_running(p) for p in children) and time.time() < deadline:
        time.sleep(0.2)
    alive = [p for p in children if _running(p)]
    assert not alive, f"processes outlived the killed grader: {[(p.pid, p.name()) for p in alive]}"
    first = {p.name: p.stat().st_mtime_ns for p in state.glob("*.json")}
    assert len(first) < 3, "the run finished before it could be killed"
    with sqlite3.connect(course.gradebook_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for path in state.glob("*.json"):
        json.loads(path.read_text())  # never half-written
    results = {r.student: r for r in parallel.autograde(course, [LAB], workers=1, progress=False)}
    for name, mtime in first.items():
        assert (state / name).stat().st_mtime_ns == mtime, f"{name} was graded twice"
        assert "skipped" in results[name[:-5]].reason
    _assert_same_as_serial(serial, course, results)


def test_longest_first_scheduling_puts_answered_notebooks_first(tmp_path):
    course = _prepare(tmp_path)
    tasks = parallel.plan(course, [LAB], None, force=True, threads=1).tasks
    assert [t.student for t in tasks][0] == "demo-reference"
    assert [t.student for t in tasks][-1] == "demo-blank"


@pytest.fixture
def gradebook_course(tmp_path):
    """A course whose gradebook is a private PostgreSQL server (autograde.pgserver), or the
    SQLite one with a warning where PostgreSQL is not installed."""
    import dataclasses
    import shutil
    import tempfile
    from pathlib import Path

    from autograde import pgserver

    ok, why = pgserver.available()
    if not ok:
        warnings.warn(pytest.PytestWarning(f"PostgreSQL gradebook not tested: {why}"), stacklevel=2)
        yield make_small_course(tmp_path, tmp_path.parent)
        return
    base = Path(tempfile.mkdtemp(prefix="pgtest-"))
    base.chmod(0o711)  # as root the server runs as the postgres user, which must reach its data
    try:
        url = pgserver.start(base)
        yield dataclasses.replace(make_small_course(tmp_path, tmp_path.parent), gradebook_url=url)
    finally:
        pgserver.stop(base)
        shutil.rmtree(base, ignore_errors=True)


def test_dask_workers_and_postgres_scorers_match_serial(serial, gradebook_course):
    """A real Dask scheduler with two worker processes executes; two scorers write to a private
    PostgreSQL server (SQLite where PostgreSQL is not installed). One grading run covers both,
    since each is a path of its own through parallel.autograde and the suite is CPU-bound."""
    from distributed import LocalCluster

    course = gradebook_course
    pipeline.release(course, [LAB])
    samples.make_samples(course, [LAB])
    samples.write_submission(course, LAB, "broken", "{ not json")
    if course.gradebook_url:
        assert not course.gradebook_path.exists(), "nothing may fall back to SQLite"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        results = {r.student: r for r in parallel.autograde(course, [LAB], scheduler=cluster.scheduler_address,
                                                            scorers=2, progress=False)}
    _assert_same_as_serial(serial, course, results)
    workers = {json.loads(p.read_text())["worker"] for p in (course.workspace / "state" / LAB).glob("*.json")}
    assert workers, "state files record which worker graded each submission"
    if course.gradebook_url:
        assert not course.gradebook_path.exists(), "nothing may fall back to SQLite"
    from autograde import exports

    assert "demo-reference" in exports.export_nbgrader_csv(course).read_text()


def test_a_dask_threads_serving_child_answers_and_its_death_is_reported():
    """Dask tasks run in a long-lived ``autograde.worker --serve`` child per worker thread; a
    task it cannot execute comes back with a reason, and a dead child raises EOFError (the
    Dask task then runs in a one-off child, see parallel._execute_on_dask_worker)."""
    from autograde.worker import ServingChild

    child = ServingChild()
    try:
        task = parallel.Task(LAB, "nobody", "0" * 64, submission={}, lab_files={}, gradebook=b"not a database")
        outcome = child.run(task, {"LABKIT_THREADS": "1", "UNSET_ME": None})
        assert outcome.notebook is None and outcome.reason and outcome.student == "nobody"
        assert child.alive(), "one failed task must not end the child"
        child.proc.kill()
        child.proc.wait()
        with pytest.raises(EOFError):
            child.run(task, {})
    finally:
        child.close()


def test_a_serving_child_and_its_kernel_die_with_their_dask_worker(tmp_path):
    """kill -9 of a Dask worker in the middle of a submission takes its serving child and the
    student's kernel with it: nothing keeps running on the node."""
    from distributed import Client, LocalCluster

    course = _prepare(tmp_path)
    task = parallel.plan(course, [LAB], None, force=True, threads=1).tasks[0]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        worker = psutil.Process(next(iter(client.run(os.getpid).values())))
        client.submit(parallel._execute_on_dask_worker, task, pure=False)
        deadline, busy = time.time() + 120, []
        while time.time() < deadline and not any("ipykernel" in " ".join(p.cmdline()) for p in busy):
            time.sleep(0.2)
            busy = [p for p in worker.children(recursive=True) if p.is_running()]
        serving = [p for p in busy if "--serve" in " ".join(p.cmdline())]
        assert len(serving) == 1 and any("ipykernel" in " ".join(p.cmdline()) for p in busy), \
            "the worker's serving child never started a kernel"
        worker.send_signal(signal.SIGKILL)

        # the kernel has only just started: 3 s is well before the notebook could finish on its own
        deadline = time.time() + 3
        while any(_running(p) for p in busy) and time.time() < deadline:
            time.sleep(0.1)
        assert not [p for p in busy if _running(p)], "processes outlived the killed Dask worker"
