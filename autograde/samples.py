"""Bundled sample submissions for the demo and the tests, made from the lab itself.

For each lab, three students are derived from the committed release and the
instructor's solutions, so they can never drift out of date:

* ``demo-reference``: the release with every solution cell filled in from ``solutions/``.
* ``demo-partial``: only the first half of the solution cells filled in.
* ``demo-blank``: the untouched release.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograde.course import Course

# nbgrader reads this to order submissions; a fixed time keeps runs reproducible.
TIMESTAMP = "2026-01-15 12:00:00.000000 UTC"


def _solution_sources(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in source_nb.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def fill_solutions(
    release_nb: nbformat.NotebookNode, solutions: dict[str, str], fraction: float = 1.0
) -> nbformat.NotebookNode:
    """Copy of ``release_nb`` with the first ``fraction`` of its solution cells answered."""
    nb = nbformat.from_dict(release_nb)
    solution_cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    keep = round(len(solution_cells) * fraction)
    for cell in solution_cells[:keep]:
        cell.source = solutions[cell.metadata["nbgrader"]["grade_id"]]
    return nb


def write_submission(course: Course, lab: str, student: str, nb: nbformat.NotebookNode | str) -> Path:
    """Place a submission as nbgrader expects it: submitted/<student>/<lab>/<lab>.ipynb."""
    folder = course.submission_dir(lab, student)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lab}.ipynb"
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    (folder / "timestamp.txt").write_text(TIMESTAMP)
    return path


SAMPLE_STUDENTS = {"demo-reference": 1.0, "demo-partial": 0.5, "demo-blank": 0.0}


def make_samples(
    course: Course, labs: list[str] | None = None, students: list[str] | None = None
) -> list[tuple[str, str]]:
    """Write the sample students (default: all three) for each lab; returns (lab, student) pairs."""
    made = []
    for lab in labs or course.labs():
        release_nb = nbformat.read(course.release_notebook(lab), as_version=4)
        solutions = _solution_sources(nbformat.read(course.source_notebook(lab), as_version=4))
        for student in students or SAMPLE_STUDENTS:
            fraction = SAMPLE_STUDENTS[student]
            write_submission(course, lab, student, fill_solutions(release_nb, solutions, fraction))
            made.append((lab, student))
    return made
