"""Helpers for the browser test: a student's JupyterLab server and a few JupyterLab page actions.

The server is the one ``make lab`` starts (same student config folder, ``jupyter_student/``, same
working directory, so the Validate button reads the course's nbgrader_config.py), but it serves a
temporary copy of the labs, listens on 127.0.0.1 with a token, and keeps its Jupyter config, data
and runtime folders in a temporary directory so nothing of the user's own Jupyter set-up is read
or written. Everything it starts is stopped by process id, even when the test fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from autograde.course import REPO_ROOT

BIN = Path(sys.executable).parent
STUDENT_CONFIG = REPO_ROOT / "jupyter_student"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps opening connections to a closed network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deadline:
    """A hard time budget shared by every wait of one test."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def ms(self, cap_s: float | None = None) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the browser test ran out of its overall time budget")
        return 1000 * (min(left, cap_s) if cap_s else left)


class StudentLab:
    """``jupyter lab`` as ``make lab`` runs it, on a temporary root folder; a context manager."""

    def __init__(self, root: Path, scratch: Path, log_path: Path):
        self.root, self.scratch, self.log_path = root, scratch, log_path
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self._log = None
        self._stopping = threading.Lock()

    def env(self) -> dict[str, str]:
        config = self.scratch / "jupyter_config"
        # test-only: no "would you like news?" toast over the screenshots (the network is closed)
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        )
        env = dict(os.environ)
        env.update(
            PATH=str(BIN) + os.pathsep + env.get("PATH", ""),  # nbgrader's alembic, the kernel's python
            JUPYTER_CONFIG_PATH=str(STUDENT_CONFIG),  # what `make lab` sets
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(self.scratch / "jupyter_data"),
            JUPYTER_RUNTIME_DIR=str(self.scratch / "jupyter_runtime"),
            IPYTHONDIR=str(self.scratch / "ipython"),
            LABKIT_DEVICE="cpu",  # the notebook runs on the CPU even where there is a GPU
            CUDA_VISIBLE_DEVICES="",
        )
        env.pop("JUPYTER_PREFER_ENV_PATH", None)
        env.setdefault("OMP_NUM_THREADS", "1")
        return env

    def __enter__(self) -> StudentLab:
        self._launch()
        return self

    def _launch(self) -> None:
        port = free_port()
        cmd = [
            str(BIN / "jupyter-lab"), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            # test-only: nothing that would reach for the (closed) network
            "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log:
            self._log.close()
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, deadline: Deadline, attempts: int = 3) -> None:
        """Poll the REST API until the server answers (or has died, with its log in the error).

        The free port can be taken by someone else before the server binds it (the server is told
        not to wander to another port); then it is started again on a new one.
        """
        while True:
            if self.proc.poll() is not None:
                if "already in use" in self.log_tail() and attempts > 1:
                    attempts -= 1
                    self._launch()
                    continue
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            deadline.ms()
            time.sleep(0.25)

    def get_status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """Terminate the server, its kernels (their own sessions) and anything else it started."""
        with self._stopping:  # the watchdog thread may call this too
            self._stop()

    def _stop(self) -> None:
        if self.proc is None:
            return
        try:
            family = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # jupyter shuts its kernels down on SIGTERM
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        _, alive = psutil.wait_procs(family, timeout=5)
        for p in alive:  # kernels run in their own session, so the group kill may miss them
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        if self._log:
            self._log.close()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.stop()


class Watchdog:
    """Kills the server and the browser if the test outlives its budget, so no call hangs forever."""

    def __init__(self, seconds: float, *victims):
        self.victims = list(victims)
        self.fired = False
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        for kill in self.victims:
            try:
                kill()
            except Exception:  # noqa: BLE001 - best effort, the test fails anyway
                pass

    def __enter__(self) -> Watchdog:
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()


# --- page helpers -------------------------------------------------------------------------------

CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def cell(page, index: int):
    """The notebook cell at ``index`` (JupyterLab numbers them in data-windowed-list-index)."""
    return page.locator(f"{CELLS}[data-windowed-list-index='{index}']")


# index -> input prompt of every cell in the DOM: '' (markdown), '[ ]:', '[*]:' or '[n]:'
PROMPTS = """([sel]) => Object.fromEntries([...document.querySelectorAll(sel)].map(c => [
    c.dataset.windowedListIndex,
    c.classList.contains('jp-CodeCell') ? c.querySelector('.jp-InputPrompt').textContent.trim() : '']))"""


def prompts(page, n: int, deadline: Deadline) -> list[str]:
    """Input prompts of all ``n`` cells in order, read by cell index (never by DOM position).

    JupyterLab may keep some cells out of the DOM for a moment; wait until all ``n`` are there.
    """
    while True:
        found = page.evaluate(PROMPTS, [CELLS])
        if len(found) == n:
            return [found[str(i)] for i in range(n)]
        page.wait_for_function(f"([sel, n]) => Object.keys(({PROMPTS})([sel])).length === n",
                               arg=[CELLS, n], timeout=deadline.ms(60))


def execution_counts(page, n: int, deadline: Deadline) -> list[int | None]:
    return [int(m.group(1)) if (m := re.fullmatch(r"\[(\d+)\]:", p)) else None for p in prompts(page, n, deadline)]


# the status bar's kernel item reads e.g. "Python 3 (ipykernel) | Idle"
KERNEL_IDLE = """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                  .some(e => /^\\S.*\\|\\s*Idle$/.test(e.textContent.trim()))"""


def wait_kernel_idle(page, deadline: Deadline, cap_s: float = 120) -> None:
    page.wait_for_function(KERNEL_IDLE, timeout=deadline.ms(cap_s))


def run_and_wait(page, n: int, deadline: Deadline, action, cap_s: float = 180) -> None:
    """Do ``action`` (which runs cells), then wait until a new execution finished and nothing is queued.

    A cell that ran gets an execution count above every earlier one; cells queued behind it show
    ``[*]`` until they ran or the kernel dropped them after an error; the status bar says Idle.
    All ``n`` cells must be in the DOM for the prompts to count.
    """
    before = max((c for c in execution_counts(page, n, deadline) if c is not None), default=0)
    action()
    page.wait_for_function(
        f"""([sel, n, before]) => {{
              const ps = Object.values(({PROMPTS})([sel]));
              const counts = ps.map(p => (p.match(/^\\[(\\d+)\\]:$/) || [])[1]).filter(Boolean).map(Number);
              return ps.length === n && Math.max(0, ...counts) > before && !ps.includes('[*]:') && ({KERNEL_IDLE})();
           }}""",
        arg=[CELLS, n, before],
        timeout=deadline.ms(cap_s),
    )


def output_text(page, index: int) -> str:
    return cell(page, index).locator(".jp-OutputArea").first.text_content() or ""


def has_error_output(page, index: int) -> bool:
    return cell(page, index).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() > 0


def menu(page, menu_name: str, command: str) -> None:
    """Click a main-menu entry, e.g. ("Run", "runmenu:run-all")."""
    page.get_by_role("menuitem", name=menu_name, exact=True).click()
    page.locator(f".lm-Menu-item[data-command='{command}']").click()


ACTIVE = """([sel]) => {
    const cells = [...document.querySelectorAll(sel)];
    const active = cells.filter(c => c.classList.contains('jp-mod-active'));
    const selected = cells.filter(c => c.classList.contains('jp-mod-selected') && !c.classList.contains('jp-mod-active'));
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
    return {index: active.length === 1 ? Number(active[0].dataset.windowedListIndex) : null,
            others: selected.length, command: panel.classList.contains('jp-mod-commandMode'),
            focused: panel.contains(document.activeElement)};
}"""


def active_cell(page) -> dict:
    """{index: the active cell, others: other selected cells, command: command mode, focused}."""
    return page.evaluate(ACTIVE, [CELLS])


def select_cell(page, index: int, deadline: Deadline) -> None:
    """Make cell ``index`` the only selected cell, in command mode, with the notebook focused.

    A click puts the focus in the notebook and usually on the right cell already; the rest is
    done with the arrow keys and checked in the DOM. Clicks alone are not reliable here: when a
    run ends, JupyterLab scrolls to the last cell in the background, and the page can move under
    the pointer between Playwright's aim and its click.
    """
    state = active_cell(page)
    if not (state["index"] == index and state["command"] and state["focused"] and not state["others"]):
        target = cell(page, index)
        target.scroll_into_view_if_needed()
        target.locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")  # command mode, whatever the click hit
    for _ in range(200):
        state = active_cell(page)
        if state["index"] == index and state["command"] and state["focused"]:
            break
        if not state["focused"] or state["index"] is None:
            cell(page, state["index"] or index).locator(".jp-InputPrompt").click()
            page.keyboard.press("Escape")
            continue
        page.keyboard.press("ArrowDown" if state["index"] < index else "ArrowUp")
        page.wait_for_function(f"([sel]) => ({ACTIVE})([sel]).index !== {state['index']}", arg=[CELLS],
                               timeout=deadline.ms(30))
    state = active_cell(page)
    assert state["index"] == index and state["command"] and state["focused"], f"cannot select cell {index}: {state}"
    if state["others"]:  # a multi-cell selection: a plain arrow key leaves just the active cell
        page.keyboard.press("ArrowUp" if index else "ArrowDown")
        page.keyboard.press("ArrowDown" if index else "ArrowUp")
        state = active_cell(page)
        assert state["index"] == index and not state["others"], f"cannot select cell {index} alone: {state}"


def scroll_to_top_of_view(page, index: int) -> None:
    """Scroll so that cell ``index`` starts near the top of the notebook (for screenshots)."""
    cell(page, index).evaluate("el => el.scrollIntoView({block: 'start'})")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def type_cell_source(page, index: int, source: str, deadline: Deadline) -> None:
    """Replace cell ``index``'s text by typing ``source`` into its editor, key by key.

    JupyterLab indents a new line by itself, so after each Enter the automatic indentation is
    selected (Shift+Home) and replaced by the line as written; an empty line deletes it. The
    cursor always stays at the end of the text, so nothing after it is touched.
    """
    select_cell(page, index, deadline)
    page.keyboard.press("Enter")  # edit mode in the active cell
    page.wait_for_function(
        "([sel, i]) => document.querySelector(`${sel}[data-windowed-list-index='${i}'] .cm-editor.cm-focused`) !== null",
        arg=[CELLS, index], timeout=deadline.ms(30),
    )
    page.keyboard.press("ControlOrMeta+a")
    for i, line in enumerate(source.split("\n")):
        if i:
            page.keyboard.press("Enter")
            page.keyboard.press("Shift+Home")
        if line:
            page.keyboard.type(line)
        else:
            page.keyboard.press("Delete")
    page.keyboard.press("Escape")  # back to command mode


def save_notebook(page, deadline: Deadline) -> None:
    page.keyboard.press("ControlOrMeta+s")
    page.wait_for_function(
        "() => { const t = document.querySelector('.lm-TabBar-tab.jp-mod-current'); return t && !t.classList.contains('jp-mod-dirty'); }",
        timeout=deadline.ms(60),
    )
