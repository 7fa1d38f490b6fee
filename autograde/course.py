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
# The judge's preprocessor by name (nbconvert imports it when it registers the pass): it needs torch,
# which a worker that only executes notebooks never imports (1.5 s per process).
JUDGE_PREPROCESSOR = "autograde.judge.Judge"
COURSE_ID = "deep-learning-labs"
LAB_IDS = (
    "lab1_perceptron",
    "lab2_backprop",
    "lab3_optimizers",
    "lab4_cnn",
    "lab5_rnn",
    "lab6_attention",
    "lab7_text",
)

# Per-cell execution limit. The slowest lab cell trains for well under a minute on a
# 2-core CPU; 5 minutes leaves room for slow laptops while still stopping runaway loops.
CELL_TIMEOUT_S = 300

# Warnings on stderr are stripped before scoring (nbgrader zeroes any test cell that
# writes to stderr); labkit.setup_lab already reroutes Python warnings to stdout.
IGNORED_STDERR = r"(?i)(\bwarn(ing)?s?\b|^\s*$)"


@dataclass(frozen=True)
class GradingLimits:
    """What one submission may use while it is graded (see autograde.sandbox / safe_execute)."""

    cell_timeout_s: int = CELL_TIMEOUT_S
    # The slowest lab runs in about 35 s on a 2-core CPU; 20 minutes stops a notebook whose
    # every cell loops without waiting 5 minutes per cell.
    notebook_timeout_s: int = 1200
    memory_bytes: int = 6 * 1024**3  # the labs peak well under 2 GiB
    max_processes: int = 64  # processes and threads at once; torch, ipykernel and DataLoaders fit
    max_file_bytes: int = 256 * 1024**2  # largest file the notebook may write
    tmp_bytes: int = 512 * 1024**2  # its private /tmp
    max_output_bytes: int = 5 * 1024**2  # outputs kept for the whole notebook


@dataclass(frozen=True)
class Course:
    """Paths of one grading workspace for the course at ``root``."""

    root: Path = REPO_ROOT
    workspace: Path = field(default=REPO_ROOT / "autograde")
    release: Path | None = None  # default: root / "labs"
    limits: GradingLimits = field(default_factory=GradingLimits)
    # True only when a TA explicitly asks to grade without bubblewrap (see autograde.sandbox)
    unsandboxed: bool = False
    answers: Path | None = None  # default: root / "autograde" / "answers", shared by workspaces
    # Any SQLAlchemy URL for the gradebook (e.g. a PostgreSQL server, see autograde.pgserver);
    # default: SQLite at gradebook_path
    gradebook_url: str | None = None

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
    def staged_dir(self) -> Path:
        """What nbgrader grades: each submission's notebook with the release's grading
        metadata restored, and its timestamp (students' own folders are only read)."""
        return self.workspace / "staged"

    @property
    def held_dir(self) -> Path:
        """Copies of notebooks flagged for a TA's review (a decoy check passed in their kernel)."""
        return self.workspace / "held"

    @property
    def answers_dir(self) -> Path:
        """Answers recorded from the solutions (autograde.answers). Never mounted in the sandbox;
        shared by every workspace of this course root, and keyed by a fingerprint of the lab."""
        return self.answers or self.root / "autograde" / "answers"

    @property
    def judged_dir(self) -> Path:
        """The judge's verdicts per submission (JSON), for the report and the leaderboard."""
        return self.workspace / "judged"

    @property
    def notes_dir(self) -> Path:
        """Per-submission notes from the last grading run (timeouts, limits, ignored files)."""
        return self.workspace / "notes"

    def notes_path(self, lab: str, student: str) -> Path:
        return self.notes_dir / lab / f"{student}.json"

    @property
    def gradebook_path(self) -> Path:
        return self.workspace / "gradebook.db"

    @property
    def db_url(self) -> str:
        return self.gradebook_url or f"sqlite:///{self.gradebook_path}"

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
        # nbconvert validates the whole notebook after each of nbgrader's ~7 preprocessors (10% of a
        # scorer's CPU); once, after the last, gives the same notebook and still refuses an invalid one.
        c.Exporter.optimistic_validation = True
        # Feedback (ours, the nbgrader CLI and formgrader alike) never shows hidden tests.
        from autograde.feedback_filters import feedback_preprocessors

        c.GenerateFeedback.preprocessors = feedback_preprocessors()
        # nbgrader's own autograde (its CLI, the formgrader's button) grades like `make autograde`:
        # sandboxed kernel, then the judge. Validate uses other preprocessors and stays a plain kernel.
        for key, value in self.grading_config().items():
            section, name = key.split(".")
            setattr(getattr(c, section), name, value)
        return c

    def grading_config(self) -> dict:
        """Settings for autograding: nbgrader's pipeline with SafeExecute (sandboxed kernel,
        limits, decoys) instead of Execute, then the judge and the grading notes before scoring.
        They only touch nbgrader's autograde, so a student's ``nbgrader validate`` runs a plain kernel."""
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            IgnorePattern,
            LimitOutput,
            SaveAutoGrades,
        )

        from autograde.safe_execute import GradingNotes, SafeExecute

        lab_files = sorted({
            p.relative_to(self.source_dir / lab).as_posix()
            for lab in self.labs() for p in (self.source_dir / lab).rglob("*")
            if p.is_file() and p.suffix != ".ipynb"
        })
        limits = self.limits
        return {
            "Autograde.autograde_preprocessors": [
                SafeExecute, JUDGE_PREPROCESSOR, GradingNotes, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
            ],
            "SafeExecute.timeout": limits.cell_timeout_s,
            "SafeExecute.interrupt_on_timeout": True,
            "SafeExecute.notebook_timeout": limits.notebook_timeout_s,
            "SafeExecute.max_output_bytes": limits.max_output_bytes,
            "SafeExecute.keep_files": lab_files,
            # Kill the kernel once the last cell has run instead of asking it to exit: a graceful
            # exit tears down torch and matplotlib for 1.4-2.6 s of CPU per submission (measured,
            # see docs/benchmarks.md), and nothing is read from the kernel after the last cell.
            "SafeExecute.shutdown_kernel": "immediate",
            "SandboxedKernelManager.sandbox": not self.unsandboxed,
            "SandboxedKernelManager.memory_limit": limits.memory_bytes,
            "SandboxedKernelManager.max_processes": limits.max_processes,
            "SandboxedKernelManager.max_file_bytes": limits.max_file_bytes,
            "SandboxedKernelManager.tmp_bytes": limits.tmp_bytes,
            "Judge.course_root": str(self.root),
            "Judge.answers_directory": str(self.answers_dir),
            "Judge.judged_directory": str(self.judged_dir),
            "GradingNotes.held_directory": str(self.held_dir),
            "GradingNotes.notes_directory": str(self.notes_dir),
        }
