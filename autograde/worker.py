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


def main(argv: list[str]) -> int:
    root, lab, student, timeout = Path(argv[1]), argv[2], argv[3], int(argv[4])
    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course(root=root, workspace=root / "autograde", release=root / "labs")
    api = make_api(course, {"Autograde.autograde_preprocessors": [Execute], "Execute.timeout": timeout})
    outcome = api.autograde(lab, student, force=True, create=True)
    if not outcome.get("success"):
        print(outcome.get("log") or "", outcome.get("error") or "", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
