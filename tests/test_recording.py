"""Answers recorded in the grading sandbox (what `make release` does) equal the ones the suite's
probe records from a plain kernel (tests/lab_probe.py), so every lab's answers can come from either."""

from __future__ import annotations

import pytest
from lab_probe import probe_lab

from autograde import answers
from autograde.course import REPO_ROOT, Course
from autograde.sandbox import sandbox_status
from labkit import wire

LAB = "lab1_perceptron"
pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group(LAB)]  # beside test_labs' lab 1 probe


def _table(recorded: answers.Answers) -> dict:
    return {(gid, c.name, c.occurrence): (c.kind, c.part, c.params, wire.encode(c.value))
            for gid, checks in recorded.cells.items() for c in checks}


def test_sandboxed_recording_matches_the_probes(tmp_path):
    ok, why = sandbox_status()
    if not ok:
        pytest.fail(f"the sandbox is required for this test: {why}")
    private = Course(root=REPO_ROOT, workspace=tmp_path / "ws", answers=tmp_path / "answers")
    in_sandbox = answers.record(private, LAB)
    # the probe's own recording, in a folder of its own: the shared answers may have come from
    # either path (on a fresh clone `hub release` records Lab 1's in the sandbox first)
    plain = Course(root=REPO_ROOT, workspace=tmp_path / "ws-plain", answers=tmp_path / "answers-plain")
    probe_lab(plain, LAB, [], [])
    shared = answers.load(plain, LAB)
    assert in_sandbox.fingerprint == shared.fingerprint
    mine, theirs = _table(in_sandbox), _table(shared)
    assert mine.keys() == theirs.keys()
    differ = sorted(str(key) for key in mine if mine[key] != theirs[key])
    assert not differ, f"{len(differ)} recorded values differ between the sandbox and the probe: {differ[:5]}"
    assert len(mine) > 40  # the lab's checks were all recorded
