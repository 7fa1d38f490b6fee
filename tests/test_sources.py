"""Every lab's source notebook has a readable Jupytext twin in sources/, and the two stay in sync."""

from __future__ import annotations

import os

import nbformat
import pytest
from conftest import present_labs

from autograde import sources
from autograde.course import REPO_ROOT, Course


@pytest.mark.parametrize("lab", present_labs())
def test_each_lab_has_its_text_twin_in_sync(lab):
    course = Course()
    text = sources.text_path(course, lab)
    assert text.exists(), f"{text.relative_to(REPO_ROOT)} is missing: run `make release LAB={lab}`"
    notes = sources.differences(nbformat.read(course.source_notebook(lab), as_version=4), text.read_text())
    assert not notes, f"{lab}: notebook and {text.name} differ ({'; '.join(notes[:3])}): run `make release LAB={lab}`"


def _course(tmp_path, lab: str) -> Course:
    (tmp_path / "solutions" / lab).mkdir(parents=True)
    nb = nbformat.read(REPO_ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    nbformat.write(nb, tmp_path / "solutions" / lab / f"{lab}.ipynb")
    return Course(root=tmp_path, workspace=tmp_path / "autograde")


def test_an_edit_in_the_text_reaches_the_notebook_and_back(tmp_path):
    lab = "lab1_perceptron"
    course = _course(tmp_path, lab)
    assert sources.sync(course, lab) == "wrote lab1_perceptron.py from the notebook"
    assert sources.sync(course, lab) == "in sync"
    text = sources.text_path(course, lab)
    edited = text.read_text().replace("return (x @ w + b > 0).float()", "return (x @ w + b > 0).to(x.dtype)")
    text.write_text(edited)
    os.utime(text, (text.stat().st_atime, course.source_notebook(lab).stat().st_mtime + 5))
    assert sources.sync(course, lab) == "wrote lab1_perceptron.ipynb from lab1_perceptron.py"
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "perceptron_predict")
    assert "(x @ w + b > 0).to(x.dtype)" in cell.source
    assert cell.metadata["nbgrader"]["solution"] is True, "nbgrader's metadata survives the text round trip"
    original = nbformat.read(REPO_ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    assert [c.get("id") for c in nb.cells] == [c.get("id") for c in original.cells], "cell ids are kept"
    assert sources.sync(course, lab) == "in sync"


def test_an_edit_in_the_notebook_reaches_the_text(tmp_path):
    lab = "lab1_perceptron"
    course = _course(tmp_path, lab)
    sources.sync(course, lab)
    path = course.source_notebook(lab)
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA new closing sentence."
    nbformat.write(nb, path)
    text = sources.text_path(course, lab)
    os.utime(path, (path.stat().st_atime, text.stat().st_mtime + 5))
    assert sources.sync(course, lab) == "wrote lab1_perceptron.py from the notebook"
    assert "# A new closing sentence." in text.read_text()


def test_a_new_graded_cell_in_the_text_keeps_every_id_unique_and_stable(tmp_path):
    """A test cell inserted before another graded cell: the graded cells keep their ids, the new one
    gets an id of its own (never a duplicate, which nbformat would replace by a random one)."""
    lab = "lab1_perceptron"
    course = _course(tmp_path, lab)
    sources.sync(course, lab)
    text = sources.text_path(course, lab)
    marker = '# %% nbgrader={"grade": true, "grade_id": "test_perceptron_train_gates"'
    content = text.read_text()
    assert marker in content
    new_cell = ('# %% nbgrader={"grade": true, "grade_id": "test_new_check", "locked": true, "points": 1.0, '
                '"schema_version": 3, "solution": false, "task": false}\nassert True\n\n')
    text.write_text(content.replace(marker, new_cell + marker, 1))
    os.utime(text, (text.stat().st_atime, course.source_notebook(lab).stat().st_mtime + 5))
    assert sources.sync(course, lab) == "wrote lab1_perceptron.ipynb from lab1_perceptron.py"
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    ids = [c.get("id") for c in nb.cells]
    assert len(ids) == len(set(ids)), "duplicate cell ids"
    original = nbformat.read(REPO_ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.get("id") for c in original.cells if "nbgrader" in c.metadata}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in graded:
            assert cell.get("id") == graded[gid], f"{gid} changed its id"
    again = sources.from_text(text.read_text(), nb)
    assert [c.get("id") for c in again.cells] == ids, "ids are deterministic"
