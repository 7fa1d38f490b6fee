"""nbgrader's ``Execute``, hardened for hostile notebooks, and the grading notes.

:class:`SafeExecute` replaces ``Execute`` in every grading path. On top of nbgrader it:

* runs the kernel through :class:`autograde.sandbox.SandboxedKernelManager` (bubblewrap,
  memory/process/file limits);
* enforces a time limit for the whole notebook as well as per cell, so a notebook whose
  every cell loops forever costs one budget, not one timeout per cell;
* survives a dead kernel (``sys.exit`` is harmless, but ``os._exit``, a crash or a
  watchdog kill are not): the cell that killed it gets an error saying why, and every
  later code cell gets a "not run" error, so an unexecuted test can never count as passed;
* caps how much output a notebook may produce (a print loop must not fill the grader's memory);
* removes files the student added next to the notebook, so nothing submitted can shadow
  ``labkit``, ``torch`` or the lab's data;
* starts the kernel with ``LABKIT_JUDGE=1``, so every ``labkit.checks`` call emits its value for
  :class:`autograde.judge.Judge`, which decides the grade outside the kernel;
* inserts **decoy checks** after every graded test cell and at the end. A decoy must fail in
  an honest kernel (it asserts something false, through the same helpers real tests use).
  Grades no longer depend on them (the judge decides), but a decoy that *passes* is evidence
  that the kernel was tampered with (monkeypatched checks or builtins, input transformers,
  silenced tracebacks...): :class:`GradingNotes` flags the submission for a TA and keeps a copy.
  Decoys are removed again before the notebook goes on to the judge and nbgrader's scoring.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import textwrap
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, List, Unicode

from autograde.feedback_filters import is_test_cell
from autograde.sandbox import SandboxedKernelManager

# labkit.checks.JUDGE_ENV and labkit.wire.MIME, spelt out: importing labkit imports torch, which a
# worker that only executes notebooks does not need (tests/test_judge.py checks they agree)
JUDGE_ENV = "LABKIT_JUDGE"
MIME = "application/vnd.labkit.check+json"

STOPPED_KEY = "autograde_stopped"  # why the grader stopped a cell (trusted: the kernel cannot set it)

DECOY_KEY = "autograde_decoy"

# Each decoy is a check that must fail. They use what checks are made of (labkit.checks, which
# every graded test calls, plain assert, numpy.testing, an explicit raise), so tampering with any of
# those, or with how errors reach the grader, makes at least one of them pass. No torch.testing:
# no test uses it, and its first call imports torch.distributed (0.5 s in every graded kernel).
_DECOYS = (
    "assert {a} == {b}, 'expected {b}, got {a}'",
    "import labkit.checks as _lk_checks\nimport torch as _lk_torch\n"
    "_lk_checks.assert_close(_lk_torch.tensor([{a}.0]), _lk_torch.tensor([{b}.0]), 'result')",
    "import labkit.checks as _lk_checks\n_lk_checks.assert_equal({a}, {b}, 'answer')",
    "import numpy as _lk_np\n_lk_np.testing.assert_allclose({a}.0, {b}.0)",
    "raise AssertionError('value {a} is not {b}')",
)


# A failing check's traceback runs through torch/numpy/labkit frames, and IPython's first rendering
# of such a frame parses and highlights that library's source (0.2-0.6 s per kernel and kind). The
# decoy re-raises from its own line instead: the same failure must happen, and it still reaches the
# grader through IPython's traceback machinery, for ~20 ms.
_DECOY_WRAPPER = (
    "try:\n{check}\nexcept Exception as _lk_failure:\n"
    "    raise AssertionError(f'decoy: {{type(_lk_failure).__name__}}') from None"
)


def _decoy_cell(seed: str, index: int) -> NotebookNode:
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    a, b = 2 + digest[0], 300 + digest[1]  # always different
    check = _DECOYS[digest[2] % len(_DECOYS)].format(a=a, b=b)
    source = _DECOY_WRAPPER.format(check=textwrap.indent(check, "    "))
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata[DECOY_KEY] = True
    return cell


def _cell_name(cell: NotebookNode, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index + 1}"


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class SafeExecute(Execute):
    """``Execute`` with a sandboxed kernel, a notebook time limit, output caps and decoys."""

    notebook_timeout = Integer(1200, help="seconds for the whole notebook").tag(config=True)
    max_output_bytes = Integer(5 * 1024**2, help="bytes of output kept for the whole notebook").tag(config=True)
    max_emitted_bytes = Integer(64 * 1024**2, help="bytes of check values kept for the judge").tag(config=True)
    decoys = Bool(True, help="insert decoy checks to detect a tampered kernel").tag(config=True)
    remove_extra_files = Bool(True, help="delete files submitted next to the notebook").tag(config=True)
    keep_files = List(Unicode(), help="files next to the notebook that may stay (the lab's own)").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ output cap

    def output(self, outs, msg, display_id, cell_index):
        size = len(str(msg.get("content", "")))
        if MIME in msg.get("content", {}).get("data", {}):
            # values for the judge have their own budget, so printing a lot cannot hide them
            self._emitted_bytes += size
            if self._emitted_bytes > self.max_emitted_bytes:
                return None
            return super().output(outs, msg, display_id, cell_index)
        self._output_bytes += size
        if self._output_bytes > self.max_output_bytes:
            if not self._truncated:
                self._truncated = True
                outs.append(nbformat.v4.new_output(
                    "stream", name="stdout",
                    text=f"\n[output truncated: the notebook printed more than {self.max_output_bytes // 1024**2} MiB]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # ------------------------------------------------------------------ the run

    def _remove_extra_files(self, folder: Path, notebook_name: str) -> list[str]:
        keep = set(self.keep_files) | {notebook_name}
        removed = []
        for path in sorted(folder.rglob("*"), reverse=True):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() or path.is_symlink():
                if rel not in keep:
                    path.unlink()
                    removed.append(rel)
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return removed

    def preprocess(self, nb, resources=None, km=None):
        resources = resources or {}
        meta = resources.setdefault("metadata", {})
        path = Path(meta.get("path") or os.getcwd())
        notebook_name = f"{meta.get('name', 'notebook')}.ipynb"
        removed = self._remove_extra_files(path, notebook_name) if self.remove_extra_files else []

        seed = f"{resources.get('nbgrader', {}).get('student', '')}:{len(nb.cells)}"
        if self.decoys:
            cells = []
            for cell in nb.cells:
                cells.append(cell)
                if is_test_cell(cell):
                    cells.append(_decoy_cell(seed, len(cells)))
            cells.append(_decoy_cell(seed, len(cells)))
            nb.cells = cells

        NotebookClient.__init__(self, nb, km)
        self.kernel_manager_class = SandboxedKernelManager
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._output_bytes, self._emitted_bytes, self._truncated = 0, 0, False
        self._events: list[str] = []
        cell_timeout = self.timeout
        deadline = time.monotonic() + self.notebook_timeout
        stopped = ""
        try:
            # the kernel emits every check's value for the judge (see labkit.checks)
            with self.setup_kernel(env={**os.environ, JUDGE_ENV: "1"}):
                assert self.kc is not None
                info = self.wait_for_reply(self.kc.kernel_info())
                assert info
                self.nb.metadata["language_info"] = info["content"]["language_info"]
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code":
                        continue
                    if stopped:
                        cell.outputs = [_error("NotRun", f"not run: {stopped}")]
                        cell.metadata[STOPPED_KEY] = f"not run: {stopped}"
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        stopped = f"the notebook ran out of time (limit {self.notebook_timeout} s for the whole notebook)"
                        cell.outputs = [_error("NotebookTimeout", stopped)]
                        cell.metadata[STOPPED_KEY] = stopped
                        continue
                    self.timeout = max(1, min(cell_timeout or math.inf, math.ceil(remaining)))
                    name = _cell_name(cell, index)
                    try:
                        self.preprocess_cell(cell, resources, index)
                    except (DeadKernelError, CellTimeoutError) as err:
                        stopped = self._why_stopped(err)
                        cell.outputs = list(cell.get("outputs", [])) + [_error(type(err).__name__, stopped)]
                        cell.metadata[STOPPED_KEY] = stopped
                        self._events.append(f"{name}: {stopped}; later cells not run")
                        continue
                    if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
                        cell.metadata[STOPPED_KEY] = f"timed out after {self.timeout} s and was interrupted"
                        self._events.append(f"{name}: timed out after {self.timeout} s and was interrupted")
                if stopped.startswith("the notebook ran out"):
                    self._events.append(stopped)
        finally:
            self.timeout = cell_timeout
        self._check_decoys(removed)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _why_stopped(self, err: Exception) -> str:
        violation = getattr(self.km, "violation", "") if self.km is not None else ""
        if violation:
            return f"the kernel was stopped: it {violation}"
        if isinstance(err, DeadKernelError):
            return "the kernel died (the code exited the Python process or crashed it)"
        return "the cell ran past its time limit and did not stop when interrupted"

    def _check_decoys(self, removed: list[str]) -> None:
        info: dict = {}
        if removed:  # intake already reported them; kept here for the held notebook's record
            info["removed_files"] = removed
        if self._truncated:
            self._events.append(f"output truncated at {self.max_output_bytes // 1024**2} MiB")
        if self._events:
            info["events"] = self._events
        passed = []
        kept = []
        previous = "the start"
        for cell in self.nb.cells:
            if cell.metadata.get(DECOY_KEY):
                ran = cell.get("execution_count") is not None or cell.get("outputs")
                failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
                if ran and not failed:
                    passed.append(previous)
                continue
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id:
                previous = grade_id
            kept.append(cell)
        self.nb.cells = kept
        if passed:
            info["tampered"] = (
                f"a decoy check that must fail passed after {', '.join(passed[:3])}"
                + (f" and {len(passed) - 3} more" if len(passed) > 3 else "")
                + ": the kernel was tampered with (checks, builtins, input transformers or tracebacks)"
            )
        if info:
            self.nb.metadata["autograde"] = info


class GradingNotes(NbGraderPreprocessor):
    """After the judge, before scoring: write what happened while the notebook ran.

    ``notes_directory/<lab>/<student>.json`` gets the events (timeouts, a dead kernel, truncated
    output, ignored files), the tamper evidence of a passing decoy and the judge's review notes
    (dynamic calls in solution cells), for the TA's report. A notebook with tamper evidence is
    graded like any other (the judge decided its score from its values) and a copy is kept in
    ``held_directory`` for a TA to look at.
    """

    held_directory = Unicode("", help="where notebooks flagged for review are copied").tag(config=True)
    notes_directory = Unicode("", help="where per-submission grading notes are written").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        lab, student = info.get("assignment", "lab"), info.get("student", "student")
        notes = nb.metadata.get("autograde", {})
        review = list(notes.get("review", []))
        if notes.get("tampered"):
            review.insert(0, f"{notes['tampered']}; the score comes from the judge, not the kernel")
        if self.notes_directory:
            target = Path(self.notes_directory) / lab / f"{student}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps({"events": notes.get("events", []), "tampered": notes.get("tampered", ""),
                                          "review": review}))
        if notes.get("tampered") and self.held_directory:
            target = Path(self.held_directory) / lab / f"{student}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            nbformat.write(nb, str(tmp))
            shutil.move(tmp, target)
        return nb, resources
