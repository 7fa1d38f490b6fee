"""Helpers for the hub tests: a course hub of their own, the course steps, students as Linux users.

:class:`CourseHub` runs ``python -m autograde.hub start`` (what ``make hub`` runs) on free loopback
ports with a state folder and a course settings file of its own (test accounts ``dlt-*``, never
the demo accounts of a hub someone is running), and stops it, deletes its accounts and its state
folder afterwards, even when the test fails. :func:`run_as` runs a command as one of its accounts,
and this file is also the script each scripted student runs (``student-burst``): fetch and submit
through nbgrader's exchange API as that Linux user.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "dlt-"  # test accounts; the demo accounts of `make hub` are dl-*


def free_port_block(size: int = 3) -> int:
    """A port p with p .. p+size-1 free, and p+81 (the hub's API) free too."""
    import socket

    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 81 > 65000:
            continue
        wanted = [base + i for i in range(size)] + [base + 81]
        socks = []
        try:
            for port in wanted:
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                socks.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free block of loopback ports")


def settings_text(course_id: str, students: list[str], due: str | None, grader: str) -> str:
    due_line = f'lab1_perceptron = "{due}"\n' if due else ""
    return f"""[course]
id = "{course_id}"
grader_account = "{grader}"
[accounts]
instructors = ["{PREFIX}instructor"]
tas = ["{PREFIX}ta"]
students = {json.dumps(students)}
[due]
{due_line}[late_penalty]
percent_per_day = 10
grace_minutes = 0
max_percent = 50
[canvas]
lab1_perceptron = "424242"
"""


class CourseHub:
    """A course hub for one test: start, wait until it answers, run steps, stop and clean up."""

    def __init__(self, students: list[str], due: str | None = None, course_id: str = "deep-learning-labs",
                 log_dir: Path | None = None):
        self.students = students
        self.course_id = course_id
        self.grader = f"grader-{PREFIX}course"
        # a folder every test account can pass through (pytest's tmp_path is private to root)
        self.state = Path(tempfile.mkdtemp(prefix="dlt-hub-"))
        os.chmod(self.state, 0o755)
        self.settings = self.state / "course.toml"
        self.settings.write_text(settings_text(course_id, students, due, self.grader))
        self.port = free_port_block()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = (log_dir or self.state) / "hub.log"
        self.proc: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(HUB_STATE=str(self.state), HUB_COURSE_SETTINGS=str(self.settings), HUB_PORT=str(self.port),
                   PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
                   OMP_NUM_THREADS="1", LABKIT_DEVICE="cpu")
        return env

    # --- the hub process ---
    def start(self, timeout: float = 480) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "autograde.hub", "start"], cwd=REPO_ROOT, env=self.env(),
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.status(f"/services/{self.course_id}/") in (200, 302) and "JupyterHub is now running" in self.log_tail(100_000):
                self.timings["hub start"] = time.monotonic() - t0
                return
            time.sleep(0.5)
        raise TimeoutError(f"the hub did not come up in {timeout:.0f} s:\n{self.log_tail()}")

    def status(self, path: str) -> int:
        req = urllib.request.Request(self.url + path, method="GET")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        subprocess.run([sys.executable, "-m", "autograde.hub", "stop"], cwd=REPO_ROOT, env=self.env(),
                       capture_output=True, timeout=90)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        self._log.close()

    def cleanup(self) -> None:
        """Stop everything, delete the test accounts and the state folder."""
        try:
            self.stop()
        finally:
            self.kill_leftovers()
            subprocess.run([sys.executable, "-m", "autograde.hub", "remove"], cwd=REPO_ROOT, env=self.env(),
                           capture_output=True, timeout=120)
            shutil.rmtree(self.state, ignore_errors=True)

    def kill_leftovers(self) -> None:
        """Processes still running as a test account (a scripted student, a stuck server)."""
        import psutil

        users = set(self.accounts()) | {self.grader}
        for p in psutil.process_iter(["username"]):
            if p.info["username"] in users:
                try:
                    p.kill()
                except psutil.NoSuchProcess:
                    pass

    def __enter__(self) -> CourseHub:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    # --- accounts and steps ---
    def accounts(self) -> dict[str, tuple[str, str]]:
        """user -> (role, password) as `make hub` wrote them."""
        out = {}
        for line in (self.state / "accounts.txt").read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                out[parts[0]] = (parts[1], parts[2])
        return out

    def step(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        """``python -m autograde.hub <args>`` (what the make hub-* targets run), timed."""
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "autograde.hub", *args], cwd=REPO_ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)
        self.timings[" ".join(args)] = time.monotonic() - t0
        if check and proc.returncode:
            raise AssertionError(f"hub {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    @property
    def course_dir(self) -> Path:
        return self.state / "course"

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    def home(self, user: str) -> Path:
        return self.state / "home" / user

    def user_python(self) -> str:
        python = self.state / "python" / "bin" / "python"
        return str(python if python.exists() else Path(sys.executable))


def run_as(user: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 600, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    """Run ``cmd`` as the Linux user ``user`` (root only), in a clean login-like environment."""
    import pwd

    entry = pwd.getpwnam(user)
    base = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    base.update(env or {})
    full = ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in base.items()], *cmd]
    return subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# --- browser helpers -----------------------------------------------------------------------------

def login(page, hub: CourseHub, user: str, deadline, password: str | None = None) -> None:
    """Log in on the hub's page and wait for the user's JupyterLab (the hub starts it first)."""
    password = password or hub.accounts()[user][1]
    page.goto(f"{hub.url}/hub/login", timeout=deadline.ms(60))
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/user/{re.escape(user)}/lab.*"), timeout=deadline.ms(180))
    page.locator(".jp-LabShell").wait_for(timeout=deadline.ms(120))


def logout(page, hub: CourseHub, deadline) -> None:
    page.goto(f"{hub.url}/hub/logout", timeout=deadline.ms(60))
    page.context.clear_cookies()


def open_assignment_list(page, deadline) -> None:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.locator(".lm-Menu-item", has_text="Assignment List").click()
    page.locator("#released_assignments_list").wait_for(timeout=deadline.ms(60))


# --- a scripted student (run as that Linux user by the burst test) --------------------------------

def _student_burst(lab: str, attempts: int, marker: str) -> None:
    """Fetch ``lab`` and submit it ``attempts`` times, each copy marked with (marker, attempt);
    prints one JSON line per submission with nbgrader's timestamp."""
    import nbformat
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit

    from autograde.hub_course import student_config

    config = student_config()  # what hub/jupyter/student/nbgrader_config.py gives a student's server
    config.CourseDirectory.assignment_id = lab
    coursedir = CourseDirectory(config=config)
    auth = Authenticator(config=config)
    fetch = ExchangeFetchAssignment(coursedir=coursedir, authenticator=auth, config=config)
    fetch.start()
    notebook = Path.cwd() / lab / f"{lab}.ipynb"
    for attempt in range(1, attempts + 1):
        nb = nbformat.read(notebook, as_version=4)
        nb.metadata["burst"] = {"student": marker, "attempt": attempt}
        nbformat.write(nb, notebook)
        submit = ExchangeSubmit(coursedir=CourseDirectory(config=config), authenticator=auth, config=config)
        submit.start()
        print(json.dumps({"student": marker, "attempt": attempt, "timestamp": submit.timestamp}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "student-burst":
        _student_burst(sys.argv[2], int(sys.argv[3]), sys.argv[4])
