"""Turn a percent-format script into an nbgrader source notebook (output-free).

Optional authoring aid: the committed ``solutions/<lab>/<lab>.ipynb`` stays the master
copy (edit it in JupyterLab with nbgrader's Create Assignment toolbar as usual). Some
authors prefer drafting a lab as plain text; this converts such a draft once.

Cell headers (one per cell, the line starts with ``# %%``)::

    # %% [markdown]                            plain markdown
    # %% [markdown] manual id=ID points=N      manually graded written answer
    # %%                                       ordinary code cell (students may edit)
    # %% readonly id=ID                        locked code cell (preamble, given code)
    # %% solution id=ID                        code the student writes (### BEGIN/END SOLUTION)
    # %% tests id=ID points=N                  autograded test cell (locked)

Usage: ``python tools/py2nb.py draft.py solutions/lab1_perceptron/lab1_perceptron.ipynb``
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?P<rest>.*)$")


def _nbgrader_meta(kind: str, grade_id: str, points: float | None) -> dict:
    base = {"schema_version": 3, "grade_id": grade_id, "task": False}
    if kind == "readonly":
        return {**base, "grade": False, "solution": False, "locked": True}
    if kind == "solution":
        return {**base, "grade": False, "solution": True, "locked": False}
    if kind == "tests":
        return {**base, "grade": True, "solution": False, "locked": True, "points": points}
    if kind == "manual":
        return {**base, "grade": True, "solution": True, "locked": False, "points": points}
    raise ValueError(f"unknown cell kind {kind!r}")


def parse(text: str) -> nbformat.NotebookNode:
    """Build a notebook from percent-format ``text``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    chunks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            chunks.append((match.group("rest").strip(), []))
        elif chunks:
            chunks[-1][1].append(line)
    seen: set[str] = set()
    for index, (header, body) in enumerate(chunks):
        words = shlex.split(header)
        is_markdown = bool(words) and words[0] == "[markdown]"
        if is_markdown:
            words = words[1:]
        kind = words[0] if words and "=" not in words[0] else None
        opts = dict(w.split("=", 1) for w in words if "=" in w)
        source = "\n".join(body).strip("\n")
        if is_markdown:
            source = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in source.splitlines())
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
        grade_id = opts.get("id")
        cell.id = grade_id or f"cell-{index:03d}"
        if kind:
            if not grade_id:
                raise ValueError(f"cell {index} ({kind}) needs id=...")
            if grade_id in seen:
                raise ValueError(f"duplicate id {grade_id!r}")
            seen.add(grade_id)
            points = float(opts["points"]) if "points" in opts else None
            if kind in ("tests", "manual") and points is None:
                raise ValueError(f"cell {grade_id!r} needs points=N")
            cell.metadata["nbgrader"] = _nbgrader_meta(kind, grade_id, points)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    nb = parse(Path(argv[1]).read_text())
    Path(argv[2]).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, argv[2])
    print(f"wrote {argv[2]}: {len(nb.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
