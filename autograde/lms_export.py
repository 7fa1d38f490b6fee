"""Grades for an LMS gradebook: Canvas's gradebook CSV, one column per lab.

Canvas imports the layout of its own gradebook export: the columns ``Student, ID, SIS User ID,
SIS Login ID, Section`` and then one column per assignment named ``<name> (<canvas id>)``; a
second row ``Points Possible`` gives each assignment's maximum. Canvas matches rows by ``ID`` (its
numeric user id), else by ``SIS User ID`` / ``SIS Login ID``, and columns by the id in
parentheses (a column without one becomes a new assignment on import).

Here ``Student`` is ``Last, First`` when the gradebook knows the names (else the login),
``ID`` is nbgrader's ``lms_user_id`` (empty when unknown), the SIS ids are the login, and
each lab's points are nbgrader's score minus the late penalty; a lab not submitted is left empty.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograde.course import Course
from autograde.exports import _atomic_csv

FIXED_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def column_name(lab: str, canvas_ids: dict[str, str]) -> str:
    """``lab1_perceptron (123456)`` with the lab's Canvas assignment id, else the bare name."""
    return f"{lab} ({canvas_ids[lab]})" if canvas_ids.get(lab) else lab


def canvas_rows(course: Course, canvas_ids: dict[str, str], section: str = "") -> tuple[list[str], list[list]]:
    """The header and the rows (``Points Possible`` first, then one per student, by login)."""
    with Gradebook(course.db_url) as gb:
        labs = [lab for lab in course.labs() if any(a.name == lab for a in gb.assignments)]
        header = FIXED_COLUMNS + [column_name(lab, canvas_ids) for lab in labs]
        possible = ["Points Possible", "", "", "", ""]
        possible += [f"{gb.find_assignment(lab).max_score:g}" for lab in labs]
        rows = [possible]
        for student in sorted(gb.students, key=lambda s: s.id):
            name = f"{student.last_name}, {student.first_name}" if student.last_name else student.id
            row = [name, student.lms_user_id or "", student.id, student.id, section]
            for lab in labs:
                try:
                    sub = gb.find_submission(lab, student.id)
                except MissingEntry:
                    row.append("")
                    continue
                points = max(0.0, sub.score - (sub.late_submission_penalty or 0.0))
                row.append(f"{points:g}")
            rows.append(row)
    return header, rows


def export_canvas_csv(course: Course, canvas_ids: dict[str, str] | None = None, section: str = "") -> Path:
    """Write ``exports/canvas_gradebook.csv`` for Canvas's *Gradebook → Import*."""
    header, rows = canvas_rows(course, canvas_ids or {}, section)
    return _atomic_csv(course.exports_dir / "canvas_gradebook.csv", header, rows)
