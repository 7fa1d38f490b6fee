"""The judge's parts without a kernel: the wire format, the verdicts, the static rules."""

from __future__ import annotations

import json

import nbformat
import pytest
import torch

from autograde.answers import Check, emissions
from autograde.judge import judge_cell, review_notes, verdict_outputs
from labkit import checks, wire


def _emitted(kind: str, name: str, value, **params) -> dict:
    return nbformat.v4.new_output("display_data", data={wire.MIME: wire.emission(kind, name, value, params)})


def _cell(*outputs) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("")
    cell.metadata = {"nbgrader": {"grade": True, "solution": False, "grade_id": "test_x", "points": 1}}
    cell.outputs = list(outputs)
    return cell


@pytest.mark.parametrize("value", [
    torch.arange(6, dtype=torch.float32).reshape(2, 3), torch.tensor([True, False]), torch.zeros(0, 4, dtype=torch.int64),
    torch.tensor(2.5, dtype=torch.float64), torch.tensor([1.5], dtype=torch.bfloat16), 3, 2.5, "b", None, True,
    (1, [2, 3]), {"W": torch.ones(2), "b": 0.5}, float("nan"), float("-inf"),
])
def test_values_survive_the_wire_with_their_types(value):
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert type(back) is type(value)
    if type(value) is torch.Tensor:
        assert back.dtype == value.dtype and back.shape == value.shape and torch.equal(back, value)
    elif type(value) is dict:
        assert back.keys() == value.keys() and torch.equal(back["W"], value["W"])
    elif value == value:  # not NaN
        assert back == value


def test_forged_types_and_malformed_values_are_not_accepted():
    class Sneaky(torch.Tensor):
        pass

    class AlwaysEqual(int):
        def __eq__(self, other):
            return True

    assert isinstance(wire.decode(wire.encode(torch.zeros(2).as_subclass(Sneaky))), wire.Unsupported)
    assert isinstance(wire.decode(wire.encode(AlwaysEqual(3))), wire.Unsupported)
    for bad in ({"$tensor": {"dtype": "float32", "shape": [3], "b64": "AAAA"}},  # 3 bytes for 12
                {"$tensor": {"dtype": "object", "shape": [1], "b64": "AAAAAAAAAAA="}},
                {"$tensor": {"dtype": "float32", "shape": [10**9], "b64": ""}},
                {"$pickle": "gASV"}, {"a": 1, "b": 2}):
        with pytest.raises(wire.WireError):
            wire.decode(bad)
    with pytest.raises(wire.WireError):
        wire.parse_emission({"v": 99, "kind": "close", "name": "x", "value": 1})


def test_the_judge_compares_with_the_recorded_answer_and_tolerance():
    recorded = [Check("AND outputs", 0, "close", {"rtol": 1e-5, "atol": 1e-6}, torch.tensor([0.0, 1.0]), "visible"),
                Check("random", 0, "close", {"rtol": 1e-5, "atol": 1e-6}, torch.tensor([1.0, 2.0]), "hidden"),
                Check("random", 1, "scalar", {"rtol": 1e-6, "atol": 1e-9}, 0.75, "hidden")]
    right = _cell(_emitted("close", "AND outputs", torch.tensor([0.0, 1.0]), rtol=1.0, atol=1.0),
                  _emitted("close", "random", torch.tensor([1.0, 2.0 + 1e-7])),
                  _emitted("scalar", "random", 0.75))
    assert all(v.ok for v in judge_cell(right, recorded, {}))
    # the kernel's own tolerance is ignored: only the recorded one counts
    loose = _cell(_emitted("close", "AND outputs", torch.tensor([0.0, 1.5]), rtol=1.0, atol=1.0),
                  _emitted("close", "random", torch.tensor([1, 2])),  # int where floats are asked
                  nbformat.v4.new_output("error", ename="MyOwnError", evalue="aGlkZGVu", traceback=[]))
    verdicts = judge_cell(loose, recorded, {})
    assert [v.ok for v in verdicts] == [False, False, False]
    assert "1 of 2 values differ" in verdicts[0].message
    assert "expected a floating-point tensor" in verdicts[1].message
    assert "not checked: the cell stopped with an exception" in verdicts[2].message  # not the student's text
    outputs = verdict_outputs(verdicts)
    assert outputs[-1]["output_type"] == "error" and outputs[-1]["ename"] == "CheckError"
    assert "✗ hidden test: random" in outputs[0]["text"] and "aGlkZGVu" not in json.dumps(outputs)


def test_missing_malformed_and_wrong_kind_values_fail():
    recorded = [Check("q1", 0, "choice", {}, "b", "visible")]
    assert not judge_cell(_cell(), recorded, {})[0].ok
    bad = _cell(nbformat.v4.new_output("display_data", data={wire.MIME: {"v": 1, "kind": "choice", "name": "q1",
                                                                         "value": {"$eval": "b"}}}))
    assert "malformed" in judge_cell(bad, recorded, {})[0].message
    assert "expected a choice check" in judge_cell(_cell(_emitted("equal", "q1", "b")), recorded, {})[0].message
    assert judge_cell(_cell(_emitted("choice", "q1", " B ".strip().lower())), recorded, {})[0].ok
    assert emissions(bad)[0].get("error")


def test_accuracy_is_computed_by_the_judge_from_predictions():
    labels = torch.tensor([0, 1, 1, 0])
    recorded = [Check("acc", 0, "accuracy", {"labels": wire.encode(labels), "at_least": 0.75}, torch.zeros(4, 1), "hidden")]
    good = _cell(_emitted("accuracy", "acc", torch.tensor([[-1.0], [2.0], [3.0], [1.0]])))  # 3 of 4
    forged = _cell(_emitted("accuracy", "acc", torch.tensor([[1.0], [-1.0], [-1.0], [1.0]]),
                            labels=wire.encode(torch.tensor([1, 0, 0, 1])), at_least=0.0))
    assert judge_cell(good, recorded, {})[0].ok and judge_cell(good, recorded, {})[0].metric == 0.75
    assert not judge_cell(forged, recorded, {})[0].ok, "labels and thresholds sent by the kernel are ignored"


def test_by_hand_rules_read_the_submitted_source():
    rule = [Check("by hand", 0, "by_hand", {"cell": "conv", "forbidden": ["conv2d", "relu"]}, None, "visible")]
    assert judge_cell(_cell(), rule, {"conv": "def conv(x, w):\n    return (x * w).sum()\n"})[0].ok
    for cheat in ("import torch.nn.functional as F\ndef conv(x, w):\n    return F.conv2d(x, w)\n",
                  "from torch.nn.functional import conv2d as c\n",
                  "def relu(z):\n    return z.relu()\n"):
        assert not judge_cell(_cell(), rule, {"conv": cheat})[0].ok, cheat
    assert checks.forbidden_uses("def relu(z):\n    return relu_helper(z)\n", ["relu"]) == []  # own names are fine


def test_dynamic_calls_are_flagged_for_review_but_methods_are_not():
    notes = review_notes({"a": "model.eval()\nx = getattr(F, 'relu')\n", "b": "f = eval('F.' + 'conv2d')\n"})
    assert len(notes) == 1 and notes[0].startswith("cell b uses eval()")


def test_workers_execute_without_importing_torch_and_agree_with_labkit_on_the_wire():
    """A worker process only executes notebooks (the kernel imports torch, the worker need not):
    importing the grader and building its grading configuration must not import torch or labkit,
    whose names for the judge's switch and the checks' MIME type the executor spells out."""
    import subprocess
    import sys

    code = ("import sys; import autograde.parallel, autograde.worker; from autograde.course import Course; "
            "Course().grading_config(); print(sorted(m for m in ('torch', 'labkit', 'autograde.judge') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out
    from autograde import safe_execute
    from labkit.checks import JUDGE_ENV
    from labkit.wire import MIME

    assert (safe_execute.JUDGE_ENV, safe_execute.MIME) == (JUDGE_ENV, MIME)
