"""Answers recorded in the grading sandbox (what `make release` does) equal the ones the suite's
probe records from a plain kernel (tests/lab_probe.py), so every lab's answers can come from either."""

from __future__ import annotations

import pytest

from autograde import answers
from autograde.course import REPO_ROOT, Course
from autograde.sandbox import sandbox_status
from labkit import wire

LAB = "lab1_perceptron"
LAB1 = pytest.param(LAB, marks=pytest.mark.xdist_group(LAB), id=LAB)  # reuses test_labs' Lab 1 probe


def _table(recorded: answers.Answers) -> dict:
    return {(gid, c.name, c.occurrence): (c.kind, c.part, c.params, wire.encode(c.value))
            for gid, checks in recorded.cells.items() for c in checks}


@pytest.mark.notebook
@pytest.mark.parametrize("graded_lab", [LAB1], indirect=True)
def test_sandboxed_recording_matches_the_probes(graded_lab, tmp_path):
    ok, why = sandbox_status()
    if not ok:
        pytest.fail(f"the sandbox is required for this test: {why}")
    private = Course(root=REPO_ROOT, workspace=tmp_path / "ws", answers=tmp_path / "answers")
    in_sandbox = answers.record(private, LAB)
    # what the probe's own plain-kernel run gave, whether or not it was the one that filled the
    # shared answers (on a fresh clone `hub release` may record Lab 1's in the sandbox first)
    plain = graded_lab.probe.recorded
    assert plain is not None, "the probe's reference run of Lab 1 did not run cleanly"
    assert in_sandbox.fingerprint == plain.fingerprint
    mine, theirs = _table(in_sandbox), _table(plain)
    assert mine.keys() == theirs.keys()
    differ = sorted(str(key) for key in mine if mine[key] != theirs[key])
    assert not differ, f"{len(differ)} recorded values differ between the sandbox and the probe: {differ[:5]}"
    assert len(mine) > 40  # the lab's checks were all recorded
