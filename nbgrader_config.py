"""nbgrader configuration for the course (read by `nbgrader ...` and formgrader).

The settings live in autograde/course.py so that the Makefile, the tests and the
nbgrader command line all grade with exactly the same configuration.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from autograde.course import Course  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.merge(Course().nbgrader_config())
