"""Release, autograde and feedback through nbgrader's own API, one submission at a time.

Every submission is inspected first (:mod:`autograde.intake`); a broken one gets a
recorded reason and the loop moves on, so one bad notebook never stops a class.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from autograde import fastpaths
from autograde.course import Course
from autograde.intake import Intake, grade_ids, grading_metadata, inspect, restore_grading_metadata

# nbgrader shells out to `alembic` and jupyter to `python`: make sure both resolve to
# this interpreter's environment even when the venv is not activated.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")
fastpaths.install_alembic_head()  # ...though the alembic head is read in this process (1.2 s less per new gradebook)


@dataclass
class GradeResult:
    """What happened to one (student, lab) submission."""

    student: str
    lab: str
    status: str  # "graded" | "error"
    score: float = 0.0
    max_score: float = 0.0
    needs_manual: bool = False
    seconds: float = 0.0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


def make_api(course: Course, overrides: dict | None = None) -> NbGraderAPI:
    """An NbGraderAPI bound to ``course``'s configuration (``{"Section.trait": value}`` overrides)."""
    course.workspace.mkdir(parents=True, exist_ok=True)
    config = course.nbgrader_config()
    for key, value in (overrides or {}).items():
        section, name = key.split(".")
        setattr(getattr(config, section), name, value)
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.WARNING)
    return api


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip()
        raise RuntimeError(f"{what} failed:\n{detail}")


def release(course: Course, labs: Iterable[str] | None = None, record: bool = True) -> list[Path]:
    """``nbgrader generate_assignment`` for each lab into the release directory, then the
    lab's answers for the judge (recorded from the solution unless already current)."""
    from autograde import answers

    api = make_api(course)
    written = []
    for lab in labs or course.labs():
        with contextlib.redirect_stdout(io.StringIO()):
            _check(api.generate_assignment(lab, force=True, create=True), f"release of {lab}")
        written.append(course.release_notebook(lab))
        if record:
            answers.ensure(course, lab)
    return written


def require_answers(course: Course, labs: Iterable[str]) -> None:
    """Refuse to grade a lab whose answers are missing or stale (raises AnswersError)."""
    from autograde import answers

    for lab in labs:
        answers.load(course, lab)


def _failure_reason(log: str, error: str) -> str:
    text = (error or log or "").strip().splitlines()
    interesting = [line for line in text if "error" in line.lower() or "fail" in line.lower()]
    return (interesting or text or ["nbgrader failed without a message"])[-1].strip()[:300]


def read_score(course: Course, lab: str, student: str) -> tuple[float, float, bool]:
    """(score, max_score, needs_manual_grade) of a submission from the gradebook."""
    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission(lab, student)
        return float(sub.score), float(sub.max_score), bool(sub.needs_manual_grade)


def grading_notes(course: Course, lab: str, student: str) -> list[str]:
    """What the grader noticed in this submission: events while it ran (timeouts, a dead kernel,
    ...) and what a TA should look at (tamper evidence, dynamic calls), marked ``review:``."""
    import json

    try:
        notes = json.loads(course.notes_path(lab, student).read_text())
    except (OSError, ValueError):
        return []
    return list(notes.get("events", [])) + [f"review: {line}" for line in notes.get("review", [])]


def record_outcome(course: Course, outcome: dict, result: GradeResult) -> GradeResult:
    """Keep nbgrader's log for ``result``'s submission and fill in its score or failure reason."""
    log_dir = course.workspace / "logs" / result.lab
    log_dir.mkdir(parents=True, exist_ok=True)
    log = outcome.get("log") or ""
    (log_dir / f"{result.student}.log").write_text(log)
    if not outcome.get("success"):
        result.reason = _failure_reason(log, outcome.get("error") or "")
        return result
    try:
        result.score, result.max_score, result.needs_manual = read_score(course, result.lab, result.student)
    except MissingEntry:
        result.reason = "nbgrader reported success but the gradebook has no submission"
        return result
    result.status = "graded"
    result.reason = "; ".join([*result.warnings, *grading_notes(course, result.lab, result.student)])
    return result


def warm_dataset_cache() -> None:
    """Sandboxed kernels see data/ read-only: build the dataset caches before grading."""
    try:
        from labkit.data import warm_cache

        warm_cache()
    except Exception as err:  # a missing cache only makes grading slower
        print(f"warning: could not build the dataset cache: {err}", file=sys.stderr)


def submission_files(course: Course, lab: str, student: str) -> dict[str, bytes]:
    """What is graded of a submission: the notebook and nbgrader's timestamp (late penalties)."""
    folder = course.submission_dir(lab, student)
    return {name: (folder / name).read_bytes() for name in (f"{lab}.ipynb", "timestamp.txt")
            if (folder / name).is_file()}


def stage_submission(course: Course, lab: str, student: str, release_nb: nbformat.NotebookNode,
                     original: dict[str, bytes]) -> dict[str, bytes]:
    """Copy what is graded (``original``, from :func:`submission_files`) into
    ``staged/<student>/<lab>/``, the notebook with the release's grading metadata restored
    (see intake.restore_grading_metadata), and clear the last run's notes. Returns the
    staged files; the student's folder is only read."""
    import shutil

    notebook = f"{lab}.ipynb"
    files = dict(original)
    restored = restore_grading_metadata(nbformat.reads(files[notebook].decode(), as_version=4), release_nb)
    files[notebook] = nbformat.writes(restored).encode()
    target = course.staged_dir / student / lab
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, blob in files.items():
        (target / name).write_bytes(blob)
    course.notes_path(lab, student).unlink(missing_ok=True)
    return files


def grading_api(course: Course, overrides: dict | None = None) -> NbGraderAPI:
    """The API that grades: reads submissions from ``staged/``, runs SafeExecute (unless overridden)."""
    config = {**course.grading_config(), "CourseDirectory.submitted_directory": str(course.staged_dir)}
    return make_api(course, {**config, **(overrides or {})})


def autograde_one(course: Course, api: NbGraderAPI, lab: str, student: str, force: bool = True) -> GradeResult:
    """Inspect then autograde one submission; never raises for a bad submission."""
    start = time.perf_counter()
    release_nb = nbformat.read(course.release_notebook(lab), as_version=4)
    release_ids, release_meta = grade_ids(release_nb), grading_metadata(release_nb)
    intake: Intake = inspect(course.submission_dir(lab, student), lab, student, release_ids, release_meta)
    result = GradeResult(student=student, lab=lab, status="error", warnings=list(intake.warnings))
    if not intake.ok:
        result.reason = intake.error or ""
    else:
        stage_submission(course, lab, student, release_nb, submission_files(course, lab, student))
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = api.autograde(lab, student, force=force, create=True)
        record_outcome(course, outcome, result)
    result.seconds = time.perf_counter() - start
    return result


def autograde(
    course: Course,
    labs: Iterable[str] | None = None,
    students: Iterable[str] | None = None,
    progress: bool = True,
) -> list[GradeResult]:
    """Autograde every (student, lab) submission found, serially, with a progress bar."""
    from tqdm import tqdm

    from autograde.sandbox import require_sandbox

    require_sandbox(course.unsandboxed)
    labs = list(labs or course.labs())
    require_answers(course, labs)
    warm_dataset_cache()
    api = grading_api(course)
    wanted = list(students) if students else course.students()
    jobs = [
        (lab, student)
        for lab in (labs or course.labs())
        for student in wanted
        if course.submission_dir(lab, student).is_dir()
    ]
    results = []
    bar = tqdm(jobs, desc="autograde", unit="nb", disable=not progress)
    for lab, student in bar:
        bar.set_postfix_str(f"{lab}/{student}")
        results.append(autograde_one(course, api, lab, student))
    return results


def graded_submissions(course: Course, labs: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(lab, student) pairs that the gradebook holds an autograded submission for."""
    wanted = set(labs or course.labs())
    if not course.gradebook_path.exists():
        return []
    with Gradebook(course.db_url) as gb:
        pairs = [(a.name, s.student.id) for a in gb.assignments if a.name in wanted for s in a.submissions]
    # a submission nbgrader failed on has a gradebook row but no autograded notebook
    return sorted(p for p in pairs if course.autograded_notebook(*p).exists())


def feedback(course: Course, pairs: Iterable[tuple[str, str]]) -> list[Path]:
    """nbgrader's HTML feedback for each (lab, student) pair; one failure does not stop the rest.

    Each test cell shows pass/fail, points and the failure message, never the hidden tests:
    :mod:`autograde.feedback_filters` drops them from the sources and the tracebacks.
    """
    api = make_api(course)  # the course config already sets the feedback filters
    written = []
    for lab, student in pairs:
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = api.generate_feedback(lab, student, force=True)
        if outcome.get("success"):
            written.append(course.feedback_dir / student / lab / f"{lab}.html")
        else:
            reason = _failure_reason(outcome.get("log") or "", outcome.get("error") or "")
            print(f"feedback for {student}/{lab} failed: {reason}", file=sys.stderr)
    return written
