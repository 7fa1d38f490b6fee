"""The course on a shared JupyterHub: ``python -m autograde.hub <command>`` (the ``make hub*`` targets).

``start`` prepares the state folder (see :mod:`autograde.hub_course`), the demo accounts and the
exchange, then runs JupyterHub in the foreground (Ctrl-C or ``stop`` ends it and every server it
started). The course steps run as the course's grader account, the one that owns the course folder
and runs the formgrader; started as root they switch to it (``runuser``), as in nbgrader's
one-class-multiple-graders set-up:

- ``release --lab L``   ``nbgrader generate_assignment``, the lab's answers for the judge (recorded if
  missing), then ``release_assignment`` (and the due date)
- ``collect --lab L``   ``nbgrader collect --update``: each student's latest submission
- ``grade --lab L``     the project's sandboxed parallel grader (``python -m autograde autograde``),
  then the grade exports (nbgrader's CSV, per-cell CSV, Canvas gradebook CSV)
- ``feedback --lab L``  the project's feedback (hidden tests stripped), then ``nbgrader release_feedback``
- ``grades``            the exports alone
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from autograde.course import REPO_ROOT
from autograde.hub_course import (
    HUB_CONFIG_DIR,
    SETTINGS_ENV,
    STATE_ENV,
    HubCourse,
    HubPaths,
    Settings,
    hub_course,
)

BIN = Path(sys.executable).parent
EXCHANGE_MODE = 0o1777  # everyone may create their course folder; the sticky bit stops renames
COURSE_MODE = 0o750  # the grader account's workspace: submissions and the gradebook
HOME_MODE = 0o700  # no one reads another account's files


class HubError(RuntimeError):
    """A problem the user can fix; its message says how."""


# --- a Python every account can run -------------------------------------------------------------

def reachable_by_others(path: Path) -> bool:
    """True when any user can run ``path``: it and every folder above it are executable by others."""
    real = path.resolve()
    if not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)


def course_site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def user_python(paths: HubPaths) -> Path:
    """The interpreter the accounts' servers run: the course venv's, or where its base Python is
    out of other users' reach (e.g. under /root), a small venv in the state folder made from the
    system's Python of the same version that loads the course venv's packages."""
    mine = Path(sys.executable)
    if reachable_by_others(mine):
        return mine
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    if not system or not reachable_by_others(Path(system)):
        raise HubError(f"{mine.resolve()} cannot be run by other users (a folder above it is private) and "
                       f"there is no system {version}: create the venv from a Python everyone can run, "
                       f"e.g. `make setup PYTHON=/usr/bin/{version}`")
    venv = paths.state / "python"
    python = venv / "bin" / "python"
    pth = venv / "lib" / version / "site-packages" / "zz_course_venv.pth"
    line = f"import site; site.addsitedir({str(course_site_packages())!r})\n"
    if not python.exists():
        subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    if not pth.exists() or pth.read_text() != line:
        pth.write_text(line)
    # commands nbgrader and the servers call by name (nbgrader runs `alembic` to open a gradebook)
    for name, module in LAUNCHERS.items():
        launcher = venv / "bin" / name
        launcher.write_text(f"#!{python}\nimport sys\nfrom {module} import main\nsys.exit(main())\n")
        launcher.chmod(0o755)
    return python


LAUNCHERS = {"alembic": "alembic.config", "nbgrader": "nbgrader.apps.nbgraderapp",
             "jupyter": "jupyter_core.command"}


def grader_can_run_venv() -> bool:
    return reachable_by_others(Path(sys.executable))


# --- accounts ----------------------------------------------------------------------------------

def is_root() -> bool:
    return os.geteuid() == 0


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def manual_steps(paths: HubPaths, settings: Settings) -> str:
    """What an administrator runs by hand where this process cannot create users (not root)."""
    users = (settings.grader,) + settings.graders + settings.students
    lines = ["as root (sudo), once:"]
    lines += [f"  useradd --create-home --home-dir {paths.home(u)} --user-group --shell /bin/bash {u}"
              for u in users]
    lines += [f"  passwd {u}" for u in settings.graders + settings.students]
    lines += [f"  mkdir -p {paths.exchange} && chmod 1777 {paths.exchange}",
              f"  mkdir -p {paths.course} && chown {settings.grader}: {paths.course} && chmod 750 {paths.course}",
              "then start the hub as root: `make hub` (JupyterHub starts each user's server as that user)"]
    return "\n".join(lines)


def ensure_user(name: str, home: Path) -> bool:
    """Create the Linux user ``name`` with ``home`` (mode 700) unless it exists; True if created."""
    created = False
    if not user_exists(name):
        home.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--user-group",
                        "--shell", "/bin/bash", name], check=True, capture_output=True, text=True)
        created = True
    entry = pwd.getpwnam(name)
    real_home = Path(entry.pw_dir)
    real_home.mkdir(parents=True, exist_ok=True)
    os.chown(real_home, entry.pw_uid, entry.pw_gid)
    os.chmod(real_home, HOME_MODE)
    return created


def remove_user(name: str) -> None:
    if user_exists(name):
        subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", name], check=False, capture_output=True)


def read_accounts(paths: HubPaths) -> dict[str, tuple[str, str]]:
    """user -> (role, password) from ``accounts.txt``."""
    accounts = {}
    if paths.accounts_file.exists():
        for line in paths.accounts_file.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                accounts[parts[0]] = (parts[1], parts[2])
    return accounts


def ensure_accounts(paths: HubPaths, settings: Settings, extra_students: tuple[str, ...] = ()) -> dict:
    """Create the grader account and the demo accounts with passwords (kept across restarts)."""
    if not is_root():
        raise HubError("creating the course's Linux accounts needs root.\n" + manual_steps(paths, settings))
    ensure_user(settings.grader, paths.home(settings.grader))
    known = read_accounts(paths)
    roles = ([(u, "instructor") for u in settings.instructors] + [(u, "ta") for u in settings.tas]
             + [(u, "student") for u in settings.students + extra_students])
    accounts = {}
    for user, role in roles:
        ensure_user(user, paths.home(user))
        password = known.get(user, (role, ""))[1] or secrets.token_urlsafe(9)
        accounts[user] = (role, password)
    # PAM checks these passwords at the hub's login page
    subprocess.run(["chpasswd"], input="".join(f"{u}:{p}\n" for u, (_, p) in accounts.items()),
                   text=True, check=True, capture_output=True)
    paths.accounts_file.write_text("# user role password (demo accounts of `make hub`)\n"
                                   + "".join(f"{u} {r} {p}\n" for u, (r, p) in accounts.items()))
    os.chmod(paths.accounts_file, 0o600)
    return accounts


# --- state folder and exchange -----------------------------------------------------------------

COURSE_CONFIG = '''"""nbgrader configuration of the hub course (written by `python -m autograde.hub start`)."""
import sys
from pathlib import Path

sys.path.insert(0, {repo!r})
from autograde.hub_course import HubPaths, HubCourse  # noqa: E402

course = HubCourse(root=Path({repo!r}), workspace=Path({course!r}), release=Path({release!r}),
                   exchange=Path({exchange!r}), settings_file=Path({settings!r}))
c = get_config()  # noqa: F821
c.merge(course.nbgrader_config())
# the formgrader's Autograde button grades in the project's sandbox too
for key, value in course.grading_config().items():
    section, name = key.split(".")
    setattr(getattr(c, section), name, value)
'''


def settings_path() -> Path:
    return Path(os.environ.get(SETTINGS_ENV) or HUB_CONFIG_DIR / "course.toml").resolve()


def prepare(paths: HubPaths, settings: Settings) -> None:
    """State folder, exchange (1777) and the grader's course folder with its nbgrader config."""
    paths.state.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.state, 0o755)  # users' servers pass through it to their homes and the exchange
    paths.homes.mkdir(exist_ok=True)
    os.chmod(paths.homes, 0o755)
    paths.exchange.mkdir(exist_ok=True)
    os.chmod(paths.exchange, EXCHANGE_MODE)
    paths.course.mkdir(exist_ok=True)
    (paths.course / "nbgrader_config.py").write_text(COURSE_CONFIG.format(
        repo=str(REPO_ROOT), course=str(paths.course), release=str(paths.release),
        exchange=str(paths.exchange), settings=str(settings_path())))
    grader = pwd.getpwnam(settings.grader)
    for folder, _, files in os.walk(paths.course):
        os.chown(folder, grader.pw_uid, grader.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), grader.pw_uid, grader.pw_gid)
    os.chmod(paths.course, COURSE_MODE)
    course_exchange = paths.exchange / settings.course_id
    if course_exchange.exists():  # released before: the grader must still own it
        os.chown(course_exchange, grader.pw_uid, grader.pw_gid)


def check_exchange(paths: HubPaths, settings: Settings) -> list[str]:
    """Problems with the exchange's permissions, each with its fix (empty when all is well)."""
    problems = []
    root = paths.exchange
    if not root.is_dir():
        return [f"the exchange {root} does not exist: start the hub once (`make hub`) to create it"]
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o777 != 0o777:
        problems.append(f"the exchange {root} has mode {mode:04o}; nbgrader needs everyone to write there "
                        f"(1777, like /tmp): `chmod 1777 {root}` as root, or restart `make hub`")
    course = root / settings.course_id
    if course.exists():
        owner = pwd.getpwuid(course.stat().st_uid).pw_name if course.stat().st_uid in {
            p.pw_uid for p in pwd.getpwall()} else str(course.stat().st_uid)
        if owner != settings.grader:
            problems.append(f"{course} belongs to {owner}, not to the grader account {settings.grader}: "
                            f"`chown -R {settings.grader}: {course}` as root")
        for name, want in (("inbound", 0o2733), ("outbound", 0o755), ("feedback", 0o711)):
            folder = course / name
            if folder.is_dir():
                have = stat.S_IMODE(folder.stat().st_mode)
                if have & 0o777 != want & 0o777:
                    problems.append(f"{folder} has mode {have:04o}, nbgrader uses {want:04o}: "
                                    f"`chmod {want:04o} {folder}` as root")
    return problems


# --- running as the grader account -------------------------------------------------------------

def grader_env(paths: HubPaths, user: str) -> dict[str, str]:
    entry = pwd.getpwnam(user)
    env = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TERM", "OMP_NUM_THREADS",
                                                         "MKL_NUM_THREADS", "LABKIT_DEVICE",
                                                         "CUDA_VISIBLE_DEVICES")}
    env.update(HOME=entry.pw_dir, USER=user, LOGNAME=user, PATH=f"{BIN}{os.pathsep}/usr/bin:/bin",
               PYTHONPATH=str(REPO_ROOT), **{STATE_ENV: str(paths.state), SETTINGS_ENV: str(settings_path())})
    return env


def as_grader(paths: HubPaths, settings: Settings, argv: list[str]) -> int | None:
    """Re-run this command as the grader account when started as root; None when already it."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    if me == settings.grader:
        return None
    if not is_root():
        raise HubError(f"course steps run as the grader account {settings.grader} (it owns {paths.course}); "
                       f"you are {me}: run them as root (`sudo make ...`) or as {settings.grader}")
    if not user_exists(settings.grader):
        raise HubError(f"the grader account {settings.grader} does not exist yet: run `make hub` first")
    if not grader_can_run_venv():
        # here the course venv's Python is private to root: root runs the step, then hands the
        # files back to the grader account (hand_back) so the formgrader can go on with them
        return None
    cmd = ["runuser", "-u", settings.grader, "--", "env", "-i",
           *[f"{k}={v}" for k, v in grader_env(paths, settings.grader).items()],
           sys.executable, "-m", "autograde.hub", *argv]
    return subprocess.run(cmd, cwd=paths.course).returncode


def hand_back(paths: HubPaths, settings: Settings) -> None:
    """After a step run by root: the grader account owns the course folder and its exchange
    folders again. Submissions in inbound/ keep their students as owners (collect checks that)."""
    grader = pwd.getpwnam(settings.grader)
    ids = (grader.pw_uid, grader.pw_gid)

    def chown_tree(top: Path) -> None:
        if not top.exists():
            return
        os.chown(top, *ids)
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(os.path.join(folder, name), *ids, follow_symlinks=False)

    chown_tree(paths.course)
    course_exchange = paths.exchange / settings.course_id
    if course_exchange.exists():
        os.chown(course_exchange, *ids)
        for name in ("outbound", "feedback"):
            chown_tree(course_exchange / name)
        if (course_exchange / "inbound").exists():
            os.chown(course_exchange / "inbound", *ids)


def nbgrader(paths: HubPaths, *args: str) -> None:
    """Run an nbgrader command in the course folder (its nbgrader_config.py applies)."""
    print("$ nbgrader " + " ".join(args), flush=True)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=paths.course, text=True, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = "\n".join(line for line in proc.stdout.splitlines() if "not in session" not in line)
    if out.strip():
        print(out, flush=True)
    if proc.returncode:
        raise HubError(f"nbgrader {args[0]} failed (exit {proc.returncode}); see its messages above")


def require_exchange(paths: HubPaths, settings: Settings) -> None:
    problems = check_exchange(paths, settings)
    if problems:
        raise HubError("the exchange is not usable:\n  " + "\n  ".join(problems))


def autograde_cli(course, *argv: str) -> None:
    """The project's grading command line (``python -m autograde ...``) on the hub's course."""
    from autograde.__main__ import main

    print("$ python -m autograde " + " ".join(argv), flush=True)
    code = main(list(argv), course=course)
    if code:
        raise HubError(f"python -m autograde {argv[0]} failed (exit {code})")


# --- course steps (as the grader account) ------------------------------------------------------

def require_lab(course: HubCourse, lab: str) -> None:
    """Stop with the list of labs when ``lab`` is not one of the course's."""
    if lab not in course.labs():
        raise HubError(f"unknown lab {lab!r}; labs: {', '.join(course.labs())}")


def record_answers(paths: HubPaths, lab: str) -> None:
    """The judge grades against answers recorded from the lab's solution (kept in the repository's
    autograde/answers/): record them if missing or stale, as `make release` does, so that `grade`
    never stops on a fresh checkout. Run by the first process of `release` (root, before it hands
    the step to the grader account) and again, a no-op then, inside the step."""
    from autograde import answers

    course = hub_course(paths)
    require_lab(course, lab)
    try:
        _, recorded = answers.ensure(course, lab)
    except answers.AnswersError as err:
        raise HubError(str(err)) from err
    except OSError as err:
        raise HubError(f"cannot record the answers of {lab} in {course.answers_dir}: {err}; run "
                       f"`make release LAB={lab}` as the repository's owner first") from err
    if recorded:
        print(f"recorded the answers of {lab} for the judge in {answers.path(course, lab)}")


def step_release(paths: HubPaths, settings: Settings, lab: str) -> None:
    from nbgrader.api import Gradebook

    require_exchange(paths, settings)
    course = hub_course(paths)
    require_lab(course, lab)
    nbgrader(paths, "generate_assignment", lab, "--force")
    record_answers(paths, lab)
    due = settings.due.get(lab)
    if due:
        with Gradebook(course.db_url, settings.course_id) as gb:
            gb.update_or_create_assignment(lab, duedate=due)
        print(f"due date of {lab}: {due}")
    nbgrader(paths, "release_assignment", lab, "--force")


def step_collect(paths: HubPaths, settings: Settings, lab: str) -> None:
    require_exchange(paths, settings)
    nbgrader(paths, "collect", lab, "--update")


def step_grade(paths: HubPaths, settings: Settings, lab: str, students: str, workers: int) -> None:
    course = hub_course(paths)
    args = ["autograde", "--lab", lab] + (["--students", students] if students else [])
    args += ["--workers", str(workers)] if workers else []
    autograde_cli(course, *args)
    step_grades(paths, settings)


def step_grades(paths: HubPaths, settings: Settings) -> None:
    from autograde import lms_export

    course = hub_course(paths)
    autograde_cli(course, "grades")
    print(f"wrote {lms_export.export_canvas_csv(course, settings.canvas)}")


def step_feedback(paths: HubPaths, settings: Settings, lab: str) -> None:
    require_exchange(paths, settings)
    course = hub_course(paths)
    autograde_cli(course, "feedback", "--lab", lab)
    # release_feedback names each page by the student's submission secret (so only they find it)
    # and needs the submission's timestamp beside the page; both come from the collected copy
    released = 0
    for student in course.students():
        target = course.feedback_dir / student / lab
        if not (target / f"{lab}.html").exists():
            continue
        for name in ("timestamp.txt", "submission_secret.txt"):
            source = course.submission_dir(lab, student) / name
            if source.exists():
                shutil.copyfile(source, target / name)
        released += 1
    if not released:
        raise HubError(f"no feedback to release for {lab}: grade it first (`make hub-grade LAB={lab}`)")
    nbgrader(paths, "release_feedback", lab)


# --- the hub itself ----------------------------------------------------------------------------

def hub_url(paths: HubPaths) -> str:
    return f"http://127.0.0.1:{os.environ.get('HUB_PORT', '8000')}"


def start(paths: HubPaths, settings: Settings) -> int:
    """Prepare everything, then run JupyterHub in the foreground until Ctrl-C or ``stop``."""
    if not is_root():
        print(f"error: `make hub` must run as root: JupyterHub starts every user's server as that "
              f"Linux user, and the demo accounts are real users.\n{manual_steps(paths, settings)}",
              file=sys.stderr)
        return 1
    if running_pid(paths):
        print(f"error: a hub already runs from {paths.state} (pid {running_pid(paths)}): `make hub-stop` first",
              file=sys.stderr)
        return 1
    proxy = HUB_CONFIG_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        print(f"error: {proxy} is missing: `make setup` installs it with npm (Node.js needed)", file=sys.stderr)
        return 1
    paths.state.mkdir(parents=True, exist_ok=True)
    accounts = ensure_accounts(paths, settings)
    prepare(paths, settings)
    from autograde.pipeline import warm_dataset_cache

    warm_dataset_cache()  # the grader account cannot write the repository's data/ cache
    url = hub_url(paths)
    paths.url_file.write_text(url + "\n")
    width = max(len(u) for u in accounts)
    print(f"\nJupyterHub for {settings.course_id}: {url}   (state in {paths.state})\n")
    for user, (role, password) in accounts.items():
        print(f"  {user.ljust(width)}  {role:<10}  password {password}")
    print(f"\n  formgrader (instructors, TAs): {url}/services/{settings.course_id}/formgrader")
    print(f"  passwords are in {paths.accounts_file}; stop with Ctrl-C or `make hub-stop`\n", flush=True)
    env = {**os.environ, STATE_ENV: str(paths.state), SETTINGS_ENV: str(settings_path()),
           "HUB_USER_PYTHON": str(user_python(paths)),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
    cmd = [str(BIN / "jupyterhub"), "-f", str(HUB_CONFIG_DIR / "jupyterhub_config.py")]
    # A hub started where SIGINT is ignored (`nohup`, `&` in a script, a pytest-xdist worker) would pass
    # that on to the formgrader service, which JupyterHub starts before it installs its own handlers: the
    # service then ignores the SIGINT that stopping the hub sends it, and every stop waits ~30 s for SIGTERM.
    proc = subprocess.Popen(cmd, cwd=paths.state, env=env, preexec_fn=_default_sigint)
    paths.pid_file.write_text(f"{proc.pid}\n")
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()
    finally:
        paths.pid_file.unlink(missing_ok=True)


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default action (see :func:`start`)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def running_pid(paths: HubPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def stop(paths: HubPaths, timeout: float = 60) -> int:
    """SIGTERM to JupyterHub: it stops the users' servers, the formgrader service and the proxy."""
    pid = running_pid(paths)
    if pid is None:
        print(f"no hub is running from {paths.state}")
        return 0
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"stopped the hub (pid {pid})")
            return 0
        time.sleep(0.2)
    print(f"the hub (pid {pid}) did not stop within {timeout:.0f} s", file=sys.stderr)
    return 1


def remove(paths: HubPaths, settings: Settings) -> int:
    """Stop the hub, delete the demo accounts and the state folder."""
    stop(paths)
    if not is_root():
        print("error: removing the demo accounts needs root", file=sys.stderr)
        return 1
    for user in (settings.grader,) + settings.graders + settings.students:
        remove_user(user)
    shutil.rmtree(paths.state, ignore_errors=True)
    print(f"removed the demo accounts and {paths.state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.hub", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "remove", "check", "grades"):
        sub.add_parser(name)
    for name in ("release", "collect", "grade", "feedback"):
        p = sub.add_parser(name)
        p.add_argument("--lab", required=True)
        if name == "grade":
            p.add_argument("--students", default="", help="comma list (default: every collected one)")
            p.add_argument("--workers", type=int, default=0)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    paths, settings = HubPaths(), Settings.load(settings_path())
    try:
        if args.command == "start":
            return start(paths, settings)
        if args.command == "stop":
            return stop(paths)
        if args.command == "remove":
            return remove(paths, settings)
        if args.command == "check":
            problems = check_exchange(paths, settings)
            print("\n".join(problems) or f"the exchange {paths.exchange} is fine")
            return 1 if problems else 0
        if args.command == "release" and is_root():
            record_answers(paths, args.lab)  # the repository may be root's alone
        code = as_grader(paths, settings, raw)
        if code is not None:
            return code
        os.chdir(paths.course)
        try:
            if args.command == "release":
                step_release(paths, settings, args.lab)
            elif args.command == "collect":
                step_collect(paths, settings, args.lab)
            elif args.command == "grade":
                step_grade(paths, settings, args.lab, args.students, args.workers)
            elif args.command == "feedback":
                step_feedback(paths, settings, args.lab)
            elif args.command == "grades":
                step_grades(paths, settings)
        finally:
            if is_root():
                hand_back(paths, settings)
        return 0
    except HubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
