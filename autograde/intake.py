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


_GRADING_KEYS = ("grade", "solution", "locked", "points", "task")


def grading_metadata(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """grade_id -> the nbgrader flags that decide grading (points, grade, solution, locked)."""
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id"):
            found.setdefault(meta["grade_id"], {k: meta.get(k) for k in _GRADING_KEYS})
    return found


def inspect(submission_dir: Path, lab: str, student: str, release_ids: list[str],
            release_meta: dict[str, dict] | None = None) -> Intake:
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
    submitted = grading_metadata(nb)
    present = set(found) | set(submitted)  # an unflagged test cell is edited, not deleted
    missing = [gid for gid in release_ids if gid not in present]
    duplicated = sorted({gid for gid in found if found.count(gid) > 1})
    if missing:
        result.warnings.append(
            f"{len(missing)} graded cell(s) deleted ({', '.join(missing)}): they score 0"
        )
    if duplicated:
        result.warnings.append(f"duplicated graded cell(s) {', '.join(duplicated)}: duplicates ignored")
    if release_meta:
        order = [gid for gid in submitted if gid in release_meta]
        if order != [gid for gid in release_meta if gid in submitted]:
            result.warnings.append("graded cells reordered: the notebook is run in the submitted order")
        edited = sorted(gid for gid, meta in submitted.items() if gid in release_meta and meta != release_meta[gid])
        if edited:
            result.warnings.append(
                f"nbgrader metadata edited in {', '.join(edited[:4])}: points and flags restored from the release")
    extras = sorted(p.relative_to(submission_dir).as_posix() for p in submission_dir.rglob("*")
                    if p.is_file() and p != expected
                    # nbgrader's own: the submission time and the exchange's secret
                    and p.name not in ("timestamp.txt", "submission_secret.txt")
                    and ".ipynb_checkpoints" not in p.parts)
    if extras:
        result.warnings.append(f"extra file(s) ignored ({', '.join(extras[:4])}"
                               + (f" and {len(extras) - 4} more" if len(extras) > 4 else "") + "): only the notebook is graded")
    return result


def restore_grading_metadata(nb: nbformat.NotebookNode, release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The submission with the release's nbgrader metadata, so edits cannot change grading.

    Cells keep the student's content and order. A cell whose grade_id the release knows
    gets the release's metadata back (points, flags, checksum); a repeated grade_id or one
    the release does not know loses its nbgrader metadata and becomes an ordinary cell.
    nbgrader itself stops with an error on such notebooks (duplicate cells, edited flags);
    restored, they are graded, and intake's warnings say what was changed.
    """
    official = {}
    for cell in release.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id"):
            official[meta["grade_id"]] = (cell.cell_type, dict(meta))
    restored = nbformat.from_dict(nb)
    seen: set[str] = set()
    for cell in restored.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if gid in official and gid not in seen and cell.cell_type == official[gid][0]:
            cell.metadata["nbgrader"] = dict(official[gid][1])
            seen.add(gid)
        else:
            del cell.metadata["nbgrader"]
    return restored
