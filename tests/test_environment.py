"""The set-up files agree with each other and with what is installed."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version

from autograde.course import REPO_ROOT

PIN = re.compile(r"^\s*(?:-\s*)?([A-Za-z0-9_.\-]+)==([^\s#]+)", re.M)


def _pins(text: str) -> dict[str, str]:
    return {name.lower(): ver for name, ver in PIN.findall(text)}


def test_environment_yml_matches_requirements():
    req = _pins((REPO_ROOT / "requirements.txt").read_text())
    env = _pins((REPO_ROOT / "environment.yml").read_text())
    assert "python=3.11" in (REPO_ROOT / "environment.yml").read_text()
    assert req == env, f"pins differ: only in requirements {set(req.items()) - set(env.items())}, only in environment.yml {set(env.items()) - set(req.items())}"


def test_required_pins_are_present_and_installed():
    req = _pins((REPO_ROOT / "requirements.txt").read_text())
    assert req["torch"] == "2.14.1" and req["torchvision"] == "0.29.1" and req["nbgrader"] == "0.9.6"
    assert req["jupyterlab"].startswith("4.")
    for name, pinned in req.items():
        installed = version(name)
        assert installed.split("+")[0] == pinned, f"{name}: installed {installed}, pinned {pinned}: run `make setup`"
    assert sys.version_info[:2] == (3, 11)


def test_setup_is_idempotent():
    out = subprocess.run(["make", "-n", "setup"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "pip install" not in out.stdout, f"a second `make setup` would reinstall:\n{out.stdout}"


def test_nbgrader_config_file_uses_the_course_settings():
    from traitlets.config import Config

    config = Config()
    path = REPO_ROOT / "nbgrader_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: config, "__file__": str(path)})  # noqa: S102
    course = config.CourseDirectory
    assert course.root == str(REPO_ROOT)
    assert course.source_directory == str(REPO_ROOT / "solutions")
    assert course.release_directory == str(REPO_ROOT / "labs")
    for step in ("submitted", "autograded", "feedback"):
        assert getattr(course, f"{step}_directory") == str(REPO_ROOT / "autograde" / step)
    assert course.db_url == f"sqlite:///{REPO_ROOT / 'autograde' / 'gradebook.db'}"
    assert config.Execute.timeout >= 60 and config.IgnorePattern.enabled
