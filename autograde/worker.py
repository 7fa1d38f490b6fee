"""Child process of a grading task: nbgrader's sanitize + SafeExecute in a private course.

``python -m autograde.worker ROOT LAB STUDENT LIMITS_JSON [--unsandboxed]`` where ROOT holds
``solutions/<lab>/`` (data files), ``autograde/gradebook.db`` (a snapshot) and
``autograde/submitted/<student>/<lab>/``. The executed notebook is written to
``autograde/autograded/<student>/<lab>/<lab>.ipynb``; scoring happens in the parent's
single writer (see autograde.parallel). Exit status 0 means executed.

``python -m autograde.worker --serve PARENT_PID`` executes one task after another for a Dask
worker thread (:class:`ServingChild`), so nbgrader is imported once per thread, not once per
submission.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

from autograde.course import Course, GradingLimits
from autograde.pipeline import make_api
from autograde.safe_execute import SafeExecute


def execute_in_course(root: Path, lab: str, student: str, limits: GradingLimits,
                      unsandboxed: bool = False) -> tuple[bool, str]:
    """nbgrader's sanitize + SafeExecute (sandboxed kernel, limits, decoys) for one
    submission of the private course at ``root``. Student code runs only in the kernel,
    which sees its scratch folder and nothing of this course (gradebook, other files).

    Returns (executed, nbgrader's log and error text).
    """
    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course(root=root, workspace=root / "autograde", release=root / "labs",
                    limits=limits, unsandboxed=unsandboxed)
    overrides = course.grading_config()
    overrides["Autograde.autograde_preprocessors"] = [SafeExecute]  # scoring happens in the writer
    api = make_api(course, overrides)
    outcome = api.autograde(lab, student, force=True, create=True)
    return bool(outcome.get("success")), (outcome.get("log") or "") + (outcome.get("error") or "")


def _send(stream, obj) -> None:
    blob = pickle.dumps(obj)
    stream.write(len(blob).to_bytes(8, "big") + blob)
    stream.flush()


def _receive(stream):
    """The next pickled message on ``stream``; EOFError when the other side has gone."""
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the other side closed the channel")
    blob = stream.read(int.from_bytes(header, "big"))
    if len(blob) < int.from_bytes(header, "big"):
        raise EOFError("the channel closed mid-message")
    return pickle.loads(blob)


def serve(parent: int) -> int:
    """Execute tasks from stdin until it closes, one reply per task on the original stdout.

    Each request is ``(Task, env)``: ``env`` updates this process's environment before the
    kernel starts (thread limits, the GPU memory share); a value of None removes the variable.
    Messages are length-prefixed pickles between two processes of the same grader, never
    anything a student wrote (the submission travels inside the task as bytes)."""
    from autograde.parallel import Executed, execute_task
    from autograde.scoring import _die_with_parent

    _die_with_parent(parent)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nbgrader and libraries may print: keep stdout off the reply channel
    warnings.filterwarnings("ignore", message=".*not in session.*")
    while True:
        try:
            task, env = _receive(sys.stdin.buffer)
        except EOFError:
            return 0
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        try:
            outcome = execute_task(task, in_process=True)
        except Exception as err:  # a grading bug: this submission fails with the reason, the child goes on
            outcome = Executed(task.lab, task.student, task.fingerprint, None,
                               reason=f"grading error: {type(err).__name__}: {err}")
        _send(replies, outcome)


class ServingChild:
    """The parent's side of ``--serve``: one long-lived child per Dask worker thread.

    Dask's worker processes are daemonic, which forbids multiprocessing pools there, so this
    is a plain child process. It dies with the thread that started it (PR_SET_PDEATHSIG);
    :meth:`run` raises ``EOFError`` if it died during a task, and the caller starts another."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "autograde.worker", "--serve", str(os.getpid())],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, task, env: dict[str, str | None]):
        try:
            _send(self.proc.stdin, (task, env))
        except (BrokenPipeError, OSError) as err:
            raise EOFError(f"the serving child is gone: {err}") from err
        return _receive(self.proc.stdout)

    def close(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()


def main(argv: list[str]) -> int:
    if argv[1:2] == ["--serve"]:
        return serve(int(argv[2]))
    limits = GradingLimits(**json.loads(argv[4]))
    ok, log = execute_in_course(Path(argv[1]), argv[2], argv[3], limits, "--unsandboxed" in argv[5:])
    if not ok:
        print(log, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
