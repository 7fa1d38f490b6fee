"""Grade exports: nbgrader's CSV, a per-test-cell CSV (nbgrader has none), a run
status CSV with one-line reasons, and the per-student, per-lab table printed to TAs."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from autograde.course import Course
from autograde.pipeline import GradeResult


def _atomic_csv(path: Path, header: list[str], rows: Iterable[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)  # readers never see a half-written file
    return path


def export_nbgrader_csv(course: Course) -> Path:
    """nbgrader's own CSV export (one row per student and lab)."""
    path = course.exports_dir / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(to=str(path.with_suffix(".tmp")))
    with Gradebook(course.db_url) as gb:
        plugin.export(gb)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def cell_rows(course: Course) -> list[list]:
    """One row per (lab, student, graded cell) from the gradebook."""
    rows = []
    with Gradebook(course.db_url) as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
                for nb in sub.notebooks:
                    for grade in sorted(nb.grades, key=lambda g: g.name):
                        kind = "manual" if grade.cell.cell_type == "markdown" else "autograded"
                        score = grade.score
                        if score is None and kind == "autograded":
                            score = 0.0  # the student deleted this test cell
                        rows.append([
                            assignment.name,
                            sub.student.id,
                            grade.name,
                            kind,
                            "" if score is None else f"{score:g}",
                            f"{grade.max_score:g}",
                            "yes" if grade.needs_manual_grade else "no",
                        ])
    return rows


def export_cell_csv(course: Course) -> Path:
    """The per-test-cell CSV: lab, student, cell, kind, score, max_score, needs_manual_grade."""
    return _atomic_csv(
        course.exports_dir / "grades_by_cell.csv",
        ["lab", "student", "cell", "kind", "score", "max_score", "needs_manual_grade"],
        cell_rows(course),
    )


def export_status_csv(course: Course, results: Iterable[GradeResult]) -> Path:
    """What happened to each submission in the last run, with a one-line reason."""
    return _atomic_csv(
        course.exports_dir / "status.csv",
        ["lab", "student", "status", "score", "max_score", "needs_manual_grade", "seconds", "reason"],
        [
            [r.lab, r.student, r.status, f"{r.score:g}", f"{r.max_score:g}",
             "yes" if r.needs_manual else "no", f"{r.seconds:.1f}", r.reason]
            for r in results
        ],
    )


def format_table(results: Iterable[GradeResult]) -> str:
    """Per-student rows, per-lab columns: ``score/max`` (``*`` = manual grading pending)."""
    results = list(results)
    labs = sorted({r.lab for r in results})
    students = sorted({r.student for r in results})
    cells = {(r.student, r.lab): r for r in results}
    width = max([len(s) for s in students] + [7])
    col = max([len(lab) for lab in labs] + [12])
    lines = ["student".ljust(width) + " | " + " | ".join(lab.ljust(col) for lab in labs)]
    lines.append("-" * len(lines[0]))
    for student in students:
        row = []
        for lab in labs:
            r = cells.get((student, lab))
            if r is None:
                text = "-"
            elif r.status != "graded":
                text = "ERROR"
            else:
                text = f"{r.score:g}/{r.max_score:g}" + ("*" if r.needs_manual else "")
            row.append(text.ljust(col))
        lines.append(student.ljust(width) + " | " + " | ".join(row))
    errors = [r for r in results if r.status != "graded" or r.reason]
    if errors:
        lines.append("")
        lines.extend(f"{r.student}/{r.lab}: {r.status}: {r.reason}" for r in errors)
    if any(r.needs_manual for r in results):
        lines.append("* written answers await manual grading (formgrader)")
    return "\n".join(lines)
