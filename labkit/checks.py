"""Checks for visible and hidden tests, judged inside the kernel *and* outside it.

Every failure says *what* differs: the name, the shapes, the largest difference and
where it is. Types are checked exactly (``type(x) is torch.Tensor``), so a subclass or an
object whose ``__eq__`` always returns True cannot pass, and everything is compared on CPU
copies, so a notebook run on a GPU is graded the same. Passing checks print one ✓ line.

Two kinds of calls:

* **visible checks** (``assert_close(actual, expected, name)``, ``assert_equal``, ``assert_scalar``,
  ``assert_choice``, ``assert_accuracy``, ``compare_gradients``, ``assert_tensor``) compare in the
  kernel for the student's instant feedback;
* **hidden checks** (``expect_close(actual, name)``, ``expect_equal``, ``expect_scalar``) hold no
  expected value at all: in the student's notebook they cannot be run, only graded.

While grading (``LABKIT_JUDGE=1``, set by the grader) every check also *emits* the value it
received (:mod:`labkit.wire`). At release the grader runs the solution the same way and
records those values as the answers; at grading ``autograde.judge`` compares each student
value with the recorded answer, outside the kernel, with the ``compare_*`` functions below
and the tolerance recorded from the solution. Rewriting anything in the kernel therefore
earns nothing: only the right values do.
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import textwrap
import types
from collections.abc import Callable, Iterable, Sequence
from numbers import Real

import torch

from labkit import wire

JUDGE_ENV = "LABKIT_JUDGE"

# calls that hide which function is really called: flagged for a TA, never silently scored
DYNAMIC_CALLS = ("getattr", "exec", "eval", "compile", "__import__", "import_module", "globals", "vars", "setattr")


class CheckError(AssertionError):
    """A check failed; the message explains what differs."""


# --------------------------------------------------------------------------- emitting


def judging() -> bool:
    """True while the grader records answers or grades (values are emitted for the judge)."""
    return os.environ.get(JUDGE_ENV) == "1"


def _emit(kind: str, name: str, value: object, **params: object) -> None:
    """Send ``value`` to the judge as a display output of the running cell (only while judging)."""
    if not judging():
        return
    try:
        from IPython.display import publish_display_data
    except ImportError:  # pragma: no cover - not in a kernel
        return
    publish_display_data({wire.MIME: wire.emission(kind, name, value, params)})


# --------------------------------------------------------------------------- comparisons
# Each returns (passed, message); the message is the ✓ line or the failure. The kernel and
# the judge call the same functions, so the student reads the same words in both places.


def _type_label(value: object) -> str:
    if isinstance(value, wire.Unsupported):
        return value.type_name
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def tensor_problem(value: object, name: str, shape: Sequence[int] | None = None,
                   dtype: torch.dtype | None = None) -> str | None:
    """Why ``value`` is not a plain tensor of ``shape``/``dtype``, or None."""
    if type(value) is not torch.Tensor:
        return f"{name}: expected a torch.Tensor, got {_type_label(value)}"
    if shape is not None and tuple(value.shape) != tuple(shape):
        return f"{name}: expected shape {tuple(shape)}, got {tuple(value.shape)}"
    if dtype is not None and value.dtype != dtype:
        return f"{name}: expected dtype {dtype}, got {value.dtype}"
    return None


def tensor_summary(value: object) -> object:
    """What :func:`assert_tensor` sends the judge: shape and dtype of a plain tensor, else the value."""
    if type(value) is torch.Tensor:
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    return value


def compare_tensor_summary(summary: object, shape: Sequence[int] | None, dtype: str | None,
                           name: str) -> tuple[bool, str]:
    """The judge's side of :func:`assert_tensor`, on a :func:`tensor_summary`."""
    if type(summary) is not dict or set(summary) != {"shape", "dtype"}:
        return False, f"{name}: expected a torch.Tensor, got {_type_label(summary)}"
    if shape is not None and list(summary["shape"]) != list(shape):
        return False, f"{name}: expected shape {tuple(shape)}, got {tuple(summary['shape'])}"
    if dtype is not None and summary["dtype"] != dtype:
        return False, f"{name}: expected dtype {dtype}, got {summary['dtype']}"
    return True, f"{name}: a tensor of shape {tuple(summary['shape'])}"


def max_difference(actual: torch.Tensor, expected: torch.Tensor) -> tuple[float, tuple[int, ...]]:
    """Largest absolute difference between two same-shaped tensors and its index.

    NaNs count as infinitely different unless both sides are NaN at that position.
    """
    a, e = actual.double(), expected.double()
    diff = (a - e).abs()
    both_nan = torch.isnan(a) & torch.isnan(e)
    diff = torch.where(both_nan, torch.zeros_like(diff), diff)
    diff = torch.nan_to_num(diff, nan=math.inf, posinf=math.inf)
    same_inf = torch.isinf(a) & torch.isinf(e) & (torch.sign(a) == torch.sign(e))
    diff = torch.where(same_inf, torch.zeros_like(diff), diff)
    if diff.numel() == 0:
        return 0.0, ()
    flat = int(diff.reshape(-1).argmax())
    # divmod, not torch.unravel_index: that one imports sympy (0.3–0.5 s) on its first call
    digits: list[int] = []
    rest = flat
    for size in reversed(diff.shape):
        rest, digit = divmod(rest, size)
        digits.append(digit)
    return float(diff.reshape(-1)[flat]), tuple(reversed(digits))


def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """CS231n's relative error: ``max |a - e| / max(1e-8, |a| + |e|)``."""
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    return float(((a - e).abs() / (a.abs() + e.abs()).clamp(min=1e-8)).max())


def compare_close(actual: object, expected: torch.Tensor, name: str, rtol: float = 1e-5,
                  atol: float = 1e-6) -> tuple[bool, str]:
    """Elementwise ``|actual - expected| <= atol + rtol * |expected|``, shapes and kinds equal.

    A float answer needs a floating-point tensor and an integer answer an integer one, so a
    bool mask or an int tensor where floats are asked fails with a clear message; NaN matches
    only NaN, so a result that must be finite cannot hide a NaN behind the reference's.
    """
    exp = expected.detach().cpu()
    problem = tensor_problem(actual, name, shape=tuple(exp.shape))
    if problem:
        return False, problem
    act = actual.detach().cpu()
    if exp.is_floating_point() and not act.is_floating_point():
        return False, f"{name}: expected a floating-point tensor ({exp.dtype}), got {act.dtype}"
    if not exp.is_floating_point() and act.is_floating_point():
        return False, f"{name}: expected an integer tensor ({exp.dtype}), got {act.dtype}"
    diff, where = max_difference(act, exp)
    a, e = act.double(), exp.double()
    bad = ~((a - e).abs() <= atol + rtol * e.abs())
    bad &= ~(torch.isnan(a) & torch.isnan(e))
    bad &= ~(torch.isinf(a) & torch.isinf(e) & (torch.sign(a) == torch.sign(e)))
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0]) if bad.ndim else ()
        got, want = (a[first].item(), e[first].item()) if a.ndim else (a.item(), e.item())
        return False, (
            f"{name}: {int(bad.sum())} of {bad.numel()} values differ (shape {tuple(exp.shape)}); "
            f"max |difference| = {diff:.3g} at index {where}; first mismatch at {first}: "
            f"got {got:.6g}, expected {want:.6g} (tolerance atol={atol:g}, rtol={rtol:g})"
        )
    return True, f"{name}: shape {tuple(exp.shape)}, max |difference| = {diff:.2e} (atol={atol:g}, rtol={rtol:g})"


def _equal(actual: object, expected: object) -> bool:
    """Exact equality, types included, recursing into containers; expected's __eq__ only."""
    if type(actual) is not type(expected):
        return False
    if type(expected) is torch.Tensor:
        return actual.dtype == expected.dtype and actual.shape == expected.shape and bool(torch.equal(actual, expected))
    if type(expected) in (list, tuple):
        return len(actual) == len(expected) and all(_equal(a, e) for a, e in zip(actual, expected))
    if type(expected) is dict:
        return actual.keys() == expected.keys() and all(_equal(actual[k], expected[k]) for k in expected)
    return bool(expected == actual)


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def compare_equal(actual: object, expected: object, name: str) -> tuple[bool, str]:
    """Exact equality for plain Python values (int, str, tuple, ...), type included."""
    if type(actual) is not type(expected):
        return False, f"{name}: expected {_article(_type_label(expected))}, got {_type_label(actual)} ({actual!r:.80})"
    if not _equal(actual, expected):
        return False, f"{name}: expected {expected!r:.200}, got {actual!r:.200}"
    return True, f"{name} = {expected!r:.200}"


def _as_number(actual: object) -> float | None:
    if type(actual) is torch.Tensor and actual.numel() == 1:
        return float(actual.detach().cpu().reshape(()).item())
    if type(actual) in (int, float) or (isinstance(actual, Real) and not isinstance(actual, bool | torch.Tensor)):
        return float(actual)  # type: ignore[arg-type]
    return None


def compare_scalar(actual: object, expected: float, name: str, rtol: float = 1e-6,
                   atol: float = 1e-9) -> tuple[bool, str]:
    """A real number (Python int/float, or a 1-element tensor) close to ``expected``."""
    value = _as_number(actual)
    if value is None:
        return False, f"{name}: expected a number, got {_type_label(actual)} ({actual!r:.60})"
    expected = float(expected)
    if math.isnan(value) and not math.isnan(expected):
        return False, f"{name}: expected {expected:.6g}, got nan"
    if not (math.isclose(value, expected, rel_tol=rtol, abs_tol=atol) or (math.isnan(value) and math.isnan(expected))):
        return False, f"{name}: expected {expected:.6g}, got {value:.6g} (|difference| = {abs(value - expected):.3g})"
    return True, f"{name} = {value:.6g} (expected {expected:.6g})"


def predicted_classes(scores: torch.Tensor) -> torch.Tensor:
    """Class ids from ``(N, C)`` scores (argmax), ``(N,)``/``(N, 1)`` binary logits (> 0), or
    ``(N,)`` integer ids (as they are). Returns an ``(N,)`` int64 tensor."""
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(dim=1)
    flat = scores.reshape(-1)
    if flat.is_floating_point():
        return (flat > 0).long()
    return flat.long()


def compare_accuracy(scores: object, labels: torch.Tensor, at_least: float, name: str) -> tuple[bool, str]:
    """Accuracy of ``scores``' predicted classes on ``labels`` (N,) reaches ``at_least``."""
    labels = labels.detach().cpu().reshape(-1).long()
    problem = tensor_problem(scores, name)
    if problem:
        return False, problem
    scores = scores.detach().cpu()
    if scores.shape[0] != labels.shape[0] or scores.ndim > 2 or (scores.ndim == 2 and scores.shape[1] == 0):
        return False, f"{name}: expected predictions for {labels.shape[0]} examples, got shape {tuple(scores.shape)}"
    if scores.is_floating_point() and not bool(torch.isfinite(scores).all()):
        return False, f"{name}: the predictions contain nan or inf"
    acc = float((predicted_classes(scores) == labels).double().mean()) if labels.numel() else 0.0
    if not acc >= at_least:
        return False, f"{name}: accuracy {acc:.4f} on {labels.numel()} examples, needs at least {at_least:.4f}"
    return True, f"{name}: accuracy {acc:.4f} ≥ {at_least:.4f} on {labels.numel()} examples"


def compare_at_least(value: object, threshold: float, name: str) -> tuple[bool, str]:
    """A score the kernel computed reaches ``threshold`` (a Python float or int)."""
    if type(value) not in (int, float):
        return False, f"{name}: expected a float, got {_type_label(value)}"
    if not value >= threshold:
        return False, f"{name} = {value:.4f}, needs at least {threshold:.4f}"
    return True, f"{name} = {value:.4f} ≥ {threshold:.4f}"


def compare_choice(answer: object, correct: str, name: str) -> tuple[bool, str]:
    """A multiple-choice answer (any case, surrounding spaces ignored) equals ``correct``."""
    if type(answer) is not str:
        return False, f"{name}: answer with a string; got {_type_label(answer)}"
    if answer.strip().lower() != correct:
        return False, f"{name}: {answer.strip().lower()!r} is not the correct answer"
    return True, f"{name}: correct"


def compare_gradient_dict(grads: object, reference: dict[str, torch.Tensor], tol: float) -> tuple[bool, str]:
    """Every gradient in ``reference`` present in ``grads`` with relative error at most ``tol``."""
    if type(grads) is not dict:
        return False, f"gradients: expected a dict of name -> tensor, got {_type_label(grads)}"
    worst = 0.0
    for key, ref in reference.items():
        if key not in grads:
            return False, f"gradient for {key!r} is missing (got {sorted(map(str, grads))})"
        problem = tensor_problem(grads[key], f"grad {key}", shape=tuple(ref.shape))
        if problem:
            return False, problem
        got = grads[key].detach().cpu()
        err = rel_error(got, ref)
        if not err <= tol:
            diff, where = max_difference(got, ref)
            return False, f"grad {key}: relative error {err:.2e} > {tol:.0e}; max |difference| {diff:.3g} at {where}"
        worst = max(worst, err)
    return True, f"gradients {', '.join(reference)}: worst relative error {worst:.2e} ≤ {tol:.0e}"


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def forbidden_uses(source: str, forbidden: Iterable[str]) -> list[str]:
    """Uses of any name in ``forbidden`` in Python ``source`` (``F.conv2d``, an import alias, ...).

    A name matches any attribute with that name and any import of it, so ``conv2d`` catches
    ``F.conv2d``, ``torch.conv2d``, ``x.conv2d(...)`` and ``from torch.nn.functional import
    conv2d as c``; the student's own functions and variables of that name are theirs to use.
    """
    banned = set(forbidden)
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in banned:
            found.append(f"{_dotted(node) or node.attr} (line {node.lineno})")
        elif isinstance(node, ast.ImportFrom):
            found += [f"import of {a.name} (line {node.lineno})" for a in node.names if a.name in banned or a.name == "*"]
        elif isinstance(node, ast.Import):
            found += [f"import of {a.name} (line {node.lineno})" for a in node.names if a.name.split(".")[-1] in banned]
    return sorted(set(found))


def dynamic_uses(source: str) -> list[str]:
    """Calls that hide what is called (``getattr`` with a computed name, ``exec``, ...)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            # builtins by their bare name (``model.eval()`` is a method, not the builtin)
            callee = node.func.id if isinstance(node.func, ast.Name) else ""
            if isinstance(node.func, ast.Attribute) and node.func.attr == "import_module":
                callee = "import_module"
            literal_getattr = callee == "getattr" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
            if callee in DYNAMIC_CALLS and not literal_getattr:
                found.append(f"{callee}() (line {node.lineno})")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n.split(".")[0] in ("importlib", "builtins", "ctypes") for n in names):
                found.append(f"import of {', '.join(n for n in names if n)} (line {node.lineno})")
    return sorted(set(found))


def compare_by_hand(source: str, forbidden: Sequence[str], name: str) -> tuple[bool, str]:
    """``source`` (a solution cell or function) uses none of the ``forbidden`` library calls."""
    try:
        used = forbidden_uses(source, forbidden)
    except SyntaxError as err:
        return False, f"{name}: the code does not parse ({err.msg}, line {err.lineno})"
    if used:
        return False, f"{name}: this exercise is to be written by hand, without {', '.join(forbidden)}; found {', '.join(used)}"
    if len(forbidden) <= 4:
        return True, f"{name}: written by hand (no {', '.join(forbidden)})"
    # a long list would fill every function's ✓ line; the test cell's by_hand call shows it, a failure names it
    return True, f"{name}: written by hand (none of the {len(forbidden)} library calls it forbids)"


# --------------------------------------------------------------------------- the checks


def _report(result: tuple[bool, str], verbose: bool = True) -> None:
    ok, message = result
    if not ok:
        raise CheckError(message)
    if verbose:
        print(f"✓ {message}")


def assert_tensor(value: object, name: str, shape: Sequence[int] | None = None,
                  dtype: torch.dtype | None = None) -> None:
    """Require a plain ``torch.Tensor`` (not a subclass, array or list), optionally shape/dtype.

    Returns nothing, so that it can end a test cell without showing a value (nbgrader reads a
    cell's last value as partial credit when it is a number).
    """
    _emit("tensor", name, tensor_summary(value),
          shape=list(shape) if shape is not None else None, dtype=str(dtype) if dtype is not None else None)
    problem = tensor_problem(value, name, shape, dtype)
    if problem:
        raise CheckError(problem)
    print(f"✓ {name}: a tensor of shape {tuple(value.shape)}, {value.dtype}")


def assert_close(actual: object, expected: torch.Tensor, name: str, rtol: float = 1e-5,
                 atol: float = 1e-6, verbose: bool = True) -> None:
    """Elementwise ``|actual - expected| <= atol + rtol * |expected|`` with a helpful message."""
    _emit("close", name, actual, rtol=rtol, atol=atol)
    _report(compare_close(actual, expected, name, rtol, atol), verbose)


def assert_equal(actual: object, expected: object, name: str, verbose: bool = True) -> None:
    """Exact equality for plain Python values (int, str, tuple, ...), type included."""
    if isinstance(expected, torch.Tensor):
        raise TypeError(f"{name}: use assert_close for tensors")
    _emit("equal", name, actual)
    _report(compare_equal(actual, expected, name), verbose)


def assert_scalar(actual: object, expected: float, name: str, rtol: float = 1e-6,
                  atol: float = 1e-9, verbose: bool = True) -> None:
    """A real number (Python int/float, or a 1-element tensor) close to ``expected``."""
    number = _as_number(actual)
    _emit("scalar", name, number if number is not None else actual, rtol=rtol, atol=atol)
    _report(compare_scalar(actual, expected, name, rtol, atol), verbose)


def assert_accuracy(scores: object, labels: torch.Tensor, at_least: float, name: str, verbose: bool = True) -> None:
    """A trained model's predictions reach ``at_least`` accuracy on ``labels``.

    Args:
        scores: ``(N, C)`` class scores, ``(N,)``/``(N, 1)`` binary logits, or ``(N,)`` class ids.
        labels: ``(N,)`` true classes.
        at_least: the threshold (the reference beats it with margin on five seeds).

    While grading, the judge recomputes the accuracy from the emitted predictions against the
    labels and threshold recorded from the solution, so a forged number earns nothing.
    """
    _emit("accuracy", name, scores if type(scores) is not torch.Tensor else scores.detach().cpu(),
          labels=wire.encode(labels.detach().cpu()), at_least=float(at_least))
    # returns nothing: a number as a test cell's last value would be read by nbgrader as partial credit
    _report(compare_accuracy(scores, labels, at_least, name), verbose)


def assert_at_least(value: float, threshold: float, name: str, verbose: bool = True) -> None:
    """A score (accuracy, ...) must reach ``threshold``.

    The judge can only check the number the kernel reports, so prefer :func:`assert_accuracy`
    (judged on predictions) for anything that carries points.
    """
    _emit("at_least", name, value, threshold=float(threshold))
    _report(compare_at_least(value, threshold, name), verbose)


def assert_choice(answer: object, options: Iterable[str], name: str) -> str:
    """Format check for a multiple-choice answer: one of ``options`` (case-insensitive).

    Correctness is judged by the grader against the solution's answer."""
    opts = [o.lower() for o in options]
    _emit("choice", name, answer.strip().lower() if type(answer) is str else answer, options=opts)
    if type(answer) is not str:
        raise CheckError(f"{name}: answer with a string, one of {opts}; got {_type_label(answer)}")
    value = answer.strip().lower()
    if value not in opts:
        raise CheckError(f"{name}: {answer!r} is not one of the options {opts}")
    print(f"✓ {name}: answer {value!r} has the right format (whether it is right is checked when your work is graded)")
    return value


def compare_gradients(grads: dict[str, torch.Tensor], reference: dict[str, torch.Tensor],
                      tol: float = 1e-7) -> float:
    """micrograd's ``cmp``: print exact / approximate / max-diff per tensor; fail beyond ``tol``.

    Args:
        grads: name -> hand-computed gradient; reference: name -> autograd gradient.

    Returns:
        the worst relative error.
    """
    _emit("gradients", "gradients", {k: v for k, v in grads.items()} if type(grads) is dict else grads, tol=tol)
    worst, bad = 0.0, []
    # every tensor is compared and printed before failing: a wrong W1 and a wrong b2 show at once
    for key, ref in reference.items():
        if key not in grads:
            raise CheckError(f"gradient for {key!r} is missing (got {sorted(grads)})")
        got = assert_tensor_quiet(grads[key], f"grad {key}", tuple(ref.shape))
        ref = ref.detach().cpu()
        err = rel_error(got, ref)
        diff, where = max_difference(got, ref)
        worst = max(worst, err)
        close = "yes" if err <= tol else "NO"
        print(f"{key:>12s} | within {tol:.0e}: {close:3} | max diff: {diff:.2e} | rel error: {err:.2e}")
        if err > tol:
            bad.append(f"grad {key}: relative error {err:.2e} > {tol:.0e}; max |difference| {diff:.3g} at {where}")
    if bad:
        raise CheckError("; ".join(bad))
    return worst


def assert_tensor_quiet(value: object, name: str, shape: Sequence[int] | None = None) -> torch.Tensor:
    """:func:`assert_tensor` without emitting (for checks that emit the whole value themselves)."""
    problem = tensor_problem(value, name, shape)
    if problem:
        raise CheckError(problem)
    return value.detach().cpu()


def by_hand(cell: str, functions: Sequence[Callable], forbidden: Sequence[str], name: str) -> None:
    """Declare that the exercise in solution cell ``cell`` must not use ``forbidden`` calls.

    In the student's notebook the functions' source is checked here; while grading, the judge
    checks the submitted cell's source itself (the kernel cannot change what it reads).
    """
    _emit("by_hand", name, None, cell=cell, forbidden=list(forbidden))
    for fn in functions:
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            raise CheckError(f"{name}: cannot read the source of {getattr(fn, '__name__', fn)!r}") from None
        label = f"{name} ({getattr(fn, '__name__', '?')})"
        if _is_stub(source):  # still the released stub: nothing to judge yet
            continue
        aliased = _library_aliases(fn, forbidden)
        if aliased:  # e.g. `from torch.nn.functional import relu as r` above the function
            raise CheckError(f"{label}: this exercise is to be written by hand, without {', '.join(forbidden)}; "
                             f"found {', '.join(aliased)}")
        _report(compare_by_hand(source, forbidden, label))


def _is_stub(source: str) -> bool:
    """A function in ``source`` (the function, a method, a closure) still raises the release's
    ``NotImplementedError`` before returning anything (given lines above it are allowed; a leftover
    ``raise`` after a ``return`` is not a stub)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False

    def raises_first(body: list[ast.stmt]) -> bool:
        for statement in body:
            if isinstance(statement, ast.Return):
                return False
            if isinstance(statement, ast.Raise) and statement.exc is not None:
                exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
                if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                    return True
        return False

    # any function inside: methods, and closures such as micrograd's `_backward`
    return any(raises_first(node.body) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


def _code_names(code: types.CodeType) -> set[str]:
    """Global names a function's code uses, its lambdas and nested functions included."""
    return set(code.co_names).union(*(_code_names(c) for c in code.co_consts if isinstance(c, types.CodeType)))


def _library_aliases(fn: Callable, forbidden: Sequence[str]) -> list[str]:
    """Global names ``fn`` uses that are a forbidden library function, under its own name or
    another (imported at the top of the cell, outside the function's own source)."""
    found = []
    code = getattr(fn, "__code__", None)
    for used in sorted(_code_names(code)) if code is not None else ():
        target = getattr(fn, "__globals__", {}).get(used)
        module = getattr(target, "__module__", "") or ""
        # the student's own functions live in __main__; anything else of that name is a library's
        if getattr(target, "__name__", None) in forbidden and callable(target) and module and module != "__main__":
            found.append(f"{used} ({module.split('.')[0]}'s {target.__name__})")
    return found


# hidden checks: no expected value in the kernel; the judge compares with the recorded answer


def expect_close(actual: object, name: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Hidden check: ``actual`` matches the solution's value (recorded at release) within tolerance."""
    _emit("close", name, actual, rtol=rtol, atol=atol)
    _noted(name, actual)


def expect_equal(actual: object, name: str) -> None:
    """Hidden check: ``actual`` equals the solution's value exactly, type included."""
    _emit("equal", name, actual)
    _noted(name, actual)


def expect_scalar(actual: object, name: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Hidden check: a number close to the solution's (recorded at release)."""
    number = _as_number(actual)
    _emit("scalar", name, number if number is not None else actual, rtol=rtol, atol=atol)
    _noted(name, actual)


def _noted(name: str, actual: object) -> None:
    if judging():
        return
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        # nbgrader's own autograde without the judge would pass every hidden check: refuse
        raise CheckError(f"{name}: hidden checks are decided by the judge; grade with `make autograde` "
                         "(or nbgrader with this course's nbgrader_config.py), not a plain nbgrader")
    # an instructor running the solution notebook by hand
    print(f"· {name}: {_type_label(actual)} noted (judged against the recorded solution when graded)")


def short_traceback(tb):
    """``tb`` without the frames inside labkit (the student's own frames stay, the check's
    internals go), so a failing check shows the line of the test cell and the message."""
    import types

    here = os.path.dirname(os.path.abspath(__file__))
    frames = []
    while tb is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(here + os.sep):
            frames.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for frame in reversed(frames):
        rebuilt = types.TracebackType(rebuilt, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return rebuilt


def show_check_errors_briefly() -> None:
    """In IPython, print a :class:`CheckError` with the student's frames only (call once per kernel)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return

    def _handler(self, etype, value, tb, tb_offset=None):
        self.showtraceback((etype, value, short_traceback(tb) or tb), tb_offset=tb_offset)

    shell.set_custom_exc((CheckError,), _handler)
