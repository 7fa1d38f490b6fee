"""2-D test surfaces for optimizers, their trajectories, and pictures of search points.

Every surface maps a ``(..., 2)`` tensor to a ``(...)`` tensor, so the same function
evaluates one point during optimisation and a whole grid for a contour plot::

    traj = run_trajectory(lambda p: torch.optim.SGD(p, lr=0.1), ill_conditioned, start=(-4.0, 1.5), steps=50)
    plot_trajectories(ill_conditioned, {"SGD": traj}, xlim=(-5, 5), ylim=(-2, 2))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch


def ill_conditioned(x: torch.Tensor) -> torch.Tensor:
    """The lecture's ravine ``0.1·x1² + 2·x2²``: curvature 0.2 along x1, 4 along x2 (condition number 20)."""
    return 0.1 * x[..., 0] ** 2 + 2.0 * x[..., 1] ** 2


def rosenbrock(x: torch.Tensor, a: float = 1.0, b: float = 100.0) -> torch.Tensor:
    """Rosenbrock's banana valley ``(a − x1)² + b (x2 − x1²)²``, minimum 0 at ``(a, a²)``."""
    return (a - x[..., 0]) ** 2 + b * (x[..., 1] - x[..., 0] ** 2) ** 2


def saddle(x: torch.Tensor) -> torch.Tensor:
    """``0.5·x1² − 0.5·x2² + 0.25·x2⁴``: a saddle at the origin, minima −0.25 at ``(0, ±1)``."""
    return 0.5 * x[..., 0] ** 2 - 0.5 * x[..., 1] ** 2 + 0.25 * x[..., 1] ** 4


@dataclass(frozen=True)
class Surface:
    """A named surface with a start point and a plotting window."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum: tuple[float, float]
    log_levels: bool = False


SURFACES = {
    "ill_conditioned": Surface("ill-conditioned quadratic 0.1·x1² + 2·x2²", ill_conditioned, (-4.5, 1.2),
                               (-5.0, 5.0), (-1.6, 1.6), (0.0, 0.0)),
    "rosenbrock": Surface("Rosenbrock valley", rosenbrock, (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), (1.0, 1.0),
                          log_levels=True),
    "saddle": Surface("saddle 0.5·x1² − 0.5·x2² + 0.25·x2⁴", saddle, (-1.5, 1e-3), (-2.0, 2.0), (-1.6, 1.6),
                      (0.0, 1.0)),
}


def run_trajectory(
    make_optimizer: Callable[[list[torch.Tensor]], object],
    fn: Callable[[torch.Tensor], torch.Tensor],
    start: Sequence[float],
    steps: int,
    max_abs: float = 1e6,
) -> torch.Tensor:
    """Minimise ``fn`` from ``start`` with an optimizer and record every point.

    Args:
        make_optimizer: called with ``[point]`` (one float64 leaf tensor of shape ``(2,)``); returns an
            object with ``zero_grad()`` and ``step()`` (a ``torch.optim`` optimizer or a lab's own class).
        fn: a surface, ``(..., 2) -> (...)``.
        start: the initial point.
        steps: number of optimizer steps.
        max_abs: stop early (and keep what was recorded) once a coordinate exceeds this: divergence.

    Returns:
        ``(steps + 1, 2)`` float64 tensor of visited points, start included (fewer rows if it diverged).
    """
    point = torch.tensor([float(v) for v in start], dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([point])
    path = [point.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        fn(point).backward()
        optimizer.step()
        current = point.detach().clone()
        path.append(current)
        if not bool(torch.isfinite(current).all()) or float(current.abs().max()) > max_abs:
            break
    return torch.stack(path)


def plot_trajectories(
    fn: Callable[[torch.Tensor], torch.Tensor],
    trajectories: dict[str, torch.Tensor],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    title: str = "",
    log_levels: bool = False,
    minimum: Sequence[float] | None = None,
    resolution: int = 200,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Contours of ``fn`` with one line of points per optimizer.

    Args:
        trajectories: name -> ``(T, 2)`` tensor of points (as returned by :func:`run_trajectory`).
        log_levels: space the contour levels logarithmically (for steep valleys such as Rosenbrock).
        minimum: mark this point with a star.
    """
    ax = ax or plt.subplots(figsize=(5.5, 4))[1]
    g0, g1 = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    grid = torch.tensor(np.stack([g0, g1], axis=-1), dtype=torch.float64)
    with torch.no_grad():
        z = fn(grid).numpy()
    if log_levels:
        levels = np.geomspace(max(z.min(), 1e-3), z.max(), 20) if z.max() > 0 else 20
        ax.contour(g0, g1, np.maximum(z, 1e-3), levels=levels, cmap="viridis", linewidths=0.6)
    else:
        ax.contour(g0, g1, z, levels=25, cmap="viridis", linewidths=0.6)
    for name, path in trajectories.items():
        p = path.detach().cpu().double().numpy()
        ax.plot(p[:, 0], p[:, 1], ".-", markersize=3, linewidth=1, label=name)
    if minimum is not None:
        ax.plot([minimum[0]], [minimum[1]], "k*", markersize=10)
    ax.set(xlim=xlim, ylim=ylim, xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.legend(fontsize=7)
    return ax


def plot_search_points(
    trials: Sequence[tuple[dict[str, float], float]],
    x_name: str,
    y_name: str,
    title: str = "",
    log: bool = True,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Every configuration a hyper-parameter search tried, coloured by its score (lower is better).

    Args:
        trials: ``(config, value)`` pairs in evaluation order; ``config[x_name]`` and ``config[y_name]`` are
            the plotted coordinates. The best trial gets a red ring; each point is numbered in order.
    """
    ax = ax or plt.subplots(figsize=(4.5, 4))[1]
    xs = np.array([float(c[x_name]) for c, _ in trials])
    ys = np.array([float(c[y_name]) for c, _ in trials])
    vs = np.array([float(v) for _, v in trials])
    shown = np.where(np.isfinite(vs), vs, np.nanmax(np.where(np.isfinite(vs), vs, np.nan)) if np.isfinite(vs).any() else 0)
    points = ax.scatter(xs, ys, c=shown, cmap="viridis_r", edgecolors="k", s=40)
    for i, (x, y) in enumerate(zip(xs, ys)):
        ax.annotate(str(i + 1), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if len(vs):
        best = int(np.nanargmin(np.where(np.isfinite(vs), vs, np.inf)))
        ax.scatter([xs[best]], [ys[best]], s=160, facecolors="none", edgecolors="r", linewidths=2)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set(xlabel=x_name, ylabel=y_name, title=title)
    plt.colorbar(points, ax=ax, label="score (lower is better)")
    return ax
