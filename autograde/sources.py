"""Lab sources a reviewer can read: each source notebook paired with a Jupytext percent file.

``solutions/<lab>/<lab>.ipynb`` is what nbgrader reads; ``sources/<lab>.py`` is the same lab as
plain text (Jupytext's percent format: one ``# %%`` header per cell, nbgrader's cell metadata
kept in the header as JSON), so a one-line change to a lab is a one-line diff. Authors edit
either; :func:`sync` (run by ``make release`` before anything else) brings the other one up to
date, the newer file winning, and ``make test`` checks that every pair is in sync.

The text files live outside ``solutions/`` on purpose: nbgrader copies every other file of a
lab's source folder into the release and next to graded notebooks, and these hold the solutions.
"""

from __future__ import annotations

import jupytext
import nbformat
from nbformat.notebooknode import NotebookNode

from autograde.course import Course

FORMAT = "py:percent"


def text_path(course: Course, lab: str):
    return course.root / "sources" / f"{lab}.py"


def _clean(nb: NotebookNode) -> NotebookNode:
    """An output-free copy (sources are stored without outputs)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def to_text(nb: NotebookNode) -> str:
    return jupytext.writes(_clean(nb), fmt=FORMAT)


def _key(cell: NotebookNode) -> tuple:
    meta = {k: v for k, v in cell.get("metadata", {}).items() if k != "ExecuteTime"}
    return cell.cell_type, cell.source.rstrip("\n"), meta


def differences(nb: NotebookNode, text: str) -> list[str]:
    """Where the notebook and the text disagree (cell type, source or metadata), as short notes."""
    other = jupytext.reads(text, fmt=FORMAT)
    if len(nb.cells) != len(other.cells):
        return [f"{len(nb.cells)} cells in the notebook, {len(other.cells)} in the text"]
    notes = []
    for i, (a, b) in enumerate(zip(nb.cells, other.cells, strict=True)):
        if _key(a) != _key(b):
            gid = a.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            notes.append(f"cell {i + 1}{f' ({gid})' if gid else ''} differs")
    return notes


def from_text(text: str, template: NotebookNode | None) -> NotebookNode:
    """The notebook for ``text``, keeping the template's notebook metadata and, cell by cell,
    its ids where the cell is still the same kind of cell (so diffs stay small)."""
    nb = jupytext.reads(text, fmt=FORMAT)
    nb.metadata.pop("jupytext", None)
    if template is not None:
        nb.metadata = nbformat.from_dict(template.metadata)
    old = list(template.cells) if template is not None else []

    def gid_of(c) -> str | None:
        return c.get("metadata", {}).get("nbgrader", {}).get("grade_id")

    new_gids = {gid_of(c) for c in nb.cells} - {None}
    used = set()
    for i, cell in enumerate(nb.cells):
        gid = gid_of(cell)
        match = next((c for c in old if gid and gid_of(c) == gid), None)
        # a cell in the same place keeps its id, unless that id belongs to a graded cell still there
        if match is None and i < len(old) and old[i].cell_type == cell.cell_type and gid_of(old[i]) not in new_gids:
            match = old[i]
        cell_id = match.get("id") if match is not None else None
        if not cell_id or cell_id in used:
            cell_id = gid or f"cell-{i + 1}"
        while cell_id in used:  # ids must be unique (nbformat would replace a duplicate by a random one)
            cell_id += "-b"
        cell["id"] = cell_id
        used.add(cell_id)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nb


def sync(course: Course, lab: str) -> str:
    """Bring the notebook and its text file into agreement; returns what was done."""
    notebook, text = course.source_notebook(lab), text_path(course, lab)
    if not text.exists():
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(to_text(nbformat.read(notebook, as_version=4)))
        return f"wrote {text.name} from the notebook"
    nb = nbformat.read(notebook, as_version=4) if notebook.exists() else None
    content = text.read_text()
    if nb is not None and not differences(nb, content):
        return "in sync"
    if nb is None or text.stat().st_mtime > notebook.stat().st_mtime:
        notebook.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(from_text(content, nb), notebook)
        return f"wrote {notebook.name} from {text.name}"
    text.write_text(to_text(nb))
    return f"wrote {text.name} from the notebook"
