"""Plotting helpers so notebooks show pictures without pasting matplotlib code."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from labkit.training import History


def plot_history(history: History, title: str = "", ax: plt.Axes | None = None) -> plt.Axes:
    """Loss curves (train and, when recorded, validation) against epoch."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    epochs = np.arange(1, history.epochs + 1)
    ax.plot(epochs, history.train_loss, label="train loss")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, label="validation loss")
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    ax.legend()
    return ax


def plot_curves(
    curves: dict[str, Sequence[float]],
    xlabel: str = "step",
    ylabel: str = "value",
    title: str = "",
    logy: bool = False,
    ax: plt.Axes | None = None,
    start: float = 0,
    x: Sequence[float] | None = None,
) -> plt.Axes:
    """Several named curves on one axis (e.g. optimizer losses, gradient norms).

    Args:
        curves: name -> ``(T,)`` values.
        start: the x value of each curve's first point (``start=1`` for epochs counted from 1).
        x: the ``(T,)`` x values themselves, when they are not evenly spaced (e.g. distances
            5, 10, 20, 40); overrides ``start``.
    """
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for name, values in curves.items():
        y = np.asarray(values, dtype=float)
        xs = np.asarray(x, dtype=float) if x is not None else start + np.arange(len(y))
        if len(xs) != len(y):
            raise ValueError(f"plot_curves: curve {name!r} has {len(y)} values but x has {len(xs)}")
        ax.plot(xs, y, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_decision_boundary(
    predict: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    title: str = "",
    resolution: int = 200,
    padding: float = 0.5,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Shade the plane by the predicted class and scatter the data on top.

    Args:
        predict: maps a ``(M, 2)`` float tensor to ``(M,)`` class ids (or scores; > 0.5 → 1).
        x: ``(N, 2)`` points; y: ``(N,)`` labels.
    """
    ax = ax or plt.subplots(figsize=(4.5, 4))[1]
    x_np, y_np = x.detach().cpu().numpy(), y.detach().cpu().numpy()
    lo, hi = x_np.min(axis=0) - padding, x_np.max(axis=0) + padding
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = torch.tensor(np.stack([g0.ravel(), g1.ravel()], axis=1), dtype=torch.float32)
    with torch.no_grad():
        z = predict(grid).detach().cpu().float().numpy().reshape(g0.shape)
    ax.contourf(g0, g1, z, alpha=0.3, cmap="coolwarm", levels=20 if z.dtype.kind == "f" else None)
    ax.scatter(x_np[:, 0], x_np[:, 1], c=y_np, cmap="coolwarm", edgecolors="k", s=18)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    return ax


def show_images(
    images: torch.Tensor, labels: Sequence | None = None, ncols: int = 10, title: str = ""
) -> plt.Figure:
    """A grid of ``(N, 1, H, W)`` or ``(N, H, W)`` grayscale images with optional captions."""
    images = images.detach().cpu()
    if images.ndim == 4:
        images = images[:, 0]
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    # constrained layout keeps the suptitle clear of the first row's captions
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.3 * nrows + 0.3), squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    fig.suptitle(title)
    return fig
