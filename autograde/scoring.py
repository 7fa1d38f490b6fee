"""Score executed notebooks into the gradebook: in the grader's own process, or in several.

Scoring a submission (nbgrader's ``Autograde`` with its outputs replayed, see
:func:`autograde.parallel.score_executed`) costs about 0.4 s of CPU whatever the lab, far less
than executing it, so one scorer keeps up with a dozen or more workers. A large cluster
executes faster than one process can score; then ``scorers > 1`` runs that many long-lived
scoring processes side by side. Each runs the very same ``_merge`` (score, record the outcome,
write the resume state), so every scorer applies the same nbgrader pipeline.

Nothing is lost on ``kill -9``: the executed notebook is written to the workspace's cache
(atomically) *before* a scorer is given it, and the resume state is written only after the
gradebook has committed, as with one scorer. Scoring processes die with the grader
(``PR_SET_PDEATHSIG``), so a killed run never leaves a scorer writing behind a resumed one.

SQLite takes one writer at a time: scorers wait for its lock (see
:func:`autograde.gradebooks.scorer_url`) and retry a submission whose transaction lost a
lock race. A PostgreSQL gradebook (:mod:`autograde.pgserver`) takes them in parallel.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import signal
import sys
import warnings

from autograde.course import Course
from autograde.gradebooks import ensure_students, scorer_url


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _init_scorer(parent: int) -> None:
    from autograde import fastpaths

    _die_with_parent(parent)
    fastpaths.install()  # one SQL engine per gradebook, cached schema validation: same rows, less CPU
    warnings.filterwarnings("ignore", message=".*not in session.*")


def _warm() -> None:
    import autograde.parallel  # noqa: F401  (nbgrader, the judge and their imports)


def _score(course: Course, outcome, warnings_: list[str]):
    from autograde.parallel import _merge

    return _merge(course, outcome, warnings_)


class Scorers:
    """Where scoring happens: ``submit`` returns a future of the submission's GradeResult."""

    def __init__(self, course: Course, scorers: int = 1):
        self.course = course
        self.n = max(1, scorers)
        self._students: set[str] = set()
        self.pool: cf.ProcessPoolExecutor | None = None
        if self.n > 1:
            import multiprocessing

            self.scoring_course = dataclasses.replace(course, gradebook_url=scorer_url(course))
            self.pool = cf.ProcessPoolExecutor(max_workers=self.n, mp_context=multiprocessing.get_context("spawn"),
                                               initializer=_init_scorer, initargs=(os.getpid(),))
            # start every scorer now: importing nbgrader and torch takes seconds, and overlaps
            # with planning and the first executions instead of delaying the first scores
            for _ in range(self.n):
                self.pool.submit(_warm)

    def submit(self, outcome, warnings_: list[str]) -> cf.Future:
        if self.pool is None:
            future: cf.Future = cf.Future()
            try:
                future.set_result(_score(self.course, outcome, warnings_))
            except BaseException as err:  # surfaces in .result(), as with a process pool
                future.set_exception(err)
            return future
        from autograde.parallel import _atomic_write, _cache_path

        if outcome.notebook:  # on disk before any scorer sees it: a kill now loses nothing
            _atomic_write(_cache_path(self.course, outcome.lab, outcome.student, outcome.fingerprint),
                          outcome.notebook)
            outcome = dataclasses.replace(outcome, notebook="")
        if outcome.notebook is not None and outcome.student not in self._students:
            # nbgrader creates a missing student in every autograde: two scorers must not race to
            ensure_students(self.scoring_course, [outcome.student])  # waits for SQLite's lock too
            self._students.add(outcome.student)
        return self.pool.submit(_score, self.scoring_course, outcome, warnings_)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
