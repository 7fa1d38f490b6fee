"""Child process of a grading task: nbgrader's sanitize + SafeExecute in a private course.

``python -m autograde.worker ROOT LAB STUDENT LIMITS_JSON [--unsandboxed]`` where ROOT holds
``solutions/<lab>/`` (data files), ``autograde/gradebook.db`` (a snapshot) and
``autograde/submitted/<student>/<lab>/``. The executed notebook is written to
``autograde/autograded/<student>/<lab>/<lab>.ipynb``; scoring happens in the parent's
single writer (see autograde.parallel). Exit status 0 means executed.
"""

from __future__ import annotations

import json
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


def main(argv: list[str]) -> int:
    limits = GradingLimits(**json.loads(argv[4]))
    ok, log = execute_in_course(Path(argv[1]), argv[2], argv[3], limits, "--unsandboxed" in argv[5:])
    if not ok:
        print(log, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
