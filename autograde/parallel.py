"""Grade a class in parallel — locally or on a Dask cluster — with nbgrader's own results.

nbgrader's autograde is two passes over each notebook: *sanitize* (restore locked and
test cells from the gradebook) and *grade* (execute, then score into the gradebook).
Only the execution is expensive, and only the scoring writes the gradebook, so:

1. **Workers execute.** Each task carries everything it needs (the submission's files,
   a read-only snapshot of the gradebook, the lab's data files) and runs nbgrader's own
   ``Autograde`` in a private temporary course whose grading pass is just ``Execute``.
   It returns the executed notebook. Student code runs only in the kernel, which
   :class:`autograde.safe_execute.SafeExecute` starts in a bubblewrap sandbox that sees
   its scratch folder and nothing else. Tasks need no shared filesystem, so the same
   function runs in local worker processes or on any Dask worker.
2. **One writer scores.** The main process runs nbgrader's ``Autograde`` on the real
   course with ``Execute`` replaced by :class:`ReplayOutputs`, which pastes in the
   worker's outputs. Every other step (sanitizing, stderr filtering, metadata, output
   limits, ``SaveAutoGrades``, late penalties, the autograded notebook on disk) is
   nbgrader's code in nbgrader's order, so the gradebook and notebooks are what serial
   ``nbgrader autograde`` writes, and SQLite only ever sees one writer.

Resumable: after a submission's grades are committed, a small state file records a
fingerprint of what was graded (the submission's bytes and the lab's source notebook).
A re-run skips submissions whose fingerprint is unchanged unless ``force``; a run killed
at any point (even ``kill -9``) loses at most the submissions still in flight. Executed
notebooks are cached atomically, so work finished by a worker before the kill is reused.
Students' files in ``submitted/`` are only ever read.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    SaveAutoGrades,
)
from traitlets import Unicode

from autograde.course import JUDGE_PREPROCESSOR, Course, GradingLimits
from autograde.gradebooks import describe as describe_gradebook
from autograde.gradebooks import exists as gradebook_exists
from autograde.gradebooks import snapshot as gradebook_snapshot
from autograde.intake import grade_ids, grading_metadata, inspect
from autograde.pipeline import (
    GradeResult,
    _failure_reason,
    grading_api,
    read_score,
    record_outcome,
    require_answers,
    stage_submission,
    submission_files,
    warm_dataset_cache,
)
from autograde.resources import WorkerPlan, thread_environment
from autograde.safe_execute import GradingNotes

STATE_VERSION = 3  # 3: judged outside the kernel against recorded answers


# --------------------------------------------------------------------------- the task


@dataclass
class Task:
    """Everything a worker needs to execute one submission, as plain bytes."""

    lab: str
    student: str
    fingerprint: str
    submission: dict[str, bytes]  # the notebook only: extra files could shadow labkit or the data
    lab_files: dict[str, bytes]  # non-notebook files of solutions/<lab>/ (nbgrader copies them)
    gradebook: bytes  # snapshot taken after release: assignment, notebooks, source cells
    limits: GradingLimits = field(default_factory=GradingLimits)
    unsandboxed: bool = False
    threads: int = 1
    warnings: list[str] = field(default_factory=list)  # from intake, reported with the grade
    estimate: float = 0.0  # relative expected run time, for longest-first scheduling


@dataclass
class Executed:
    """A worker's answer: the executed notebook (sanitized + Execute only) or a reason."""

    lab: str
    student: str
    fingerprint: str
    notebook: str | None
    reason: str = ""
    seconds: float = 0.0
    worker: str = ""


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, blob in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)


def execute_task(task: Task, gpu: str | None = None, in_process: bool = False) -> Executed:
    """Run nbgrader's sanitize + Execute for one submission in a private course.

    By default in a child process (its own main thread, its own crash domain); the local
    pool's long-lived worker processes run it ``in_process`` to skip a Python start-up and
    nbgrader import per submission. Never raises for a bad submission: failures come back
    as ``Executed.reason``.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as tmp:
        root = Path(tmp)
        _write_tree(root / "solutions" / task.lab, task.lab_files)
        (root / "solutions" / task.lab).mkdir(parents=True, exist_ok=True)
        workspace = root / "autograde"
        _write_tree(workspace / "submitted" / task.student / task.lab, task.submission)
        (workspace / "gradebook.db").write_bytes(task.gradebook)
        if in_process:
            from autograde.worker import execute_in_course

            try:
                ok, log = execute_in_course(root, task.lab, task.student, task.limits, task.unsandboxed)
            except Exception as err:  # a grading bug must not take the worker process down
                ok, log = False, f"error: {type(err).__name__}: {err}"
        else:
            env = {**os.environ, **thread_environment(task.threads)}
            if gpu is not None:
                env["CUDA_VISIBLE_DEVICES"] = gpu
            cmd = [sys.executable, "-m", "autograde.worker", str(root), task.lab, task.student,
                   json.dumps(dataclasses.asdict(task.limits))] + (["--unsandboxed"] if task.unsandboxed else [])
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            ok, log = proc.returncode == 0, proc.stdout + proc.stderr
        executed = workspace / "autograded" / task.student / task.lab / f"{task.lab}.ipynb"
        worker = f"{os.uname().nodename}:{os.getpid()}" + (f"/gpu{gpu}" if gpu is not None else "")
        if ok and executed.exists():
            return Executed(task.lab, task.student, task.fingerprint, executed.read_text(),
                            seconds=time.perf_counter() - start, worker=worker)
        reason = _failure_reason(log, "")
        return Executed(task.lab, task.student, task.fingerprint, None, reason=reason,
                        seconds=time.perf_counter() - start, worker=worker)


# --------------------------------------------------------------------------- the single writer


class ReplayOutputs(NbGraderPreprocessor):
    """Stands in for ``Execute``: copies outputs from a notebook a worker executed.

    The worker executed the very notebook this pass receives (nbgrader's sanitize pass
    is deterministic), so cells are matched one to one and their sources must agree.
    """

    executed_path = Unicode("", help="notebook executed by a worker").tag(config=True)

    def preprocess(self, nb, resources):
        executed = nbformat.read(self.executed_path, as_version=4)
        if len(executed.cells) != len(nb.cells):
            raise ValueError(f"{self.executed_path}: {len(executed.cells)} cells, expected {len(nb.cells)}")
        for cell, done in zip(nb.cells, executed.cells, strict=True):
            if cell.source != done.source:
                raise ValueError(f"{self.executed_path}: cell sources differ from the sanitized notebook")
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
            cell.metadata = done.metadata
        nb.metadata = executed.metadata
        return nb, resources


SCORING_PASS = [
    ReplayOutputs,
    JUDGE_PREPROCESSOR,
    GradingNotes,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]


def score_executed(course: Course, lab: str, student: str, executed_path: Path) -> dict:
    """nbgrader's Autograde on the real course, with outputs replayed instead of executed."""
    api = grading_api(course, {
        "Autograde.autograde_preprocessors": SCORING_PASS,
        "ReplayOutputs.executed_path": str(executed_path),
    })
    with contextlib.redirect_stdout(io.StringIO()):
        return api.autograde(lab, student, force=True, create=True)


# --------------------------------------------------------------------------- state for resuming


def _read_tree(folder: Path, skip_notebooks: bool = False) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not (skip_notebooks and path.suffix == ".ipynb"):
            if any(part in (".ipynb_checkpoints", "__pycache__") for part in path.parts):
                continue
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def fingerprint(course: Course, lab: str, submission: dict[str, bytes]) -> str:
    """What a grade depends on: the submission's bytes and the lab's source notebook."""
    digest = hashlib.sha256(f"v{STATE_VERSION}".encode())
    digest.update(course.source_notebook(lab).read_bytes())
    for rel, blob in sorted(submission.items()):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(blob).digest())
    return digest.hexdigest()


def _state_path(course: Course, lab: str, student: str) -> Path:
    return course.workspace / "state" / lab / f"{student}.json"


def _cache_path(course: Course, lab: str, student: str, fp: str) -> Path:
    return course.workspace / "executed" / lab / f"{student}-{fp[:16]}.ipynb"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def already_graded(course: Course, lab: str, student: str, fp: str) -> bool:
    path = _state_path(course, lab, student)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return state.get("fingerprint") == fp and course.autograded_notebook(lab, student).exists()


# --------------------------------------------------------------------------- the driver


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)
    done: list[GradeResult] = field(default_factory=list)  # skipped (unchanged) or rejected at intake


def default_workers(workers_per_gpu: int | None = None) -> int:
    """Workers this machine runs by default: bounded by cores and memory, GPUs shared
    (see autograde.resources)."""
    from autograde.resources import detect, plan_workers

    return plan_workers(detect(), workers_per_gpu=workers_per_gpu).workers


def plan(course: Course, labs: Iterable[str], students: Iterable[str] | None, force: bool, threads: int) -> Plan:
    """Inspect every submission; queue the ones that are new or changed."""
    result = Plan()
    wanted = list(students) if students else course.students()
    snapshot = gradebook_snapshot(course)  # definitions only: small however large the class
    for lab in labs:
        release_nb = nbformat.read(course.release_notebook(lab), as_version=4)
        release_ids, release_meta = grade_ids(release_nb), grading_metadata(release_nb)
        lab_files = _read_tree(course.source_dir / lab, skip_notebooks=True)
        lab_seconds = _lab_seconds(course, lab)
        for student in wanted:
            folder = course.submission_dir(lab, student)
            if not folder.is_dir():
                continue
            intake = inspect(folder, lab, student, release_ids, release_meta)
            if not intake.ok:
                result.done.append(GradeResult(student, lab, "error", reason=intake.error or ""))
                continue
            original = submission_files(course, lab, student)
            fp = fingerprint(course, lab, original)
            if not force and already_graded(course, lab, student, fp):
                score, top, manual = read_score(course, lab, student)
                result.done.append(GradeResult(student, lab, "graded", score, top, manual,
                                               reason="unchanged since last run (skipped)"))
                continue
            files = stage_submission(course, lab, student, release_nb, original)  # the writer scores these too
            task = Task(lab, student, fp, files, lab_files, snapshot, course.limits, course.unsandboxed,
                        threads, intake.warnings)
            task.estimate = lab_seconds * _answered_fraction(files[f"{lab}.ipynb"])
            result.tasks.append(task)
    # Longest first, so a long notebook does not start last and run alone at the end.
    result.tasks.sort(key=lambda t: t.estimate, reverse=True)
    return result


def _answered_fraction(raw: bytes) -> float:
    """Share of solution cells filled in: unanswered notebooks stop at their first stub."""
    try:
        nb = nbformat.reads(raw.decode(), as_version=4)
    except Exception:
        return 1.0
    cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    if not cells:
        return 1.0
    return sum("raise NotImplementedError()" not in c.source for c in cells) / len(cells)


def _lab_seconds(course: Course, lab: str) -> float:
    """Mean grading time of this lab's earlier submissions (1.0 when there is no history)."""
    times = []
    for path in (course.workspace / "state" / lab).glob("*.json"):
        try:
            times.append(float(json.loads(path.read_text()).get("seconds", 0)))
        except (OSError, ValueError):
            continue
    return sum(times) / len(times) if times else 1.0


def _merge(course: Course, outcome: Executed, warnings: list[str]) -> GradeResult:
    """Single writer: score a worker's executed notebook into the gradebook, then record state."""
    result = GradeResult(outcome.student, outcome.lab, "error", seconds=outcome.seconds, warnings=warnings)
    if outcome.notebook is None:
        result.reason = outcome.reason or "the worker could not execute the notebook"
        return result
    cache = _cache_path(course, outcome.lab, outcome.student, outcome.fingerprint)
    if outcome.notebook:  # empty string: already cached by an earlier, interrupted run
        _atomic_write(cache, outcome.notebook)
    record_outcome(course, _score_retrying(course, outcome.lab, outcome.student, cache), result)
    if result.status != "graded":
        return result
    _atomic_write(_state_path(course, outcome.lab, outcome.student), json.dumps({
        "fingerprint": outcome.fingerprint, "score": result.score, "max_score": result.max_score,
        "worker": outcome.worker, "seconds": round(outcome.seconds, 2), "graded_at": time.time(),
    }))
    cache.unlink(missing_ok=True)
    return result


def _score_retrying(course: Course, lab: str, student: str, cache: Path, attempts: int = 8) -> dict:
    """score_executed, again when several scorers share SQLite and this one lost a lock race
    (SQLite answers "database is locked" at once, without waiting, to avoid a deadlock)."""
    for attempt in range(attempts):
        outcome = score_executed(course, lab, student, cache)
        text = (outcome.get("log") or "") + (outcome.get("error") or "")
        if outcome.get("success") or "database is locked" not in text or attempt == attempts - 1:
            return outcome
        time.sleep(0.05 * 2**attempt)
    return outcome


_WORKER_GPU: str | None = None  # the GPU a local worker process uses, if any


def _init_local_worker(environments, parent: int | None = None) -> None:
    """Runs once in each local worker process: takes one worker's environment from the
    plan (thread limits; on GPU machines its GPU and GPU memory cap, see autograde.resources).
    Kernels started by this process inherit it. The worker dies with the grader: after a
    ``kill -9`` it would otherwise wait forever to hand back its result."""
    from autograde.scoring import _die_with_parent

    global _WORKER_GPU
    if parent is not None:
        _die_with_parent(parent)
    env = environments.get()
    os.environ.update(env)
    _WORKER_GPU = env.get("CUDA_VISIBLE_DEVICES")


def _execute_in_local_worker(task: Task) -> Executed:
    return execute_task(task, gpu=_WORKER_GPU, in_process=True)


class _LocalPool:
    """Long-lived worker processes (nbgrader imported once each), GPUs shared round-robin."""

    def __init__(self, plan: WorkerPlan):
        import multiprocessing
        from multiprocessing.managers import SyncManager

        from autograde.scoring import _die_with_parent

        context = multiprocessing.get_context("spawn")
        self.manager = SyncManager(ctx=context)
        self.manager.start(_die_with_parent, (os.getpid(),))
        environments = self.manager.Queue()
        for i in range(plan.workers):
            environments.put(plan.environment(i))
        self.pool = cf.ProcessPoolExecutor(max_workers=plan.workers, mp_context=context,
                                           initializer=_init_local_worker, initargs=(environments, os.getpid()))

    def submit(self, task: Task) -> cf.Future:
        return self.pool.submit(_execute_in_local_worker, task)

    def as_completed(self, futures):
        return cf.as_completed(futures)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.manager.shutdown()


class _DaskPool:
    """Tasks on an existing Dask cluster. Where workers advertise ``GPU`` resources, a task
    holds ``1 / workers_per_gpu`` of one (several kernels share a GPU) and its kernel is
    capped at its share of the GPU's memory."""

    def __init__(self, address: str, workers_per_gpu: int | None = None):
        from distributed import Client

        from autograde.resources import dask_gpu_fraction, dask_gpu_request

        self.client = Client(address, timeout="30s")
        workers = self.client.scheduler_info()["workers"].values()
        self.slots = sum(w.get("nthreads", 1) for w in workers) or 1
        share = workers_per_gpu or 1
        gpus = any(w.get("resources", {}).get("GPU") for w in workers)
        self.resources = dask_gpu_request(share) if gpus else None
        self.gpu_fraction = dask_gpu_fraction(share) if gpus and share > 1 else None

    def submit(self, task: Task):
        return self.client.submit(_execute_on_dask_worker, task, self.gpu_fraction,
                                  key=f"grade-{task.lab}-{task.student}-{task.fingerprint[:8]}",
                                  resources=self.resources, pure=False)

    def as_completed(self, futures):
        from distributed import as_completed

        return as_completed(futures)

    def close(self) -> None:
        self.client.close()


_SERVING = threading.local()  # a Dask worker thread's long-lived executing child (autograde.worker)


def _execute_on_dask_worker(task: Task, gpu_fraction: float | None = None) -> Executed:
    # On a cluster each Dask worker is started with its own GPU (CUDA_VISIBLE_DEVICES set by
    # the job script or dask-jobqueue) and `--resources GPU=1`; the grading child inherits it,
    # and the GPU memory cap when several tasks share that GPU.
    from autograde.resources import GPU_FRACTION_ENV
    from autograde.worker import ServingChild

    env = {**thread_environment(task.threads),
           GPU_FRACTION_ENV: None if gpu_fraction is None else f"{gpu_fraction:.4f}"}
    child = getattr(_SERVING, "child", None)
    if child is None or not child.alive():
        child = _SERVING.child = ServingChild()
    try:
        return child.run(task, env)
    except (EOFError, pickle.UnpicklingError):
        # the child itself died (not the student's kernel, which is a process of its own):
        # this task runs again in a one-off child, the next one gets a new serving child
        child.close()
        _SERVING.child = None
        if gpu_fraction is not None:
            os.environ[GPU_FRACTION_ENV] = env[GPU_FRACTION_ENV]
        return execute_task(task)


def autograde(
    course: Course,
    labs: Iterable[str] | None = None,
    students: Iterable[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    progress: bool = True,
    workers_per_gpu: int | None = None,
    scorers: int | None = None,
) -> list[GradeResult]:
    """Grade every new or changed submission in parallel; returns one result per submission.

    ``workers``: local worker processes (default: from cores, memory and GPUs, see
    autograde.resources); ``workers_per_gpu``: kernels sharing one GPU (locally and on Dask);
    ``scorers``: scoring processes (default 1, see autograde.scoring).
    """
    from tqdm import tqdm

    from autograde.resources import detect, plan_workers
    from autograde.scoring import Scorers

    labs = list(labs or course.labs())
    if not gradebook_exists(course):
        raise FileNotFoundError(f"{describe_gradebook(course.db_url)}: no gradebook; release the labs first (`make release`)")
    from autograde.sandbox import require_sandbox

    how = require_sandbox(course.unsandboxed)  # refuses when bwrap is missing and not asked
    require_answers(course, labs)  # refuses when a lab's recorded answers are missing or stale
    warm_dataset_cache()
    worker_plan = None if scheduler else plan_workers(detect(), workers, workers_per_gpu)
    if progress:
        print(f"kernels run in: {how}", file=sys.stderr)
        if worker_plan:
            print(f"workers: {worker_plan.describe()}", file=sys.stderr)
    threads = worker_plan.threads if worker_plan else 1
    scoring = Scorers(course, scorers or 1)  # several scorers start importing while we plan
    work = plan(course, labs, students, force, threads)
    results = list(work.done)
    if not work.tasks:
        scoring.close()
        return results
    bar = tqdm(total=len(work.tasks), desc=f"autograde ({worker_plan.workers if worker_plan else 'dask'} workers)",
               unit="nb", disable=not progress)
    pending: set[cf.Future] = set()

    def collect(block: bool) -> None:
        done, _ = cf.wait(pending, return_when=cf.ALL_COMPLETED if block else cf.FIRST_COMPLETED,
                          timeout=None if block else 0)
        for f in done:
            pending.discard(f)
            result = f.result()
            results.append(result)
            bar.set_postfix_str(f"{result.lab}/{result.student}")
            bar.update()

    pool: _LocalPool | _DaskPool | None = None
    try:
        # executions finished before an interrupted run was killed are scored without re-running
        todo = []
        for task in work.tasks:
            if _cache_path(course, task.lab, task.student, task.fingerprint).exists():
                pending.add(scoring.submit(Executed(task.lab, task.student, task.fingerprint, ""), task.warnings))
                collect(block=False)
            else:
                todo.append(task)
        if todo:
            warnings_for = {(t.lab, t.student): t.warnings for t in todo}
            pool = _DaskPool(scheduler, workers_per_gpu) if scheduler else _LocalPool(worker_plan)
            futures = [pool.submit(task) for task in todo]
            for future in pool.as_completed(futures):
                outcome: Executed = future.result()
                pending.add(scoring.submit(outcome, warnings_for[(outcome.lab, outcome.student)]))
                collect(block=False)
        collect(block=True)
        bar.close()
    finally:
        if pool is not None:
            pool.close()
        scoring.close()
    return results
