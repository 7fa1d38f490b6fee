"""A corpus of hostile and broken Lab 1 submissions, each with the outcome it deserves.

They are graded on the shortened Lab 1 of ``conftest.small_course_root`` (sections 4–6 left out:
the corpus attacks the grader, and each case costs half the kernel time).

Every case starts from the reference solution (full autograded marks, ``FULL``) and breaks
one thing. ``PREDICT`` is what the first exercise is worth: its own 2-point
test and the 2-point test of ``xor_network``, whose solution reuses it (other tests never call it:
points follow the exercise at fault). Code that kills the kernel there costs everything, because
nothing after it can run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

LAB = "lab1_perceptron"
FULL = 14.0  # the shortened lab's autograded points (3 more are a written answer, graded by hand)
PREDICT = 4.0  # test_perceptron_predict and test_xor_network, whose solution reuses it
MCQ = 4.0  # the four multiple-choice tests, after the last exercise

# A wrong first exercise: all-zero predictions (the right dtype and shape).
WRONG_PREDICT = "def perceptron_predict(x, w, b):\n    return torch.zeros(x.shape[0], dtype=torch.long)\n"

# Runs inside the sandboxed kernel and reports what it could reach; the test reads its output.
PROBE = r'''
import json, os, socket, pathlib
_found = {}
for _name, _path in {"solutions": "__REPO__/solutions", "repo_root": "__REPO__",
                     "gradebook_here": "../../../gradebook.db", "other_student": "../../other-student",
                     "root_home": "/root"}.items():
    try:
        _found[_name] = sorted(os.listdir(_path))[:5] if os.path.isdir(_path) else open(_path, "rb").read(16).hex()
    except OSError as _err:
        _found[_name] = f"blocked: {type(_err).__name__}"
for _name, _addr in {"loopback": ("127.0.0.1", int(os.environ.get("PROBE_PORT", "1"))),
                     "internet": ("1.1.1.1", 443)}.items():
    try:
        socket.create_connection(_addr, timeout=3).close()
        _found[_name] = "connected"
    except OSError as _err:
        _found[_name] = f"blocked: {type(_err).__name__}"
for _name, _path in {"write_usr": "/usr/owned.txt", "write_labkit": "__REPO__/labkit/owned.py"}.items():
    try:
        open(_path, "w").write("x")
        _found[_name] = "written"
    except OSError as _err:
        _found[_name] = f"blocked: {type(_err).__name__}"
print("PROBE " + json.dumps(_found))
'''


@dataclass
class Case:
    student: str
    what: str  # one line for the closing note and the test id
    status: str  # graded | error
    score: float | None = None  # expected autograded score (None: not scored)
    reason: str = ""  # regex the one-line reason must match
    prepend: dict[str, str] = field(default_factory=dict)  # solution cell -> code put before it
    replace: dict[str, str] = field(default_factory=dict)  # solution cell -> new source
    append_cell: str = ""  # an extra (ungraded) code cell at the end
    extra_files: dict[str, str] = field(default_factory=dict)
    raw: str | None = None  # the notebook file's exact text (broken files)
    rename_to: str = ""
    edit: str = ""  # name of a structural edit, see apply_edit
    at_most: float | None = None  # for cheats: the most it may earn (what the honest answer earns)
    leak: bool = False  # tries to get hidden test source onto the feedback page


CASES = [
    Case("honest-reference", "the reference solution (control)", "graded", FULL),
    Case("honest-wrong", "an honest wrong answer (control)", "graded", FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT}),
    Case("infinite-loop", "`while True: pass` in an exercise", "graded", FULL - PREDICT,
         r"cell perceptron_predict: timed out after \d+ s",
         prepend={"perceptron_predict": "while True:\n    pass\n"}),
    Case("loop-ignores-interrupt", "a loop that swallows KeyboardInterrupt", "graded", 0.0,
         r"cell perceptron_predict: the cell ran past its time limit and did not stop when interrupted",
         prepend={"perceptron_predict": "import time\nwhile True:\n    try:\n        time.sleep(0.5)\n"
                                        "    except KeyboardInterrupt:\n        pass\n"}),
    Case("sys-exit", "`sys.exit()` in an exercise", "graded", FULL - PREDICT,
         prepend={"perceptron_predict": "import sys\nsys.exit()\n"}),
    Case("os-exit", "`os._exit(0)` kills the kernel", "graded", 0.0,
         r"cell perceptron_predict: the kernel died .*later cells not run",
         prepend={"perceptron_predict": "import os\nos._exit(0)\n"}),
    Case("os-exit-late", "`os._exit` in the last exercise keeps earlier points", "graded", FULL - MCQ,
         r"cell mcq_answers: the kernel died",
         prepend={"mcq_answers": "import os\nos._exit(1)\n"}),
    Case("segfault", "a segmentation fault (ctypes)", "graded", 0.0, r"the kernel died",
         prepend={"perceptron_predict": "import ctypes\nctypes.string_at(0)\n"}),
    Case("memory-hog", "allocates memory until stopped", "graded", 0.0,
         r"the kernel was stopped: it used \d+\.\d GiB of memory \(limit 1 GiB\)",
         prepend={"perceptron_predict": "_hog = []\nwhile True:\n    _hog.append(bytearray(50_000_000))\n"}),
    Case("fork-bomb", "an exponential fork bomb", "graded", 0.0,
         r"the kernel was stopped: it started more than \d+ processes",
         prepend={"perceptron_predict": "import os, time\ndef _bomb():\n    while True:\n        try:\n"
                                        "            os.fork()\n        except OSError:\n            time.sleep(0.01)\n"
                                        "_bomb()\n"}),
    Case("gigantic-print", "prints about 40 MB", "graded", FULL, r"output truncated at \d+ MiB",
         prepend={"perceptron_predict": "for _ in range(200_000):\n    print('spam ' * 40)\n"}),
    Case("huge-file", "writes a 1 GiB file", "graded", FULL - PREDICT,
         prepend={"perceptron_predict": "with open('huge.bin', 'wb') as _fh:\n"
                                        "    for _ in range(64):\n        _fh.write(b'0' * 2**24)\n"}),
    Case("not-json", "not JSON", "error", None, r"lab1_perceptron\.ipynb: not a notebook \(invalid JSON at line 1",
         raw='{"cells": [ oops'),
    Case("empty-file", "an empty file", "error", None, r"lab1_perceptron\.ipynb: the file is empty", raw=""),
    Case("renamed", "the notebook renamed", "error", None,
         r"notebook renamed: found my_lab1_final\.ipynb, expected lab1_perceptron\.ipynb", rename_to="my_lab1_final.ipynb"),
    Case("deleted-test-cell", "a graded test cell deleted", "graded", FULL - 2,
         r"1 graded cell\(s\) deleted \(test_xor_network\): they score 0", edit="delete_test"),
    Case("duplicated-test-cell", "a graded test cell duplicated", "graded", FULL,
         r"duplicated graded cell\(s\) test_xor_network", edit="duplicate_test"),
    Case("reordered-cells", "a test moved before its exercise (only that test fails)", "graded", FULL - 2,
         r"graded cells reordered", edit="reorder"),
    Case("edited-points", "test points raised to 100 in the metadata", "graded", FULL,
         r"nbgrader metadata edited in test_perceptron_predict", edit="points"),
    Case("test-cell-ungraded", "a wrong answer, its test cell unflagged and emptied", "graded", FULL - PREDICT,
         r"test_perceptron_predict", edit="ungrade", replace={"perceptron_predict": WRONG_PREDICT}),
    Case("shadow-labkit", "extra files: a fake labkit/checks.py and torch.py, with a wrong answer", "graded",
         FULL - PREDICT, r"extra file\(s\) ignored \(labkit/__init__\.py, labkit/checks\.py, torch\.py\)",
         replace={"perceptron_predict": WRONG_PREDICT},
         extra_files={"labkit/__init__.py": "", "labkit/checks.py": "def assert_close(*a, **k):\n    pass\n",
                      "torch.py": "raise SystemExit('shadowed')\n"}),
    Case("input-transformer", "an input transformer that turns every later cell into `pass`", "graded", 0.0,
         r"review: a decoy check that must fail passed.*the score comes from the judge",
         replace={"perceptron_predict": WRONG_PREDICT + "get_ipython().input_transformers_post.append("
                                        "lambda lines: ['pass\\n'])\n"}),
    Case("patched-checks", "monkeypatched labkit.checks and torch.testing", "graded", 0.0, r"review: a decoy check",
         replace={"perceptron_predict": WRONG_PREDICT + "import labkit.checks, torch.testing\n"
                  "for _n in dir(labkit.checks):\n    if _n.startswith('assert'):\n"
                  "        setattr(labkit.checks, _n, lambda *a, **k: None)\n"
                  "torch.testing.assert_close = lambda *a, **k: None\n"
                  "globals().update({n: getattr(labkit.checks, n) for n in dir(labkit.checks) if n.startswith('assert')})\n"}),
    Case("silenced-errors", "custom exception handler that swallows every error (errors still reach the grader)",
         "graded", FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT + "get_ipython().set_custom_exc((BaseException,), "
                                        "lambda *a, **k: None)\n"}),
    Case("no-tracebacks", "showtraceback replaced by a no-op, with a wrong answer", "graded", FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT + "get_ipython().showtraceback = lambda *a, **k: None\n"}),
    Case("eq-always-true", "returns an object whose == is always true", "graded", FULL - PREDICT,
         replace={"perceptron_predict": "class _Yes:\n    def __eq__(self, other):\n        return True\n"
                                        "    def __ne__(self, other):\n        return False\n"
                                        "def perceptron_predict(x, w, b):\n    return _Yes()\n"}),
    # Cheats against same-process grading (each written with a wrong perceptron_predict, whose
    # honest score is FULL - PREDICT): under the judge none may earn more than the honest wrong answer.
    Case("rebound-check-names", "rebinds the check names the test cells call to no-ops", "graded", at_most=FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT + "assert_close = assert_equal = assert_scalar = "
                                        "assert_accuracy = assert_tensor = lambda *a, **k: None\n"}),
    Case("selective-transformer", "an input transformer that lets decoys through and blanks the real checks",
         "graded", at_most=FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT + "def _blank(lines):\n"
                  "    if any('_lk_' in l or 'expected' in l and 'got' in l for l in lines):\n        return lines\n"
                  "    return [('pass\\n' if 'assert_' in l or 'expect_' in l else l) for l in lines]\n"
                  "get_ipython().input_transformers_post.append(_blank)\n"}),
    Case("steals-expected", "returns whatever the hidden test computed into the notebook's globals", "graded",
         at_most=FULL - PREDICT,
         replace={"perceptron_predict": "def perceptron_predict(x, w, b):\n    g = globals()\n"
                  "    for k in ('_expected', 'expected', '_ref', '_answer'):\n        if k in g:\n            return g[k]\n"
                  "    return torch.zeros(x.shape[0])\n"}),
    Case("forged-emissions", "publishes made-up values for every check name in the judge's own format", "graded",
         at_most=FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT + "import labkit.checks as _c\n"
                  "_orig = _c._emit\n"
                  "def _forge(kind, name, value, **params):\n"
                  "    import torch as _t\n"
                  "    if type(value) is _t.Tensor:\n        value = _t.ones_like(value)\n"
                  "    _orig(kind, name, value, **params)\n"
                  "_c._emit = _forge\n"}),
    Case("emits-expected", "makes the visible checks send the expected value instead of the student's", "graded",
         at_most=FULL - PREDICT,
         replace={"perceptron_predict": WRONG_PREDICT + "import labkit.checks as _c\n"
                  "def _ac(actual, expected, name, rtol=1e-5, atol=1e-6, verbose=True):\n"
                  "    _c._emit('close', name, expected, rtol=rtol, atol=atol)\n"
                  "assert_close = _c.assert_close = _ac\n"}),
    Case("leaks-hidden-source", "prints the running test cell's source, base64-encoded, and stashes it for later",
         "graded", FULL - PREDICT, leak=True,
         replace={"perceptron_predict": "import base64 as _b64\n_stash = []\n"
                  "def perceptron_predict(x, w, b):\n    src = get_ipython().user_ns['In'][-1]\n"
                  "    _stash.append(src)\n    print('LEAK' + _b64.b64encode(src.encode()).decode())\n"
                  "    return torch.zeros(x.shape[0])\n"},
         append_cell="print('LATER' + __import__('base64').b64encode(''.join(_stash).encode()).decode())"),
    Case("sandbox-probe", "tries to read solutions/, the gradebook, other students, the network", "graded", FULL,
         append_cell=PROBE),
]


def _sanitized_ids(nb) -> list[str]:
    return [c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "") for c in nb.cells]


def apply_edit(nb, edit: str):
    """Structural edits a student can make in JupyterLab (or in a text editor)."""
    nb = copy.deepcopy(nb)
    ids = _sanitized_ids(nb)
    if edit == "delete_test":
        del nb.cells[ids.index("test_xor_network")]
    elif edit == "duplicate_test":
        i = ids.index("test_xor_network")
        nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
        nb.cells[i + 1]["id"] = "duplicated-test"
    elif edit == "reorder":
        test = nb.cells.pop(ids.index("test_perceptron_predict"))
        nb.cells.insert(ids.index("perceptron_predict"), test)
    elif edit == "points":
        nb.cells[ids.index("test_perceptron_predict")].metadata.nbgrader.points = 100
    elif edit == "ungrade":
        cell = nb.cells[ids.index("test_perceptron_predict")]
        cell.metadata.nbgrader.update(grade=False, locked=False)
        cell.source = "pass"
    elif edit:
        raise ValueError(edit)
    return nb
