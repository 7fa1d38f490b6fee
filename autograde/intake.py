"""Check a submission before nbgrader sees it, so every problem has a one-line reason.

nbgrader itself skips renamed notebooks silently and reports JSON errors deep in a
log; here each submission folder is inspected first and gets either a clean bill, a
list of warnings (graded anyway), or an error (not graded, reason recorded).
Nothing in the student's folder is ever written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Intake:
    """Outcome of inspecting ``submitted/<student>/<lab>/``."""

    student: str
    lab: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def grade_ids(nb: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the graded cells (tests and manually graded answers), in order."""
    ids = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            ids.append(meta.get("grade_id", ""))
    return ids


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; raise ``ValueError`` with a one-line reason."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path.name}: cannot be read ({err.strerror})") from err
    if not raw.strip():
        raise ValueError(f"{path.name}: the file is empty")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path.name}: not a notebook (not UTF-8 text: {err.reason})") from err
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path.name}: not a notebook (invalid JSON at line {err.lineno}, column {err.colno}: {err.msg})"
        ) from err
    if not isinstance(data, dict) or "cells" not in data:
        raise ValueError(f"{path.name}: JSON but not a notebook (no 'cells' list)")
    try:
        nb = nbformat.reads(raw.decode(), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several validation error types
        first = str(err).strip().splitlines()[0][:160]
        raise ValueError(f"{path.name}: not a valid notebook ({first})") from err
    return nb


def inspect(submission_dir: Path, lab: str, student: str, release_ids: list[str]) -> Intake:
    """Inspect one submission folder against the lab's released grade cells."""
    result = Intake(student=student, lab=lab)
    expected = submission_dir / f"{lab}.ipynb"
    where = f"submitted/{student}/{lab}"
    if not submission_dir.is_dir():
        result.error = f"{where}: no submission folder"
        return result
    if not expected.exists():
        others = sorted(p.name for p in submission_dir.glob("*.ipynb"))
        if others:
            result.error = (
                f"{where}: notebook renamed: found {', '.join(others)}, expected {expected.name} "
                f"(rename it back to grade it)"
            )
        else:
            result.error = f"{where}: no {expected.name} in the submission"
        return result
    try:
        nb = read_notebook(expected)
    except ValueError as err:
        result.error = f"{where}/{err}"
        return result
    found = grade_ids(nb)
    missing = [gid for gid in release_ids if gid not in found]
    duplicated = sorted({gid for gid in found if found.count(gid) > 1})
    if missing:
        result.warnings.append(
            f"{len(missing)} graded cell(s) deleted ({', '.join(missing)}): they score 0"
        )
    if duplicated:
        result.warnings.append(f"duplicated graded cell(s) {', '.join(duplicated)}: duplicates ignored")
    return result
