"""The course on a shared JupyterHub: where its state lives and its nbgrader configuration.

Everything the hub keeps sits in one state folder (``.hub/`` by default, ``$HUB_STATE`` if set):

- ``exchange/``  nbgrader's exchange, mode 1777; release, submit, collect and feedback go through it
- ``course/``    the grading workspace of the grader account (submitted, autograded, feedback,
  gradebook, ``release/`` with the generated student versions); the formgrader service runs here
- ``home/<user>``  the demo accounts' home folders (mode 700)
- ``accounts.txt``  the demo accounts' passwords (root only), ``jupyterhub.*`` the hub's own files

The course settings (accounts, due dates, late penalty, Canvas ids) are in ``hub/course.toml``
(``$HUB_COURSE_SETTINGS`` to use another file). :class:`HubCourse` is the project's
:class:`~autograde.course.Course` with that workspace, so the hub is graded by the same commands
(``python -m autograde``) and configuration as everything else, plus the exchange, the due dates and
the late-penalty plugin.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from traitlets.config import Config

from autograde.course import CELL_TIMEOUT_S, REPO_ROOT, Course

HUB_CONFIG_DIR = REPO_ROOT / "hub"
DEFAULT_STATE = REPO_ROOT / ".hub"
DEFAULT_SETTINGS = HUB_CONFIG_DIR / "course.toml"
STATE_ENV = "HUB_STATE"
SETTINGS_ENV = "HUB_COURSE_SETTINGS"


@dataclass(frozen=True)
class Settings:
    """hub/course.toml, read once."""

    course_id: str
    grader: str
    instructors: tuple[str, ...]
    tas: tuple[str, ...]
    students: tuple[str, ...]
    due: dict[str, str]
    late: dict[str, float]
    canvas: dict[str, str]

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = Path(path or os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS)
        data = tomllib.loads(path.read_text())
        accounts = data.get("accounts", {})
        return cls(
            course_id=data["course"]["id"],
            grader=data["course"]["grader_account"],
            instructors=tuple(accounts.get("instructors", ())),
            tas=tuple(accounts.get("tas", ())),
            students=tuple(accounts.get("students", ())),
            due={k: str(v) for k, v in data.get("due", {}).items()},
            late={k: float(v) for k, v in data.get("late_penalty", {}).items()},
            canvas={k: str(v) for k, v in data.get("canvas", {}).items() if str(v)},
        )

    @property
    def graders(self) -> tuple[str, ...]:
        """Instructors and TAs: the formgrade group."""
        return self.instructors + self.tas

    @property
    def formgrade_group(self) -> str:
        return f"formgrade-{self.course_id}"  # nbgrader's naming: the course list looks for it

    @property
    def student_group(self) -> str:
        return f"nbgrader-{self.course_id}"


def state_dir() -> Path:
    return Path(os.environ.get(STATE_ENV) or DEFAULT_STATE).resolve()


@dataclass(frozen=True)
class HubPaths:
    """The folders and files inside one hub state folder."""

    state: Path = field(default_factory=state_dir)

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def course(self) -> Path:
        return self.state / "course"

    @property
    def release(self) -> Path:
        return self.course / "release"

    @property
    def homes(self) -> Path:
        return self.state / "home"

    def home(self, user: str) -> Path:
        return self.homes / user

    @property
    def accounts_file(self) -> Path:
        return self.state / "accounts.txt"

    @property
    def pid_file(self) -> Path:
        return self.state / "jupyterhub.pid"

    @property
    def log_file(self) -> Path:
        return self.state / "jupyterhub.log"

    @property
    def url_file(self) -> Path:
        return self.state / "url"


@dataclass(frozen=True)
class HubCourse(Course):
    """The project's Course with the hub's workspace, exchange, due dates and late policy."""

    exchange: Path = field(default_factory=lambda: HubPaths().exchange)
    settings_file: Path | None = None

    @cached_property
    def settings(self) -> Settings:
        return Settings.load(self.settings_file)

    def nbgrader_config(self) -> Config:
        c = super().nbgrader_config()
        s = self.settings
        # nbgrader reads <root>/nbgrader_config.py too; the root is the hub's course folder, never
        # the repository (whose nbgrader_config.py points at the TA workspace autograde/)
        c.CourseDirectory.root = str(self.workspace)
        c.CourseDirectory.course_id = s.course_id
        c.Exchange.root = str(self.exchange)
        c.ExchangeSubmit.strict = False  # a renamed notebook is still submitted; intake reports it
        c.AssignLatePenalties.plugin_class = "autograde.late.PercentPerDayLate"
        for name, value in s.late.items():
            setattr(c.PercentPerDayLate, name, value)
        return c


def hub_course(paths: HubPaths | None = None) -> HubCourse:
    paths = paths or HubPaths()
    return HubCourse(root=REPO_ROOT, workspace=paths.course, release=paths.release, exchange=paths.exchange)


# Validate's report cuts each line at this width (nbgrader: 90); labkit's check messages end with what
# differs ("got 1.7808, expected 1.87775"), which must stay visible.
VALIDATE_WIDTH = 200


def student_config(paths: HubPaths | None = None, settings: Settings | None = None) -> Config:
    """What students' (and graders' own) servers need: the course id and the exchange."""
    paths, settings = paths or HubPaths(), settings or Settings.load()
    c = Config()
    c.CourseDirectory.course_id = settings.course_id
    c.Exchange.root = str(paths.exchange)
    # Validate runs each cell as long as the grader does (nbgrader's 30 s would cut training short)
    c.Execute.timeout = CELL_TIMEOUT_S
    c.Execute.interrupt_on_timeout = True
    c.Validator.width = VALIDATE_WIDTH
    return c
