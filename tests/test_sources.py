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
