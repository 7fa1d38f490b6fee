"""What the grader needs of a gradebook besides nbgrader's API, for SQLite and PostgreSQL alike.

* :func:`snapshot`: the small read-only SQLite gradebook a grading task carries to its worker:
  the course, assignments, notebooks and source/grade/solution/task cells (what nbgrader's
  sanitize pass reads), and none of the class's submissions, so a task stays a few hundred
  KiB however many students were graded before it.
* :func:`exists`: whether a gradebook has been created (labs released).
* :func:`ensure_students`: create student rows before several scorers run at once, so two
  scorers never insert the same student.
* :func:`scorer_url`: the URL a scoring process uses (SQLite: waits for the lock instead of failing).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from autograde import pipeline  # noqa: F401  (puts this environment's alembic on PATH for nbgrader)
from autograde.course import COURSE_ID, Course

# What nbgrader's sanitize pass reads; submissions and grades stay behind.
DEFINITION_TABLES = ("course", "assignment", "notebook", "base_cell", "source_cell",
                     "grade_cells", "solution_cells", "task_cells")
SQLITE_LOCK_TIMEOUT_S = 120


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def describe(url: str) -> str:
    """``url`` fit for a message: password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def exists(course: Course) -> bool:
    """True when the gradebook holds nbgrader's tables (the labs were released into it)."""
    if is_sqlite(course.db_url):
        return course.gradebook_path.exists()
    from sqlalchemy import create_engine, inspect

    engine = create_engine(course.db_url)
    try:
        return "assignment" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def snapshot(course: Course) -> bytes:
    """A SQLite gradebook holding only the course's definitions (see module doc), as bytes."""
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine, delete, insert, select

    with tempfile.TemporaryDirectory(prefix="gradebook-snapshot-") as tmp:
        path = Path(tmp) / "gradebook.db"
        Gradebook(f"sqlite:///{path}", COURSE_ID).close()  # nbgrader's schema and version stamp
        source, target = create_engine(course.db_url), create_engine(f"sqlite:///{path}")
        try:
            with source.connect() as src, target.begin() as dst:
                dst.execute(delete(Base.metadata.tables["course"]))
                for table in Base.metadata.sorted_tables:
                    if table.name not in DEFINITION_TABLES:
                        continue
                    rows = [dict(row._mapping) for row in src.execute(select(table))]
                    if rows:
                        dst.execute(insert(table), rows)
        finally:
            source.dispose()
            target.dispose()
        return path.read_bytes()


def ensure_students(course: Course, students: Iterable[str]) -> None:
    """Create the students' rows (as nbgrader's autograde would) before parallel scorers run."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, COURSE_ID) as gb:
        for student in students:
            gb.update_or_create_student(student)


def scorer_url(course: Course) -> str:
    """The gradebook URL for one of several scoring processes: on SQLite, wait for the write
    lock (pysqlite's ``timeout``) rather than fail at once; other databases unchanged."""
    url = course.db_url
    if is_sqlite(url) and "timeout=" not in url:
        return url + ("&" if "?" in url else "?") + f"timeout={SQLITE_LOCK_TIMEOUT_S}"
    return url
