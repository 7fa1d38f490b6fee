"""The fast parts of grading at scale: the private PostgreSQL gradebook server, the small
gradebook snapshot tasks carry, scorer set-up, and the GPU check's CPU-only path.
(The slow parts — several scorers and PostgreSQL against serial nbgrader, kill -9 with
several scorers — are in test_parallel.py; the measured scale runs in autograde.scale.)"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograde import gradebooks, pgserver
from autograde.course import COURSE_ID, REPO_ROOT, Course


@pytest.fixture
def postgres(tmp_path):
    ok, why = pgserver.available()
    if not ok:
        pytest.skip(why)
    # pytest's own temp folder is private to its user; as root the server runs as another user
    base = Path(tempfile.mkdtemp(prefix="pgtest-"))
    base.chmod(0o711)
    workspace = base / "ws"
    workspace.mkdir()
    try:
        url = pgserver.start(workspace)
        yield workspace, url
    finally:
        pgserver.stop(workspace)
        shutil.rmtree(base, ignore_errors=True)


def _fill(url: str) -> None:
    """A released assignment with one graded cell and one graded submission, via nbgrader's API."""
    with Gradebook(url, COURSE_ID) as gb:
        gb.add_assignment("lab1")
        gb.add_notebook("lab1", "lab1")
        gb.add_grade_cell("q1", "lab1", "lab1", max_score=2, cell_type="code")
        gb.add_source_cell("q1", "lab1", "lab1", cell_type="code", source="assert True", locked=True)
        gb.add_student("alice")
        gb.add_submission("lab1", "alice")


def test_postgres_server_lives_in_the_workspace_on_a_socket_only(postgres):
    workspace, url = postgres
    assert url.startswith("postgresql+psycopg://") and "host=" in url
    assert pgserver.running(workspace) and pgserver.url(workspace) == url
    assert oct((pgserver.folder(workspace) / "url").stat().st_mode & 0o777) == "0o600"
    port = int(url.rsplit("port=", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # no TCP listener unless --tcp
    _fill(url)
    with Gradebook(url, COURSE_ID) as gb:
        assert [s.id for s in gb.students] == ["alice"]
    # the command line sees the same server, and a restart keeps the data
    out = subprocess.run([sys.executable, "-m", "autograde.pgserver", "url", "--workspace", str(workspace)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == url
    assert pgserver.stop(workspace) and not pgserver.running(workspace)
    again = pgserver.start(workspace)
    with Gradebook(again, COURSE_ID) as gb:
        assert gb.find_submission("lab1", "alice").score == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_snapshot_carries_definitions_not_submissions(kind, tmp_path, request):
    if kind == "postgres":
        workspace, url = request.getfixturevalue("postgres")
        course = Course(root=REPO_ROOT, workspace=workspace, gradebook_url=url)
    else:
        course = Course(root=REPO_ROOT, workspace=tmp_path / "ws")
        course.workspace.mkdir()
    assert not gradebooks.exists(course)
    _fill(course.db_url)
    assert gradebooks.exists(course)
    blob = gradebooks.snapshot(course)
    path = tmp_path / "snap.db"
    path.write_bytes(blob)
    with sqlite3.connect(path) as db:
        count = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
                 for t in ("assignment", "notebook", "grade_cells", "source_cell", "student",
                           "submitted_assignment", "grade")}
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert count == {"assignment": 1, "notebook": 1, "grade_cells": 1, "source_cell": 1, "student": 0,
                     "submitted_assignment": 0, "grade": 0}
    with Gradebook(f"sqlite:///{path}", COURSE_ID) as gb:  # nbgrader opens it as its own
        assert gb.find_grade_cell("q1", "lab1", "lab1").max_score == 2


def test_students_exist_before_parallel_scorers(tmp_path):
    course = Course(root=REPO_ROOT, workspace=tmp_path / "ws")
    course.workspace.mkdir()
    _fill(course.db_url)
    gradebooks.ensure_students(course, ["alice", "bob", "bob"])
    with Gradebook(course.db_url, COURSE_ID) as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob"]


def test_scorers_wait_for_sqlite_and_leave_other_urls_alone(tmp_path):
    course = Course(root=REPO_ROOT, workspace=tmp_path)
    assert gradebooks.scorer_url(course) == f"{course.db_url}?timeout={gradebooks.SQLITE_LOCK_TIMEOUT_S}"
    pg = Course(root=REPO_ROOT, workspace=tmp_path, gradebook_url="postgresql+psycopg://u:p@/g?host=/x")
    assert gradebooks.scorer_url(pg) == pg.db_url


def test_gpu_check_says_no_cuda_and_exits_cleanly():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hides any GPU, so this path runs everywhere
    done = subprocess.run([sys.executable, "-m", "autograde.gpucheck"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA device" in done.stdout
    assert "graded" not in done.stdout  # it did nothing else


def test_scorer_gradebooks_reuse_one_server_connection_and_reconnect_when_it_is_ended(postgres):
    """With autograde.fastpaths (every scorer process), each ``Gradebook`` open on a database server
    reuses the pooled connection instead of starting a server process of its own; when the server
    has ended that connection (a restart, an idle timeout) the next open reconnects (a ping before
    reuse) instead of failing."""
    workspace, url = postgres
    _fill(url)
    code = f"""
import json
import sqlalchemy
from sqlalchemy import event
from autograde import fastpaths
fastpaths.install()
from nbgrader.api import Gradebook
connects = []
event.listen(sqlalchemy.engine.Engine, "connect", lambda dbapi, record: connects.append(1))
url = {url!r}
for _ in range(5):
    with Gradebook(url, {COURSE_ID!r}) as gb:
        students = [s.id for s in gb.students]
pooled = len(connects)
admin = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)  # not through the fast path
with admin.connect() as conn:  # the server ends every other session, the pooled one included
    others = conn.execute(sqlalchemy.text("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                          "AND datname = current_database()")).scalars().all()
    ended = sum(conn.execute(sqlalchemy.text("SELECT pg_terminate_backend(:pid)"), {{"pid": pid}}).scalar()
                for pid in others)
with Gradebook(url, {COURSE_ID!r}) as gb:
    after = [s.id for s in gb.students]
print(json.dumps({{"students": students, "connects": pooled, "ended": ended, "after": after}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["students"] == ["alice"] and result["after"] == ["alice"]
    assert result["connects"] == 1, "five gradebook opens, one server connection"
    assert result["ended"] >= 1, "the pooled connection was ended by the server before the last open"
