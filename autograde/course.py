"""Where everything lives, and the one nbgrader configuration used by every command.

The repository is the nbgrader course root: ``solutions/`` is the source directory,
``labs/`` the release directory, and the TA workspace (submitted, autograded and
feedback folders plus the gradebook) sits under ``autograde/`` by default. Tests
point ``workspace`` at a temporary folder so they never touch a TA's real gradebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "deep-learning-labs"
LAB_IDS = (
    "lab1_perceptron",
    "lab2_backprop",
    "lab3_optimizers",
    "lab4_cnn",
    "lab5_rnn",
    "lab6_attention",
)

# Per-cell execution limit. The slowest lab cell trains for well under a minute on a
# 2-core CPU; 5 minutes leaves room for slow laptops while still stopping runaway loops.
CELL_TIMEOUT_S = 300

# Warnings on stderr are stripped before scoring (nbgrader zeroes any test cell that
# writes to stderr); labkit.setup_lab already reroutes Python warnings to stdout.
IGNORED_STDERR = r"(?i)(\bwarn(ing)?s?\b|^\s*$)"


@dataclass(frozen=True)
class Course:
    """Paths of one grading workspace for the course at ``root``."""

    root: Path = REPO_ROOT
    workspace: Path = field(default=REPO_ROOT / "autograde")
    release: Path | None = None  # default: root / "labs"

    @property
    def source_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def release_dir(self) -> Path:
        return self.release or self.root / "labs"

    @property
    def submitted_dir(self) -> Path:
        return self.workspace / "submitted"

    @property
    def autograded_dir(self) -> Path:
        return self.workspace / "autograded"

    @property
    def feedback_dir(self) -> Path:
        return self.workspace / "feedback"

    @property
    def exports_dir(self) -> Path:
        return self.workspace / "exports"

    @property
    def gradebook_path(self) -> Path:
        return self.workspace / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook_path}"

    def labs(self) -> list[str]:
        """Lab ids that have a source notebook, in course order."""
        return [lab for lab in LAB_IDS if (self.source_dir / lab / f"{lab}.ipynb").is_file()]

    def source_notebook(self, lab: str) -> Path:
        return self.source_dir / lab / f"{lab}.ipynb"

    def release_notebook(self, lab: str) -> Path:
        return self.release_dir / lab / f"{lab}.ipynb"

    def submission_dir(self, lab: str, student: str) -> Path:
        return self.submitted_dir / student / lab

    def autograded_notebook(self, lab: str, student: str) -> Path:
        return self.autograded_dir / student / lab / f"{lab}.ipynb"

    def students(self) -> list[str]:
        """Students with a folder under ``submitted/``, sorted."""
        if not self.submitted_dir.is_dir():
            return []
        return sorted(p.name for p in self.submitted_dir.iterdir() if p.is_dir())

    def nbgrader_config(self) -> Config:
        """The nbgrader configuration for this workspace (also loaded by nbgrader_config.py)."""
        c = Config()
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.course_id = COURSE_ID
        c.CourseDirectory.source_directory = str(self.source_dir)
        c.CourseDirectory.release_directory = str(self.release_dir)
        c.CourseDirectory.submitted_directory = str(self.submitted_dir)
        c.CourseDirectory.autograded_directory = str(self.autograded_dir)
        c.CourseDirectory.feedback_directory = str(self.feedback_dir)
        c.CourseDirectory.db_url = self.db_url
        c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
        c.Execute.timeout = CELL_TIMEOUT_S
        c.Execute.interrupt_on_timeout = True
        c.IgnorePattern.enabled = True
        c.IgnorePattern.pattern = IGNORED_STDERR
        c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
        # nbgrader 0.9.6's add_missing_cells crashes (KeyError) when two neighbouring grade
        # cells were deleted, so deleted cells are left out and score 0 (intake says which).
        c.OverwriteCells.add_missing_cells = False
        return c
