"""Every mutant and every correct alternative of a lab, judged in one kernel.

The source notebook runs once, with the reference solutions and every test cell split into its
visible part and its hidden part (as when answers are recorded), in a plain kernel with
``LABKIT_JUDGE=1``. Then, for each mutant or alternative, the changed solution cell runs, then
the code cells from there up to the last test cell it concerns (so globals built in between see
the change too), and the reference is restored (its solution cell and the non-test cells of the
span run again; between two changes of the same cell the second change does that itself). Each
change is therefore judged against the reference of every other exercise,
so the points it costs follow the exercise at fault.

For each test cell of a span the probe records:

* whether its **visible** part raised: what the student sees in the released notebook before
  submitting (the visible part is exactly the released test cell);
* the **judge's** verdict on the values both parts emitted, against the recorded answers, with
  ``autograde.judge.judge_cell``: what the grade would be.

The real grader (nbgrader, the sandbox, the judge) grades the reference and the untouched release
of every lab in ``tests/test_labs.py``; this probe is the cheap way to try dozens of changes.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograde import answers as answers_mod
from autograde import samples
from autograde.answers import PART_KEY
from autograde.course import Course
from autograde.feedback_filters import is_test_cell
from autograde.judge import judge_cell

PROBE_KEY = "lab_probe"


@dataclass
class Outcome:
    visible_failed: set[str] = field(default_factory=set)  # test cells whose visible part raised
    judged_failed: dict[str, str] = field(default_factory=dict)  # test cell -> first failing verdict
    seconds: float = 0.0  # kernel time of the change, its span and the restore after it


@dataclass
class Probe:
    reference: Outcome
    mutants: list[Outcome]
    alternatives: list[Outcome]
    # the answers this run's reference part gives (None if it failed), stored only when the lab
    # had none: tests/test_recording.py compares them with a recording in the sandbox
    recorded: answers_mod.Answers | None = None


def _gid(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _tagged(source: str, metadata: dict, tag: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = {**metadata, PROBE_KEY: tag}
    return cell


def _span(base: list, start: int, stop: int) -> list:
    return [c for c in base[start + 1:stop + 1] if c.cell_type == "code"]


def _order_changes(base: list, planned: list, solutions: dict[str, str]) -> list:
    """The probe cells for ``planned`` changes (sorted by cell, shortest span first): each change,
    its span, and the restore of the reference after the last change of its cell. The cell whose
    restore costs most (from the reference run's timings) goes last, where its restore is skipped:
    nothing runs after it."""
    groups: dict[int, list] = {}
    for item in planned:
        groups.setdefault(item[0], []).append(item)

    def restore_seconds(start: int) -> float:
        stop = groups[start][-1][1]
        return sum(_seconds([c]) for c in [base[start], *_span(base, start, stop)] if not is_test_cell(c))

    order = sorted(groups)
    if order:
        order.append(order.pop(order.index(max(order, key=restore_seconds))))
    probes = []
    for g, start in enumerate(order):
        for n, (_, stop, kind, i, change) in enumerate(groups[start]):
            span = _span(base, start, stop)
            probes.append(_tagged(solutions[change.cell].replace(change.old, change.new),
                                  base[start].metadata, [kind, i, "change"]))
            probes += [_tagged(c.source, c.metadata, [kind, i, "span"]) for c in span]
            if n + 1 < len(groups[start]) or g + 1 == len(order):
                continue  # the next change overwrites this one (same cell, span at least as long), or none follows
            probes.append(_tagged(solutions[change.cell], base[start].metadata, [kind, i, "restore"]))
            probes += [_tagged(c.source, c.metadata, [kind, i, "restore"]) for c in span if not is_test_cell(c)]
    return probes


def _judge(cells: list, recorded, solutions: dict[str, str]) -> Outcome:
    """Visible failures and judge verdicts for the executed (split) test cells in ``cells``."""
    outcome = Outcome()
    merged: dict[str, nbformat.NotebookNode] = {}
    for cell in cells:
        if not is_test_cell(cell):
            continue
        gid = _gid(cell)
        errors = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if errors and cell.metadata.get(PART_KEY) == "visible":
            outcome.visible_failed.add(gid)
        if gid not in merged:
            merged[gid] = nbformat.from_dict({**cell, "outputs": []})
        merged[gid].outputs = list(merged[gid].outputs) + list(cell.get("outputs", []))
    if recorded is None:
        return outcome
    for gid, cell in merged.items():
        bad = [v for v in judge_cell(cell, recorded.cells.get(gid, []), solutions) if not v.ok]
        if bad or not recorded.cells.get(gid):
            outcome.judged_failed[gid] = bad[0].message if bad else "no recorded answers"
    return outcome


def _seconds(cells: list) -> float:
    """Seconds from the first code cell's start to the last one's end (nbclient's timestamps; 0 without)."""
    from datetime import datetime

    stamps = [c.metadata.get("execution", {}) for c in cells if c.cell_type == "code"]
    try:
        first = datetime.fromisoformat(stamps[0]["iopub.execute_input"].replace("Z", "+00:00"))
        last = datetime.fromisoformat(stamps[-1]["shell.execute_reply"].replace("Z", "+00:00"))
        return (last - first).total_seconds()
    except (IndexError, KeyError, ValueError):
        return 0.0


def probe_lab(course: Course, lab: str, mutants: list, alternatives: list, timeout: int = 600,
              judge: bool = True) -> Probe:
    """Run every change of ``mutants`` and ``alternatives`` (see module doc). With ``judge=False``
    (an older checkout without recorded answers) only the visible failures are measured."""
    source = nbformat.read(course.source_notebook(lab), as_version=4)
    solutions = samples._solution_sources(source)
    recorded, record_as = None, None
    if judge:
        try:
            recorded = answers_mod.load(course, lab)
        except answers_mod.AnswersError:  # none yet: record them from this run's reference part
            record_as = answers_mod.fingerprint(course, lab)
    nb = answers_mod.split_test_cells(source)
    base = list(nb.cells)
    where = {}
    for i, cell in enumerate(base):
        where.setdefault(_gid(cell), []).append(i)
    changes = [("mutant", i, m) for i, m in enumerate(mutants)] + [("alt", i, a) for i, a in enumerate(alternatives)]
    planned = []
    for kind, i, change in changes:
        if change.cell not in solutions or change.old not in solutions[change.cell]:
            raise ValueError(f"{lab}: {kind} {i} ({change.why}): text not found in solution cell {change.cell!r}")
        start = where[change.cell][0]
        if kind == "mutant":
            stop = max(where[t][-1] for t in change.fails)
        else:  # an alternative: every test up to the next exercise
            later = [j for j, c in enumerate(base) if j > start and c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("solution") and not is_test_cell(c)]
            stop = (later[0] - 1) if later else len(base) - 1
        planned.append((start, stop, kind, i, change))
    # Run the changes of one cell shortest span first: the next change of the same cell re-runs
    # that cell and a span covering this one, so the restore in between can be skipped (the
    # suite's longest part; results are keyed by (kind, i), so the order does not matter).
    planned.sort(key=lambda p: (p[0], p[1]))
    with tempfile.TemporaryDirectory(prefix=f"probe-{lab}-") as tmp:
        answers_mod.copy_lab_files(course, lab, Path(tmp))
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": tmp}})
        with client.setup_kernel(env={**os.environ, "LABKIT_JUDGE": "1"}):
            for index, cell in enumerate(base):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            probes = _order_changes(base, planned, solutions)
            nb.cells = base + probes  # nbclient stores each executed cell back at its index
            for index, cell in enumerate(probes, start=len(base)):
                client.execute_cell(cell, index)
    reference_seconds = _seconds(nb.cells[:len(base)])
    # The reference part is exactly what `make release` runs (the split source, one thread,
    # LABKIT_JUDGE=1), so the suite records each lab's answers here instead of running the
    # solution a second time; tests/test_recording.py checks a sandboxed recording agrees.
    reference_run = nbformat.from_dict({**nb, "cells": nb.cells[:len(base)]})
    own = None
    try:
        own = answers_mod.collect(reference_run, lab, record_as or answers_mod.fingerprint(course, lab))
        own.seconds = reference_seconds
    except answers_mod.AnswersError:
        if record_as is not None:
            raise  # nothing recorded to judge with: say why
    if record_as is not None:
        recorded = own
        answers_mod.store(course, lab, recorded)
    groups: dict[tuple[str, int], list] = {}
    seconds: dict[tuple[str, int], float] = {}
    for cell in nb.cells[len(base):]:
        kind, i, role = cell.metadata[PROBE_KEY]
        if role == "span":
            groups.setdefault((kind, i), []).append(cell)
        seconds[kind, i] = seconds.get((kind, i), 0.0) + _seconds([cell])
    reference = _judge(nb.cells[:len(base)], recorded, solutions)
    reference.seconds = reference_seconds

    def outcome(kind: str, i: int, change) -> Outcome:
        changed = {**solutions, change.cell: solutions[change.cell].replace(change.old, change.new)}
        judged = _judge(groups.get((kind, i), []), recorded, changed)
        judged.seconds = seconds.get((kind, i), 0.0)
        return judged

    return Probe(reference, [outcome("mutant", i, m) for i, m in enumerate(mutants)],
                 [outcome("alt", i, a) for i, a in enumerate(alternatives)], own)
