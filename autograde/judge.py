"""The judge: grades test cells outside the student's kernel, against recorded answers.

Runs in the grader's process right after the notebook was executed (``SafeExecute``) or
its outputs replayed (``ReplayOutputs``), before nbgrader scores anything. For each test
cell it takes the values the cell's checks emitted (:mod:`labkit.wire`, display outputs of
the cell), compares each with the answer recorded from the solution
(:mod:`autograde.answers`) using ``labkit.checks``' own comparisons and the *recorded* kind
and tolerance, and then **replaces the cell's outputs** with its verdicts: one ✓/✗ line per
check and, when anything failed or is missing, an error output, which is how nbgrader
scores a test cell 0. So:

* whatever the kernel printed, raised or rewrote (checks, builtins, input transformers,
  tracebacks) does not decide a grade; only values that match the answers earn points;
* nothing a student function prints while a test runs reaches the autograded notebook or
  the feedback page, in any encoding: test cells show the judge's words only;
* "by hand" rules (``labkit.checks.by_hand``) are checked on the submitted cell's source, which
  the kernel cannot change;
* solution cells that call code dynamically (``exec``, ``eval``, ``getattr`` with a computed
  name, ``importlib``, ...) are listed for a TA to look at, in the grading notes and the report.
"""

from __future__ import annotations

import builtins
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import torch
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograde import answers as answers_mod
from autograde.answers import Check
from autograde.course import Course
from autograde.feedback_filters import is_test_cell
from labkit import checks, wire

STOPPED_KEY = "autograde_stopped"  # cell metadata SafeExecute sets when it stopped the cell
# exception names shown in verdicts; any other class name could carry a message of the student's
_SAFE_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
_SAFE_ERRORS |= {"CheckError", "OutOfMemoryError", "LinAlgError", "CellTimeoutError", "DeadKernelError"}


@dataclass
class Verdict:
    check: Check
    ok: bool
    message: str
    metric: float | None = None  # accuracy of an assert_accuracy check (for the leaderboard)


def compare(check: Check, value: object, solution_sources: dict[str, str]) -> tuple[bool, str]:
    """A student's emitted ``value`` against the recorded ``check`` (kind and tolerance recorded)."""
    p, name = check.params, check.name
    if check.kind == "close":
        if type(check.value) is not torch.Tensor:
            return False, f"{name}: the recorded answer is not a tensor (re-record the answers)"
        return checks.compare_close(value, check.value, name, float(p.get("rtol", 1e-5)), float(p.get("atol", 1e-6)))
    if check.kind == "equal":
        return checks.compare_equal(value, check.value, name)
    if check.kind == "scalar":
        return checks.compare_scalar(value, float(check.value), name, float(p.get("rtol", 1e-6)), float(p.get("atol", 1e-9)))
    if check.kind == "accuracy":
        return checks.compare_accuracy(value, wire.decode(p["labels"]), float(p["at_least"]), name)
    if check.kind == "at_least":
        return checks.compare_at_least(value, float(p["threshold"]), name)
    if check.kind == "choice":
        return checks.compare_choice(value, str(check.value), name)
    if check.kind == "gradients":
        return checks.compare_gradient_dict(value, check.value, float(p.get("tol", 1e-7)))
    if check.kind == "tensor":
        return checks.compare_tensor_summary(value, p.get("shape"), p.get("dtype"), name)
    if check.kind == "by_hand":
        cell = str(p.get("cell"))
        if cell not in solution_sources:
            return False, f"{name}: the solution cell {cell!r} is missing from the notebook"
        return checks.compare_by_hand(solution_sources[cell], p.get("forbidden", []), name)
    return False, f"{name}: unknown check kind {check.kind!r}"


def _accuracy(check: Check, value: object) -> float | None:
    if check.kind != "accuracy" or type(value) is not torch.Tensor:
        return None
    labels = wire.decode(check.params["labels"]).reshape(-1).long()
    if value.shape[:1] != labels.shape or (value.is_floating_point() and not bool(torch.isfinite(value).all())):
        return None
    return float((checks.predicted_classes(value) == labels).double().mean())


def _why_missing(cell: NotebookNode) -> str:
    stopped = cell.metadata.get(STOPPED_KEY)
    if stopped:
        return f"the grader stopped the cell: {stopped}"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        ename = str(errors[0].get("ename", ""))
        shown = ename if ename in _SAFE_ERRORS else "an exception"
        return f"the cell stopped with {shown} before this check (run the cell in your notebook to see why)"
    return "no value reached the grader for this check"


def judge_cell(cell: NotebookNode, recorded: list[Check], solution_sources: dict[str, str]) -> list[Verdict]:
    """Verdicts for one executed test cell."""
    emitted: dict[tuple[str, int], dict] = {}
    counts: dict[str, int] = {}
    malformed = ""
    for item in answers_mod.emissions(cell):
        if "error" in item:
            malformed = malformed or item["error"]
            continue
        occurrence = counts.get(item["name"], 0)
        counts[item["name"]] = occurrence + 1
        emitted[(item["name"], occurrence)] = item
    verdicts = []
    for check in recorded:
        item = emitted.get((check.name, check.occurrence))
        if check.kind == "by_hand":
            ok, message = compare(check, None, solution_sources)
        elif item is None:
            why = f"a malformed value was sent ({malformed})" if malformed else _why_missing(cell)
            ok, message = False, f"{check.name}: not checked: {why}"
        elif item["kind"] != check.kind:
            ok, message = False, f"{check.name}: expected a {check.kind} check, got {item['kind']!r}"
        else:
            try:
                ok, message = compare(check, item["value"], solution_sources)
            except Exception as err:  # a comparison must never crash the grader
                ok, message = False, f"{check.name}: the value could not be compared ({type(err).__name__})"
        verdicts.append(Verdict(check, ok, message, _accuracy(check, item["value"]) if item else None))
    return verdicts


def verdict_outputs(verdicts: list[Verdict]) -> list[NotebookNode]:
    """The test cell's new outputs: one line per check, then an error if any failed."""
    if not verdicts:
        lines = ["✗ this test cell has no recorded answers, so it cannot be judged"]
        failed = [lines[0][2:]]
    else:
        lines = [("✓ " if v.ok else "✗ ") + ("hidden test: " if v.check.part == "hidden" else "") + v.message
                 for v in verdicts]
        failed = [("hidden test: " if v.check.part == "hidden" else "") + v.message for v in verdicts if not v.ok]
    outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        outputs.append(nbformat.v4.new_output("error", ename="CheckError", evalue=failed[0] + more,
                                              traceback=[f"CheckError: {failed[0]}{more}"]))
    return outputs


def review_notes(solution_sources: dict[str, str]) -> list[str]:
    """Solution cells that call code dynamically: a TA should read them."""
    notes = []
    for grade_id, source in solution_sources.items():
        used = checks.dynamic_uses(source)
        if used:
            notes.append(f"cell {grade_id} uses {', '.join(used[:4])}: look at it (dynamic calls can hide a forbidden one)")
    return notes


class Judge(NbGraderPreprocessor):
    """Decide every test cell from the emitted values and the recorded answers (see module doc)."""

    course_root = Unicode("", help="the course root (solutions/ and labkit/ for the fingerprint)").tag(config=True)
    answers_directory = Unicode("", help="where the recorded answers live").tag(config=True)
    judged_directory = Unicode("", help="where per-submission verdicts are written (JSON)").tag(config=True)

    def preprocess(self, nb, resources):
        start = time.perf_counter()
        info = resources.get("nbgrader", {})
        lab, student = info.get("assignment", ""), info.get("student", "")
        course = Course(root=Path(self.course_root), answers=Path(self.answers_directory))
        recorded = answers_mod.load(course, lab)  # raises AnswersError: never grade without answers
        solution_sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                            if c.cell_type == "code" and utils.is_solution(c) and not utils.is_grade(c)}
        record: dict[str, list[dict]] = {}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                verdicts = judge_cell(cell, recorded.cells.get(grade_id, []), solution_sources)
                cell.outputs = verdict_outputs(verdicts)
                record[grade_id] = [{"name": v.check.name, "part": v.check.part, "ok": v.ok, "message": v.message,
                                     **({"accuracy": v.metric} if v.metric is not None else {})} for v in verdicts]
            else:  # emitted values elsewhere (a student calling checks in their own cell) are dropped
                cell.outputs = [o for o in cell.get("outputs", []) if wire.MIME not in o.get("data", {})]
            cell.metadata.pop(STOPPED_KEY, None)
        notes = nb.metadata.setdefault("autograde", {})
        review = review_notes(solution_sources)
        if review:
            notes["review"] = review
        if self.judged_directory and lab and student:
            target = Path(self.judged_directory) / lab / f"{student}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"cells": record, "review": review,
                                       "seconds": round(time.perf_counter() - start, 4)}))
            os.replace(tmp, target)
        return nb, resources


def costs(course: Course, labs: list[str]) -> dict:
    """What judging cost in ``course``'s last grading run: seconds per submission (from the
    verdict files) and the release-time recording of each lab's answers (from the answer files)."""
    judged = [json.loads(p.read_text()).get("seconds", 0.0) for lab in labs
              for p in (course.judged_dir / lab).glob("*.json")]
    recorded = {}
    for lab in labs:
        try:
            recorded[lab] = round(float(json.loads(answers_mod.path(course, lab).read_text())["seconds"]), 1)
        except (OSError, ValueError, KeyError):
            continue
    return {"judge_seconds_mean": round(sum(judged) / len(judged), 4) if judged else None,
            "judge_seconds_max": round(max(judged), 4) if judged else None,
            "judged_submissions": len(judged), "recording_seconds": recorded}
