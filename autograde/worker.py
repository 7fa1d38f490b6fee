"""Child process of a grading task: nbgrader's sanitize + Execute in a private course.

``python -m autograde.worker ROOT LAB STUDENT TIMEOUT`` where ROOT holds
``solutions/<lab>/`` (data files), ``autograde/gradebook.db`` (a snapshot) and
``autograde/submitted/<student>/<lab>/``. The executed notebook is written to
``autograde/autograded/<student>/<lab>/<lab>.ipynb``; scoring happens in the parent's
single writer (see autograde.parallel). Exit status 0 means executed.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from nbgrader.preprocessors import Execute

from autograde.course import Course
from autograde.pipeline import make_api


def execute_in_course(root: Path, lab: str, student: str, timeout: int) -> tuple[bool, str]:
    """nbgrader's sanitize + Execute for one submission of the private course at ``root``.

    Returns (executed, nbgrader's log and error text).
    """
    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course(root=root, workspace=root / "autograde", release=root / "labs")
    api = make_api(course, {"Autograde.autograde_preprocessors": [Execute], "Execute.timeout": timeout})
    outcome = api.autograde(lab, student, force=True, create=True)
    return bool(outcome.get("success")), (outcome.get("log") or "") + (outcome.get("error") or "")


def main(argv: list[str]) -> int:
    ok, log = execute_in_course(Path(argv[1]), argv[2], argv[3], int(argv[4]))
    if not ok:
        print(log, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
