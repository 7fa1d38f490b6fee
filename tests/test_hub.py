"""The whole course loop on a real multi-user JupyterHub (``make hub``), with nbgrader's exchange.

One hub for the module (tests/hub_driver.CourseHub): test accounts that are real Linux users,
PAM logins, each user's server running as that user, the formgrader service for the graders.

- the loop in headless Chromium: the instructor releases lab 1; student A fetches it from the
  Assignment List, answers one exercise, validates, submits; student B submits the untouched lab;
  the TA collects and grades (the project's sandboxed parallel grader), feedback is released;
  A fetches the feedback (score and failing checks, no hidden test); B can open neither A's
  files nor the formgrader. Screenshots in artifacts/hub/.
- 30 scripted students fetch and submit at once as their own Linux users, some twice: collect gets
  every student's last submission, none lost or mixed up.
- bad input: a renamed and a broken notebook, a lab that was never released, an exchange with
  wrong permissions: each gets a clear message, the rest goes on.

Needs root (useradd, runuser, PAM): elsewhere the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import browser_lab as bl
import hub_driver as hd
import nbformat
import pytest

from autograde.course import REPO_ROOT

LAB = "lab1_perceptron"
ARTIFACTS = REPO_ROOT / "artifacts" / "hub"
ALICE, BOB, CAROL = "dlt-alice", "dlt-bob", "dlt-carol"
BURST = [f"dlt-s{i:02d}" for i in range(1, 31)]
TWICE = set(BURST[::3])  # every third student submits twice
EXERCISE, CHECK = "perceptron_predict", "test_perceptron_predict"
BUDGET_S = 1500

pytestmark = [pytest.mark.xdist_group("hub")]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the hub tests create Linux users and start servers as them: run as root"
    for tool in ("useradd", "userdel", "chpasswd", "runuser"):
        if not shutil.which(tool):
            return f"{tool} is missing"
    if not (REPO_ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        return "configurable-http-proxy is missing (make setup installs it with npm)"
    return None


@pytest.fixture(scope="module")
def hub():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    # due an hour ago: both browser submissions are late (10 % per started day, see course.toml)
    due = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with hd.CourseHub([ALICE, BOB, CAROL, *BURST], due=due, log_dir=ARTIFACTS) as course_hub:
        course_hub.step("release", "--lab", LAB)
        # release leaves the judge's answers current (recorded if missing: on a fresh clone the hub's
        # group runs first, before any other test has recorded Lab 1's answers), so grading can start
        from autograde import answers
        from autograde.course import Course

        answers.load(Course(root=REPO_ROOT), LAB)  # raises AnswersError if missing or stale
        yield course_hub
        (ARTIFACTS / "timings.json").write_text(json.dumps(course_hub.timings, indent=1))


def solution_cell(grade_id: str) -> str:
    source = nbformat.read(REPO_ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "\n".join(x for x in cell.source.split("\n") if x.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def hidden_test_lines() -> list[str]:
    """Every line of lab 1's hidden tests long enough to be recognisable."""
    source = nbformat.read(REPO_ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    lines = []
    for cell in source.cells:
        inside = False
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 20:
                lines.append(line.strip())
    assert lines, "lab 1 has no hidden tests any more: update this test"
    return lines


# --- the loop in a real browser -------------------------------------------------------------------

@pytest.mark.notebook
def test_course_loop_in_the_browser(hub):
    if not bl.CHROMIUM.exists():
        pytest.skip(f"{bl.CHROMIUM} is missing (make setup installs Debian's chromium where it can)")
    from playwright.sync_api import sync_playwright

    deadline = bl.Deadline(BUDGET_S)
    pw = sync_playwright().start()
    page = None
    try:
        with bl.Watchdog(BUDGET_S + 60, hub.stop):
            browser = pw.chromium.launch(executable_path=str(bl.CHROMIUM), args=bl.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(90_000)
            _loop(page, hub, deadline)
    except Exception:
        if page is not None:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "failure.png"))
        raise
    finally:
        pw.stop()


def _timed(hub, name):
    @contextlib.contextmanager
    def timer():
        t0 = time.monotonic()
        yield
        hub.timings[name] = time.monotonic() - t0
    return timer()


def _loop(page, hub, deadline):
    shot = lambda name: page.screenshot(path=str(ARTIFACTS / name))  # noqa: E731
    release = nbformat.read(hub.course_dir / "release" / LAB / f"{LAB}.ipynb", as_version=4)
    ids = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(release.cells) if "nbgrader" in c.metadata}
    answer = solution_cell(EXERCISE)

    # 1. the instructor sees the released lab in the formgrader (a hub service for the graders)
    with _timed(hub, "browser: instructor login + formgrader"):
        hd.login(page, hub, "dlt-instructor", deadline)
        page.goto(f"{hub.url}/services/{hub.course_id}/formgrader/manage_assignments", timeout=deadline.ms(120))
        page.get_by_text(LAB).first.wait_for(timeout=deadline.ms(120))
        row = page.locator("tr", has_text=LAB).first
        row.wait_for()
    shot("01-instructor-formgrader-released.png")
    hd.logout(page, hub, deadline)

    # 2. student A: fetch from the Assignment List, answer one exercise, validate, submit
    with _timed(hub, "browser: student A login (server start)"):
        hd.login(page, hub, ALICE, deadline)
    page_text = page.locator("#jp-top-panel, .jp-MenuBar").first.inner_text()
    assert "Nbgrader" in page_text
    with _timed(hub, "browser: student A fetch"):
        hd.open_assignment_list(page, deadline)
        page.locator("#released_assignments_list").get_by_text(LAB).wait_for(timeout=deadline.ms(60))
        shot("02-student-a-assignment-list.png")
        page.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
        page.locator("#fetched_assignments_list").get_by_text(LAB).first.wait_for(timeout=deadline.ms(120))
    notebook = hub.home(ALICE) / LAB / f"{LAB}.ipynb"
    assert notebook.exists()
    assert notebook.stat().st_uid == _uid(ALICE)  # fetched as the student, into their own home
    # the student's JupyterLab has no instructor tools
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    menu_text = page.locator(".lm-Menu").last.inner_text()
    page.keyboard.press("Escape")
    assert "Assignment List" in menu_text and "Formgrader" not in menu_text
    shot("03-student-a-fetched.png")

    with _timed(hub, "browser: student A edit + save"):
        page.goto(f"{hub.url}/user/{ALICE}/lab/tree/{LAB}/{LAB}.ipynb", timeout=deadline.ms(120))
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n",
                               arg=[bl.CELLS, len(release.cells)], timeout=deadline.ms(120))
        bl.wait_kernel_idle(page, deadline, cap_s=180)
        bl.type_cell_source(page, ids[EXERCISE], answer, deadline)
        bl.save_notebook(page, deadline)
    saved = nbformat.read(notebook, as_version=4)
    assert saved.cells[ids[EXERCISE]].source == answer
    with _timed(hub, "browser: student A validate"):
        page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
        message = page.locator(".jp-Dialog #validation-message")
        message.wait_for(timeout=deadline.ms(300))
    blocks = message.locator("pre").all_inner_texts()
    failing_sources = {b.strip() for b in blocks[::2]}
    assert release.cells[ids[CHECK]].source.strip() not in failing_sources, "the answered check still fails"
    assert release.cells[ids["test_perceptron_train_gates"]].source.strip() in failing_sources
    shot("04-student-a-validate.png")
    page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()

    with _timed(hub, "browser: student A submit"):
        hd.open_assignment_list(page, deadline)
        fetched = page.locator("#fetched_assignments_list")
        fetched.get_by_role("button", name="Submit").first.click()
        page.locator("#submitted_assignments_list").get_by_text(LAB).first.wait_for(timeout=deadline.ms(120))
    shot("05-student-a-submitted.png")
    hd.logout(page, hub, deadline)

    # 3. student B submits the untouched lab
    with _timed(hub, "browser: student B login + fetch + submit"):
        hd.login(page, hub, BOB, deadline)
        hd.open_assignment_list(page, deadline)
        page.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
        page.locator("#fetched_assignments_list").get_by_role("button", name="Submit").first.click(timeout=deadline.ms(120))
        page.locator("#submitted_assignments_list").get_by_text(LAB).first.wait_for(timeout=deadline.ms(120))
    shot("06-student-b-submitted.png")
    hd.logout(page, hub, deadline)

    # 4. the TA collects and grades (only these two; the burst test's students are not graded)
    out = hub.step("collect", "--lab", LAB).stdout
    assert f"Collecting submission: {ALICE}" in out and f"Collecting submission: {BOB}" in out, out
    graded = hub.step("grade", "--lab", LAB, "--students", f"{ALICE},{BOB}", timeout=1200)
    (ARTIFACTS / "grade-output.txt").write_text(graded.stdout + graded.stderr)
    scores = _gradebook_scores(hub)
    a_raw, a_penalty = scores[ALICE]
    b_raw, b_penalty = scores[BOB]
    assert a_raw > 0 and b_raw == 0, scores
    assert a_penalty == pytest.approx(round(a_raw * 0.10, 2)), "1 hour late: 10 % of the score"
    canvas = (hub.course_dir / "exports" / "canvas_gradebook.csv").read_text().splitlines()
    assert canvas[0] == f"Student,ID,SIS User ID,SIS Login ID,Section,{LAB} (424242)"
    assert canvas[1].startswith("Points Possible,")
    alice_row = next(r for r in canvas if f",{ALICE},{ALICE}," in r)
    assert alice_row.endswith(f",{a_raw - a_penalty:g}"), alice_row

    with _timed(hub, "browser: TA formgrader"):
        hd.login(page, hub, "dlt-ta", deadline)
        page.goto(f"{hub.url}/services/{hub.course_id}/formgrader/gradebook/{LAB}/{LAB}", timeout=deadline.ms(120))
        page.get_by_text("Submission #2").first.wait_for(timeout=deadline.ms(120))  # both graded
        page.get_by_role("button", name="Show All Names").click(timeout=deadline.ms(120))
        # the formgrader lists the students by name once asked (the link is there either way)
        page.locator("a", has_text=ALICE).first.wait_for(state="attached", timeout=deadline.ms(120))
        page.wait_for_timeout(1000)
    shot("07-ta-formgrader-gradebook.png")
    hd.logout(page, hub, deadline)

    # 5. feedback, released back through the exchange
    hub.step("feedback", "--lab", LAB)

    # 6. student A fetches the feedback: the score and the failing checks, no hidden test
    with _timed(hub, "browser: student A fetch feedback"):
        hd.login(page, hub, ALICE, deadline)
        hd.open_assignment_list(page, deadline)
        submitted = page.locator("#submitted_assignments_list")
        submitted.get_by_role("button", name="Fetch Feedback").first.click()
        link = submitted.get_by_text("view feedback").first
        link.wait_for(timeout=deadline.ms(120))
    feedback_files = list((hub.home(ALICE) / LAB / "feedback").rglob(f"{LAB}.html"))
    assert len(feedback_files) == 1, feedback_files
    relative = feedback_files[0].relative_to(hub.home(ALICE))
    page.goto(f"{hub.url}/user/{ALICE}/files/{relative}", timeout=deadline.ms(60))
    text = page.locator("body").inner_text()
    shot("08-student-a-feedback.png")
    # nbgrader's feedback page: the score after the late penalty, and the penalty itself
    after = a_raw - a_penalty
    assert re.search(rf"Score:\s*{after:g}0*\s*/\s*26(\.0+)?\b", text), text[:800]
    assert re.search(rf"Late submission penalty \(Score: -{a_penalty:g}0*\)", text), text[:800]
    assert "NotImplementedError" in text  # the checks that still fail say why
    visible = {line.strip() for c in release.cells for line in c.source.split("\n")}
    leaked = [line for line in hidden_test_lines() if line not in visible and line in text]
    assert not leaked, f"hidden tests in the feedback: {leaked[:3]}"
    hd.logout(page, hub, deadline)

    # 7. student B can open neither A's server and files nor the formgrader
    hd.login(page, hub, BOB, deadline)
    response = page.goto(f"{hub.url}/user/{ALICE}/files/{LAB}/{LAB}.ipynb", timeout=deadline.ms(60))
    body = page.locator("body").inner_text()
    assert response.status in (403, 404) or "403" in body or "not" in body.lower(), (response.status, body[:300])
    assert answer.split("\n")[-1] not in body
    shot("09-student-b-denied-a-files.png")
    response = page.goto(f"{hub.url}/services/{hub.course_id}/formgrader", timeout=deadline.ms(60))
    body = page.locator("body").inner_text()
    assert response.status == 403 or "403" in body, (response.status, body[:300])
    shot("10-student-b-denied-formgrader.png")
    # ... nor on the file system, as their own Linux user
    env = {"PATH": "/usr/bin:/bin"}
    denied = hd.run_as(BOB, ["cat", str(notebook)], cwd=Path("/"), env=env)
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    listing = hd.run_as(BOB, ["ls", str(hub.exchange / hub.course_id / "inbound")], cwd=Path("/"), env=env)
    assert listing.returncode != 0 and "Permission denied" in listing.stderr
    course = hd.run_as(BOB, ["ls", str(hub.course_dir)], cwd=Path("/"), env=env)
    assert course.returncode != 0


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


def _gradebook_scores(hub) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course_dir / 'gradebook.db'}") as gb:
        return {s.student.id: (s.score, s.late_submission_penalty) for s in gb.find_assignment(LAB).submissions}


# --- 30 students at once ----------------------------------------------------------------------------

@pytest.mark.notebook
def test_thirty_students_fetch_and_submit_at_once(hub):
    python = hub.user_python()
    script = str(REPO_ROOT / "tests" / "hub_driver.py")
    config_path = f"{REPO_ROOT / 'hub' / 'jupyter' / 'student'}:{Path(sys.prefix) / 'etc' / 'jupyter'}"

    def one(student: str) -> subprocess.CompletedProcess:
        attempts = 2 if student in TWICE else 1
        env = {"JUPYTER_CONFIG_PATH": config_path, "HUB_STATE": str(hub.state),
               "HUB_COURSE_SETTINGS": str(hub.settings), "PATH": f"{Path(python).parent}:/usr/bin:/bin"}
        return hd.run_as(student, [python, script, "student-burst", LAB, str(attempts), student],
                         cwd=hub.home(student), env=env, timeout=900)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(BURST)) as pool:
        results = dict(zip(BURST, pool.map(one, BURST)))
    hub.timings["burst: 30 students fetch + submit (10 twice)"] = time.monotonic() - t0
    last = {}
    for student, proc in results.items():
        assert proc.returncode == 0, f"{student}:\n{proc.stdout}\n{proc.stderr[-3000:]}"
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
        assert len(lines) == (2 if student in TWICE else 1), proc.stdout
        last[student] = lines[-1]
    inbound = hub.exchange / hub.course_id / "inbound"
    entries = [p.name for p in inbound.iterdir() if p.name.split("+")[0] in BURST]
    assert len(entries) == 30 + len(TWICE), "a submission went missing in the exchange"

    t0 = time.monotonic()
    hub.step("collect", "--lab", LAB)
    hub.timings["burst: collect 30"] = time.monotonic() - t0
    for student in BURST:
        folder = hub.course_dir / "submitted" / student / LAB
        nb = nbformat.read(folder / f"{LAB}.ipynb", as_version=4)
        assert nb.metadata["burst"] == {"student": student, "attempt": last[student]["attempt"]}, student
        assert (folder / "timestamp.txt").read_text().strip() == last[student]["timestamp"].strip(), student
    # the TA's formgrader sees the same: one submission per student, with the last timestamp
    from nbgrader.utils import parse_utc

    for student in TWICE:
        first, second = [json.loads(x) for x in results[student].stdout.splitlines() if x.startswith("{")]
        assert parse_utc(second["timestamp"]) > parse_utc(first["timestamp"])


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.notebook
def test_bad_submissions_get_a_clear_message(hub):
    python = hub.user_python()
    config_path = f"{REPO_ROOT / 'hub' / 'jupyter' / 'student'}:{Path(sys.prefix) / 'etc' / 'jupyter'}"
    env = {"JUPYTER_CONFIG_PATH": config_path, "HUB_STATE": str(hub.state),
           "HUB_COURSE_SETTINGS": str(hub.settings), "PATH": f"{Path(python).parent}:/usr/bin:/bin"}

    def nbg(user: str, *args: str):
        return hd.run_as(user, [python, "-m", "nbgrader", *args], cwd=hub.home(user), env=env, timeout=300)

    # a lab that was never released: fetch and submit both say so
    fetch = nbg(CAROL, "fetch_assignment", "lab6_attention")
    assert fetch.returncode != 0 and "Assignment not found" in fetch.stderr and "lab6_attention" in fetch.stderr, fetch.stderr
    (hub.home(CAROL) / "lab6_attention").mkdir(exist_ok=True)
    subprocess.run(["chown", f"{CAROL}:", str(hub.home(CAROL) / "lab6_attention")], check=True)
    submit = nbg(CAROL, "submit", "lab6_attention")
    assert submit.returncode != 0 and "Assignment not found" in submit.stderr, submit.stderr

    # a renamed notebook (nbgrader warns at submit) and a broken one: the grader names the problem
    assert nbg(CAROL, "fetch_assignment", LAB).returncode == 0
    folder = hub.home(CAROL) / LAB
    (folder / f"{LAB}.ipynb").rename(folder / "my_lab1.ipynb")
    renamed = nbg(CAROL, "submit", LAB)
    assert renamed.returncode == 0 and "MISSING" in renamed.stderr, renamed.stderr
    bob_folder = hub.home(BOB) / LAB
    if not bob_folder.exists():
        assert nbg(BOB, "fetch_assignment", LAB).returncode == 0
    (bob_folder / f"{LAB}.ipynb").write_text('{"cells": [ this is not JSON')
    assert nbg(BOB, "submit", LAB).returncode == 0
    hub.step("collect", "--lab", LAB)
    graded = hub.step("grade", "--lab", LAB, "--students", f"{CAROL},{BOB}", timeout=600)
    status = (hub.course_dir / "exports" / "status.csv").read_text()
    carol = next(line for line in status.splitlines() if line.startswith(f"{LAB},{CAROL},"))
    bob = next(line for line in status.splitlines() if line.startswith(f"{LAB},{BOB},"))
    assert ",error," in carol and "renamed" in carol and "my_lab1.ipynb" in carol, carol
    assert ",error," in bob and "not a notebook" in bob, bob
    assert "error" in graded.stdout.lower()

    # an exchange with the wrong permissions: clear message for the instructor and the students,
    # and after the fix everything works again
    mode = stat.S_IMODE(hub.exchange.stat().st_mode)
    try:
        os.chmod(hub.exchange, 0o755)
        check = hub.step("check", check=False)
        assert check.returncode == 1 and "chmod 1777" in check.stdout, check.stdout
        release = hub.step("release", "--lab", LAB, check=False)
        assert release.returncode == 2 and "exchange is not usable" in release.stderr, release.stderr
        inbound = hub.exchange / hub.course_id / "inbound"
        os.chmod(hub.exchange, mode)
        os.chmod(inbound, 0o2700)
        student = nbg(CAROL, "submit", LAB)
        assert student.returncode != 0 and "permissions" in student.stderr, student.stderr
        check = hub.step("check", check=False)
        assert "inbound" in check.stdout and "2733" in check.stdout, check.stdout
    finally:
        os.chmod(hub.exchange, mode)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(hub.exchange / hub.course_id / "inbound", 0o2733)
    assert hub.step("check").returncode == 0
    (folder / "my_lab1.ipynb").rename(folder / f"{LAB}.ipynb")
    assert nbg(CAROL, "submit", LAB).returncode == 0


# --- quick tests of the pieces (no hub, no root) -----------------------------------------------

def test_late_penalty_policy():
    from autograde.late import PercentPerDayLate

    plugin = PercentPerDayLate(percent_per_day=10, grace_minutes=15, max_percent=50)
    hour, day = 3600, 86400
    assert plugin.late_submission_penalty("s", 8.0, 10 * 60) == 0  # within the grace period
    assert plugin.late_submission_penalty("s", 8.0, 3 * hour) == pytest.approx(0.8)
    assert plugin.late_submission_penalty("s", 8.0, 30 * hour) == pytest.approx(1.6)
    assert plugin.late_submission_penalty("s", 8.0, 7 * day) == pytest.approx(4.0)  # capped at 50 %
    assert plugin.late_submission_penalty("s", 0.0, 3 * day) == 0


def test_the_hub_gets_sigint_back_even_where_it_is_ignored():
    """JupyterHub starts the formgrader service before installing its signal handlers, so a hub
    launched where SIGINT is ignored (nohup, a script's `&`, a pytest-xdist worker) made every stop
    wait ~30 s; `autograde.hub start` launches it with SIGINT at its default action."""
    from autograde.hub import _default_sigint

    probe = [sys.executable, "-c", "print(open('/proc/self/status').read())"]
    sigint_ignored = lambda status: bool(int(re.search(r"SigIgn:\s*(\w+)", status)[1], 16) & 0b10)  # noqa: E731
    ignoring = subprocess.run(probe, capture_output=True, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert sigint_ignored(ignoring.stdout)  # the probe sees an ignored SIGINT...

    def inherited_then_reset() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ...the situation the launcher may be in
        _default_sigint()

    launched = subprocess.run(probe, capture_output=True, text=True, preexec_fn=inherited_then_reset)
    assert not sigint_ignored(launched.stdout)


def test_hub_course_config(tmp_path):
    from autograde.hub_course import HubCourse, HubPaths, Settings

    settings = tmp_path / "course.toml"
    settings.write_text(hd.settings_text("c101", ["dlt-x"], "2030-01-01 00:00:00 UTC", "grader-c101"))
    paths = HubPaths(tmp_path / "state")
    course = HubCourse(root=REPO_ROOT, workspace=paths.course, release=paths.release, exchange=paths.exchange,
                       settings_file=settings)
    c = course.nbgrader_config()
    assert c.CourseDirectory.course_id == "c101"
    assert c.CourseDirectory.root == str(paths.course)  # never the repository's nbgrader_config.py
    assert c.CourseDirectory.submitted_directory == str(paths.course / "submitted")
    assert c.CourseDirectory.release_directory == str(paths.release)
    assert c.Exchange.root == str(paths.exchange)
    assert c.AssignLatePenalties.plugin_class == "autograde.late.PercentPerDayLate"
    assert c.PercentPerDayLate.grace_minutes == 0
    from autograde.course import CELL_TIMEOUT_S
    from autograde.hub_course import student_config

    assert student_config(paths, Settings.load(settings)).Execute.timeout == CELL_TIMEOUT_S  # Validate's cell limit
    assert student_config(paths, Settings.load(settings)).Validator.width == 200  # whole check messages
    s = Settings.load(settings)
    assert s.students == ("dlt-x",) and s.due["lab1_perceptron"].startswith("2030")
    assert s.formgrade_group == "formgrade-c101" and s.canvas == {"lab1_perceptron": "424242"}


def test_exchange_check_names_the_fix(tmp_path):
    from autograde import hub as hubmod
    from autograde.hub_course import HubPaths, Settings

    settings = tmp_path / "course.toml"
    settings.write_text(hd.settings_text("c101", [], None, "root"))
    paths = HubPaths(tmp_path / "state")
    s = Settings.load(settings)
    assert "does not exist" in hubmod.check_exchange(paths, s)[0]
    paths.exchange.mkdir(parents=True)
    os.chmod(paths.exchange, 0o755)
    (problem,) = hubmod.check_exchange(paths, s)
    assert "0755" in problem and "chmod 1777" in problem
    os.chmod(paths.exchange, 0o1777)
    assert hubmod.check_exchange(paths, s) == []
    inbound = paths.exchange / "c101" / "inbound"
    inbound.mkdir(parents=True)
    os.chmod(inbound, 0o700)
    (problem,) = hubmod.check_exchange(paths, s)
    assert "inbound" in problem and "2733" in problem


def test_canvas_export_layout(tmp_path):
    from nbgrader.api import Gradebook

    from autograde import lms_export
    from autograde.course import Course

    course = Course(workspace=tmp_path / "ws")
    course.workspace.mkdir()
    with Gradebook(course.db_url) as gb:
        gb.add_assignment(LAB)
        gb.add_student("s1", first_name="Ada", last_name="Lovelace", lms_user_id="777")
        gb.add_student("s2")
    header, rows = lms_export.canvas_rows(course, {LAB: "424242"}, section="A")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{LAB} (424242)"]
    assert rows[0][0] == "Points Possible"
    assert rows[1][:5] == ["Lovelace, Ada", "777", "s1", "s1", "A"]
    assert rows[1][5] == "" and rows[2][0] == "s2"  # nothing submitted: left empty
    assert lms_export.column_name(LAB, {}) == LAB


def test_make_targets_call_the_hub_commands():
    # run from `make test`, make's own MAKELEVEL/MAKEFLAGS would make these sub-makes print directories
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    for target, command in (("hub-release", "release --lab lab1_perceptron"), ("hub-collect", "collect --lab lab1_perceptron"),
                            ("hub-grade", "grade --lab lab1_perceptron"), ("hub-feedback", "feedback --lab lab1_perceptron")):
        out = subprocess.run(["make", "--no-print-directory", "-n", target, f"LAB={LAB}"], cwd=REPO_ROOT,
                             capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        assert f"-m autograde.hub {command}" in out.stdout.splitlines()[-1], out.stdout
    out = subprocess.run(["make", "-n", "hub-release"], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "LAB=" in out.stderr
    out = subprocess.run(["make", "-n", "hub-stop"], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert "-m autograde.hub stop" in out.stdout


def test_without_root_make_hub_prints_the_manual_steps(tmp_path, monkeypatch, capsys):
    from autograde import hub as hubmod
    from autograde.hub_course import HubPaths, Settings

    settings = tmp_path / "course.toml"
    settings.write_text(hd.settings_text("c101", ["dlt-x"], None, "grader-c101"))
    monkeypatch.setattr(hubmod, "is_root", lambda: False)
    paths = HubPaths(tmp_path / "state")
    assert hubmod.start(paths, Settings.load(settings)) == 1
    err = capsys.readouterr().err
    assert "must run as root" in err
    assert f"useradd --create-home --home-dir {paths.home('dlt-x')}" in err and "chmod 1777" in err
    assert not paths.state.exists()  # nothing was created
    with pytest.raises(hubmod.HubError, match="needs root"):
        hubmod.ensure_accounts(paths, Settings.load(settings))
