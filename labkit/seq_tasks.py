"""Token-sequence tasks for the attention lab (Lab 6): data, a small trainer, attention pictures.

* :func:`reversal_task` / :func:`sorting_task`: seeded sequence-to-sequence data sets
  (the target has one token per input position).
* :func:`train_tokens` / :func:`token_accuracy`: train and score any model that maps
  ``(N, L)`` int64 tokens to ``(N, L, V)`` logits (``labkit.fit`` expects one label per
  example, these expect one per position).
* :func:`plot_attention`: heat maps of one attention matrix or one per head.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.training import progress


def _random_tokens(n: int, length: int, vocab_size: int, seed: int) -> torch.Tensor:
    if n < 1 or length < 1:
        raise ValueError(f"need n >= 1 and length >= 1, got n={n}, length={length}")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (n, length), generator=gen)


def reversal_task(n: int, length: int = 10, vocab_size: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Reverse a sequence: ``y[:, i] = x[:, length - 1 - i]``.

    Returns:
        x: ``(n, length)`` int64 tokens uniform in ``[0, vocab_size)``; y: ``x`` flipped, same shape.
    """
    x = _random_tokens(n, length, vocab_size, seed)
    return x, x.flip(1)


def sorting_task(n: int, length: int = 10, vocab_size: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort a sequence in ascending order (ties kept).

    Returns:
        x: ``(n, length)`` int64 tokens uniform in ``[0, vocab_size)``; y: each row of ``x`` sorted.
    """
    x = _random_tokens(n, length, vocab_size, seed)
    return x, x.sort(dim=1).values


def _logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if isinstance(out, tuple):  # models that also return attention weights
        out = out[0]
    if out.ndim != 3 or out.shape[:2] != x.shape:
        raise ValueError(f"model must map tokens {tuple(x.shape)} to logits (N, L, V), got {tuple(out.shape)}")
    return out


def train_tokens(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int = 10,
    lr: float = 3e-3,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> list[float]:
    """Train a per-position classifier with Adam and cross-entropy over every position.

    Args:
        model: maps ``(B, L)`` int64 tokens to ``(B, L, V)`` logits (or a tuple whose first
            item is those logits).
        x, y: ``(N, L)`` int64 inputs and targets.
        seed: fixes the shuffling order.

    Returns:
        the mean training loss of each epoch.
    """
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in progress(range(epochs), desc="training", unit="epoch"):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total, count = 0.0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            optimizer.zero_grad()
            logits = _logits_of(model, xb)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1))
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            count += len(idx)
        losses.append(total / count)
    return losses


@torch.no_grad()
def token_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device | str = "cpu"
) -> tuple[float, float]:
    """Per-token and whole-sequence accuracy of a per-position classifier (eval mode).

    Returns:
        (fraction of positions predicted right, fraction of sequences entirely right), floats.
    """
    was_training = model.training
    model.eval()
    predicted = _logits_of(model, x.to(device)).argmax(-1).cpu()
    model.train(was_training)
    right = predicted == y.cpu()
    return right.float().mean().item(), right.all(dim=1).float().mean().item()


def plot_attention(
    weights: torch.Tensor,
    query_labels: Sequence | None = None,
    key_labels: Sequence | None = None,
    title: str = "",
    xlabel: str = "key position",
    ylabel: str = "query position",
    cmap: str = "viridis",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Heat map(s) of attention weights.

    Args:
        weights: ``(Lq, Lk)`` one map, or ``(H, Lq, Lk)`` one panel per head (ignores ``ax``).
            Any 2-D matrix works too (e.g. a positional encoding, with other axis labels).
        query_labels / key_labels: tick labels for rows / columns (e.g. the tokens).
    """
    w = weights.detach().cpu().float()
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(f"weights must be (Lq, Lk) or (H, Lq, Lk), got shape {tuple(weights.shape)}")
    heads = w.shape[0]
    if heads == 1 and ax is not None:
        axes = np.array([ax])
        fig = ax.figure
    else:
        fig, axes = plt.subplots(1, heads, figsize=(3.6 * heads, 3.4), squeeze=False)
        axes = axes[0]
    for h, a in enumerate(axes):
        image = a.imshow(w[h].numpy(), cmap=cmap, aspect="auto")
        if query_labels is not None:
            a.set_yticks(range(len(query_labels)), [str(t) for t in query_labels])
        if key_labels is not None:
            a.set_xticks(range(len(key_labels)), [str(t) for t in key_labels])
        a.set(xlabel=xlabel, ylabel=ylabel, title=f"{title} head {h}" if heads > 1 else title)
        fig.colorbar(image, ax=a, fraction=0.046)
    fig.tight_layout()
    return fig
