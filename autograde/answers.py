"""The answers: what every check in a lab's test cells receives when the solution runs.

``record(course, lab)`` runs the lab's source notebook (the solution, hidden tests included)
in the grader's sandbox with ``LABKIT_JUDGE=1``; every ``labkit.checks`` call then emits its
value (:mod:`labkit.wire`), and those values, with each check's kind and tolerance, are the
answers, keyed by test cell, check name and occurrence. Test cells run as two cells, the
visible part then the hidden part, so each answer knows which part it belongs to.

They are stored in ``Course.answers_dir`` (``autograde/answers/<lab>.json``, git-ignored): not in
``labs/`` and not in anything the sandbox mounts, so neither a student nor a grading kernel can
read them. Each file carries a fingerprint of what the answers depend on (the source notebook,
``labkit``'s code, the wire format, torch's version); a stale file is refused with a message
that says to run ``make release``, and :func:`ensure` re-records only what is stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograde.course import REPO_ROOT, Course
from labkit import wire

VERSION = 1
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PART_KEY = "autograde_part"  # cell metadata of the split cells while recording


class AnswersError(RuntimeError):
    """No usable answers for a lab (missing, stale or broken): grading must not start."""


@dataclass
class Check:
    """One recorded check: the solution's value and how a student's value is compared."""

    name: str
    occurrence: int  # 0 for the first check of this name in its cell, 1 for the next, ...
    kind: str
    params: dict
    value: object  # decoded (tensors, numbers, ...)
    part: str  # "visible" | "hidden"


@dataclass
class Answers:
    lab: str
    fingerprint: str
    cells: dict[str, list[Check]] = field(default_factory=dict)  # test cell grade_id -> checks
    seconds: float = 0.0


def fingerprint(course: Course, lab: str) -> str:
    """What the answers depend on; a change to any of it makes recorded answers stale."""
    import torch

    digest = hashlib.sha256(f"answers v{VERSION} wire v{wire.VERSION} torch {torch.__version__}".encode())
    digest.update(course.source_notebook(lab).read_bytes())
    # the values depend on labkit's data, generators and helpers; how checks compare and send
    # values (checks.py, wire.py) does not change them (the wire format has its own version)
    for path in sorted((REPO_ROOT / "labkit").glob("*.py")):
        if path.name not in ("checks.py", "wire.py"):
            digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def path(course: Course, lab: str) -> Path:
    return course.answers_dir / f"{lab}.json"


# --------------------------------------------------------------------------- reading


def emissions(cell: NotebookNode) -> list[dict]:
    """The checks a cell's outputs emitted, in order (malformed ones as ``{"error": ...}``)."""
    found = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if wire.MIME in data:
            try:
                found.append(wire.parse_emission(data[wire.MIME]))
            except (wire.WireError, RecursionError) as err:
                found.append({"error": str(err)[:200]})
    return found


def _decode_file(doc: dict) -> Answers:
    answers = Answers(doc["lab"], doc["fingerprint"], seconds=float(doc.get("seconds", 0)))
    for grade_id, checks in doc["cells"].items():
        answers.cells[grade_id] = [
            Check(c["name"], c["occurrence"], c["kind"], c["params"], wire.decode(c["value"]), c["part"])
            for c in checks
        ]
    return answers


_loaded: dict[tuple[str, int, int], Answers] = {}  # (file, its mtime, the notebook's mtime) -> answers


def load(course: Course, lab: str) -> Answers:
    """The lab's answers, refusing a missing or stale set with a message that says what to do.

    Within one process the fingerprint is checked and the file decoded once (a long grading
    run judges every submission against the answers it started with)."""
    target = path(course, lab)
    try:
        key = (str(target), target.stat().st_mtime_ns, course.source_notebook(lab).stat().st_mtime_ns)
    except OSError:
        key = None
    if key in _loaded:
        return _loaded[key]
    answers = _load_checked(course, lab, target)
    if key is not None:
        _loaded[key] = answers
    return answers


def _load_checked(course: Course, lab: str, target: Path) -> Answers:
    if not target.is_file():
        raise AnswersError(f"{target}: no answers recorded for {lab}; run `make release` "
                           f"(it runs the solution once and records what every check receives)")
    try:
        doc = json.loads(target.read_text())
        answers = _decode_file(doc)
    except (OSError, ValueError, KeyError, TypeError, wire.WireError) as err:
        raise AnswersError(f"{target}: unreadable answers ({err}); run `make release` to record them again") from None
    if answers.fingerprint != fingerprint(course, lab):
        raise AnswersError(f"{target}: answers were recorded from an older solutions/{lab}/{lab}.ipynb or labkit; "
                           f"run `make release` to record them again")
    return answers


# --------------------------------------------------------------------------- recording


def split_test_cells(source: NotebookNode) -> NotebookNode:
    """The source notebook with each test cell run as its visible part, then its hidden part."""
    from autograde.feedback_filters import is_test_cell

    nb = nbformat.from_dict(source)
    cells = []
    for cell in nb.cells:
        if not is_test_cell(cell) or BEGIN_HIDDEN not in cell.source:
            if is_test_cell(cell):
                cell.metadata[PART_KEY] = "visible"
            cells.append(cell)
            continue
        before, rest = cell.source.split(BEGIN_HIDDEN, 1)
        hidden, _, after = rest.partition(END_HIDDEN)
        for part, text in (("visible", before), ("hidden", hidden), ("visible", after)):
            if text.strip():
                piece = nbformat.v4.new_code_cell(text)
                piece.metadata = {**cell.metadata, PART_KEY: part}
                cells.append(piece)
    nb.cells = cells
    return nb


def collect(executed: NotebookNode, lab: str, fp: str) -> Answers:
    """Turn an executed, split source notebook into answers; any failure in it is an error."""
    answers = Answers(lab, fp)
    counts: dict[tuple[str, str], int] = {}
    problems = []
    for cell in executed.cells:
        part = cell.metadata.get(PART_KEY)
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        if errors:
            problems.append(f"{grade_id}: {errors[0].get('ename')}: {errors[0].get('evalue', '')[:200]}")
            continue
        if not part:
            continue
        for emitted in emissions(cell):
            if "error" in emitted:
                problems.append(f"{grade_id}: {emitted['error']}")
                continue
            key = (grade_id, emitted["name"])
            occurrence = counts.get(key, 0)
            counts[key] = occurrence + 1
            answers.cells.setdefault(grade_id, []).append(
                Check(emitted["name"], occurrence, emitted["kind"], emitted["params"], emitted["value"], part))
    if problems:
        raise AnswersError(f"the solution of {lab} does not run cleanly, so no answers were recorded: "
                           + "; ".join(problems[:5]))
    return answers


def _encode_file(answers: Answers) -> str:
    return json.dumps({
        "version": VERSION, "lab": answers.lab, "fingerprint": answers.fingerprint,
        "seconds": round(answers.seconds, 2),
        "cells": {gid: [{"name": c.name, "occurrence": c.occurrence, "kind": c.kind, "params": c.params,
                         "value": wire.encode(c.value), "part": c.part} for c in checks]
                  for gid, checks in answers.cells.items()},
    })


def copy_lab_files(course: Course, lab: str, folder: Path) -> None:
    """The lab's own files (everything but notebooks in its source folder) into ``folder``."""
    for src in (course.source_dir / lab).rglob("*"):
        if src.is_file() and src.suffix != ".ipynb":
            target = folder / src.relative_to(course.source_dir / lab)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(src.read_bytes())


def execute_source(course: Course, lab: str, nb: NotebookNode) -> NotebookNode:
    """Run ``nb`` in the grading sandbox (same kernel, limits and environment as grading),
    in a scratch copy of the lab's folder."""
    from traitlets.config import Config

    from autograde.safe_execute import SafeExecute

    config = Config()
    for key, value in course.grading_config().items():
        if key.startswith(("SafeExecute.", "SandboxedKernelManager.")):
            section, name = key.split(".")
            setattr(getattr(config, section), name, value)
    config.SafeExecute.decoys = False
    config.SafeExecute.remove_extra_files = False
    with tempfile.TemporaryDirectory(prefix=f"answers-{lab}-") as tmp:
        copy_lab_files(course, lab, Path(tmp))
        executor = SafeExecute(config=config)
        resources = {"metadata": {"path": tmp, "name": lab}, "nbgrader": {"assignment": lab, "student": "answers"}}
        executed, _ = executor.preprocess(nb, resources)
    return executed


def record(course: Course, lab: str) -> Answers:
    """Run the solution in the sandbox and store its answers (atomically)."""
    from autograde.pipeline import warm_dataset_cache

    warm_dataset_cache()
    start = time.perf_counter()
    fp = fingerprint(course, lab)
    source = nbformat.read(course.source_notebook(lab), as_version=4)
    executed = execute_source(course, lab, split_test_cells(source))
    answers = collect(executed, lab, fp)
    answers.seconds = time.perf_counter() - start
    store(course, lab, answers)
    return answers


def store(course: Course, lab: str, answers: Answers) -> None:
    """Write ``answers`` atomically (a reader sees the old file or the new one, never half)."""
    target = path(course, lab)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(_encode_file(answers))
    os.replace(tmp, target)


def ensure(course: Course, lab: str) -> tuple[Answers, bool]:
    """The lab's current answers, recorded first if missing or stale. Returns (answers, recorded).

    A lock file makes concurrent callers (parallel tests, two TAs' commands) record once. Current
    answers are read without it (the file is replaced atomically), so reading them needs no write
    access to the answers folder."""
    try:
        return load(course, lab), False
    except AnswersError:
        pass
    course.answers_dir.mkdir(parents=True, exist_ok=True)
    lock = course.answers_dir / f".{lab}.lock"
    with open(lock, "w") as fh, contextlib.ExitStack() as stack:
        fcntl.flock(fh, fcntl.LOCK_EX)
        stack.callback(fcntl.flock, fh, fcntl.LOCK_UN)
        try:
            return load(course, lab), False
        except AnswersError:
            return record(course, lab), True
