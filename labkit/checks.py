"""Check helpers for visible and hidden tests.

Every failure says *what* differs: the name, the shapes, the largest difference and
where it is. Types are checked exactly (``type(x) is torch.Tensor``), so a
subclass or an object whose ``__eq__`` always returns True cannot pass a check, and
everything is compared on CPU copies, so a notebook run on a GPU is graded the same.
Passing checks print one line (on stdout: nbgrader zeroes cells that write to stderr).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real

import torch


class CheckError(AssertionError):
    """A check failed; the message explains what differs."""


def _fail(message: str) -> None:
    raise CheckError(message)


def _ok(message: str, verbose: bool) -> None:
    if verbose:
        print(f"✓ {message}")


def assert_tensor(
    value: object,
    name: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Require a plain ``torch.Tensor`` (not a subclass, array or list), optionally shape/dtype.

    Returns:
        the value, detached and moved to the CPU.
    """
    if type(value) is not torch.Tensor:
        _fail(f"{name}: expected a torch.Tensor, got {type(value).__module__}.{type(value).__name__}")
    tensor = value.detach().cpu()
    if shape is not None and tuple(tensor.shape) != tuple(shape):
        _fail(f"{name}: expected shape {tuple(shape)}, got {tuple(tensor.shape)}")
    if dtype is not None and tensor.dtype != dtype:
        _fail(f"{name}: expected dtype {dtype}, got {tensor.dtype}")
    return tensor


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
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), diff.shape))
    return float(diff.reshape(-1)[flat]), index


def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """CS231n's relative error: ``max |a - e| / max(1e-8, |a| + |e|)``."""
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    return float(((a - e).abs() / (a.abs() + e.abs()).clamp(min=1e-8)).max())


def assert_close(
    actual: object,
    expected: torch.Tensor,
    name: str,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    verbose: bool = True,
) -> None:
    """Elementwise ``|actual - expected| <= atol + rtol * |expected|`` with a helpful message."""
    exp = expected.detach().cpu()
    act = assert_tensor(actual, name, shape=tuple(exp.shape))
    if act.is_floating_point() != exp.is_floating_point() and not exp.is_floating_point():
        _fail(f"{name}: expected an integer tensor ({exp.dtype}), got {act.dtype}")
    diff, where = max_difference(act, exp)
    a, e = act.double(), exp.double()
    allowed = atol + rtol * e.abs()
    bad = ~((a - e).abs() <= allowed)
    bad &= ~(torch.isnan(a) & torch.isnan(e))
    bad &= ~(torch.isinf(a) & torch.isinf(e) & (torch.sign(a) == torch.sign(e)))
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0]) if bad.ndim else ()
        got, want = a[first].item() if a.ndim else a.item(), e[first].item() if e.ndim else e.item()
        _fail(
            f"{name}: {int(bad.sum())} of {bad.numel()} values differ (shape {tuple(exp.shape)}); "
            f"max |difference| = {diff:.3g} at index {where}; first mismatch at {first}: "
            f"got {got:.6g}, expected {want:.6g} (tolerance atol={atol:g}, rtol={rtol:g})"
        )
    _ok(f"{name}: shape {tuple(exp.shape)}, max |difference| = {diff:.2e} (atol={atol:g}, rtol={rtol:g})", verbose)


def assert_equal(actual: object, expected: object, name: str, verbose: bool = True) -> None:
    """Exact equality for plain Python values (int, str, tuple, ...), type included."""
    if type(actual) is not type(expected):
        _fail(f"{name}: expected a {type(expected).__name__}, got {type(actual).__name__} ({actual!r})")
    if isinstance(expected, torch.Tensor):
        _fail(f"{name}: use assert_close for tensors")
    if not (expected == actual):  # expected's own __eq__, never the student's
        _fail(f"{name}: expected {expected!r}, got {actual!r}")
    _ok(f"{name} = {expected!r}", verbose)


def assert_scalar(
    actual: object, expected: float, name: str, rtol: float = 1e-6, atol: float = 1e-9, verbose: bool = True
) -> None:
    """A real number (Python int/float, or a 0-d/1-element tensor) close to ``expected``."""
    if isinstance(actual, torch.Tensor) and type(actual) is torch.Tensor and actual.numel() == 1:
        value = float(actual.detach().cpu().reshape(()).item())
    elif type(actual) in (int, float) or (isinstance(actual, Real) and not isinstance(actual, bool)):
        value = float(actual)  # type: ignore[arg-type]
    else:
        _fail(f"{name}: expected a number, got {type(actual).__name__} ({actual!r:.60})")
    if not math.isclose(value, float(expected), rel_tol=rtol, abs_tol=atol):
        _fail(f"{name}: expected {expected:.6g}, got {value:.6g} (|difference| = {abs(value - expected):.3g})")
    _ok(f"{name} = {value:.6g} (expected {expected:.6g})", verbose)


def assert_at_least(value: float, threshold: float, name: str, verbose: bool = True) -> None:
    """A score (accuracy, ...) must reach ``threshold``."""
    if type(value) not in (int, float):
        _fail(f"{name}: expected a float, got {type(value).__name__}")
    if not value >= threshold:
        _fail(f"{name} = {value:.4f}, needs at least {threshold:.4f}")
    _ok(f"{name} = {value:.4f} ≥ {threshold:.4f}", verbose)


def assert_choice(answer: object, options: Iterable[str], name: str) -> str:
    """Format check for a multiple-choice answer: one of ``options`` (case-insensitive)."""
    opts = [o.lower() for o in options]
    if type(answer) is not str:
        _fail(f"{name}: answer with a string, one of {opts}; got {type(answer).__name__}")
    value = answer.strip().lower()
    if value not in opts:
        _fail(f"{name}: {answer!r} is not one of the options {opts}")
    print(f"✓ {name}: answer {value!r} has the right format (correctness is graded by hidden tests)")
    return value


def compare_gradients(
    grads: dict[str, torch.Tensor], reference: dict[str, torch.Tensor], tol: float = 1e-7
) -> float:
    """micrograd's ``cmp``: print exact / approximate / max-diff per tensor; fail beyond ``tol``.

    Args:
        grads: name -> hand-computed gradient; reference: name -> autograd gradient.

    Returns:
        the worst relative error.
    """
    worst = 0.0
    for key, ref in reference.items():
        if key not in grads:
            _fail(f"gradient for {key!r} is missing (got {sorted(grads)})")
        got = assert_tensor(grads[key], f"grad {key}", shape=tuple(ref.shape))
        ref = ref.detach().cpu()
        exact = bool(torch.equal(got.to(ref.dtype), ref))
        err = rel_error(got, ref)
        diff, where = max_difference(got, ref)
        worst = max(worst, err)
        print(f"{key:>12s} | exact: {exact!s:5} | approximate: {err <= tol!s:5} | max diff: {diff:.2e} | rel error: {err:.2e}")
        if err > tol:
            _fail(f"grad {key}: relative error {err:.2e} > {tol:.0e}; max |difference| {diff:.3g} at {where}")
    return worst
