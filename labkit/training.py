"""A small, readable training loop shared by the labs.

``fit`` trains any ``nn.Module`` with any optimizer and loss, shows a tqdm progress
bar to students, stays silent under nbgrader (a progress bar writes to stderr, and
nbgrader zeroes test cells that write to stderr), and returns a :class:`History`
ready for :func:`labkit.plotting.plot_history`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

QUIET_ENV = "LABKIT_QUIET"


def is_autograding() -> bool:
    """True while nbgrader executes the notebook (autograde or validate) or LABKIT_QUIET=1."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get(QUIET_ENV) == "1"


def progress(iterable: Iterable, **kwargs) -> Iterable:
    """Wrap ``iterable`` in a tqdm bar for students; return it unchanged under autograde."""
    if is_autograding():
        return iterable
    try:
        import ipywidgets  # noqa: F401  (tqdm.auto needs widgets for the notebook bar)
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    return tqdm(iterable, **kwargs)


@dataclass
class History:
    """Per-epoch metrics recorded by :func:`fit` (lists of floats, one entry per epoch)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def best_epoch(self) -> int:
        """Index of the epoch with the lowest validation loss (train loss if no validation)."""
        losses = self.val_loss or self.train_loss
        return min(range(len(losses)), key=losses.__getitem__)


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of correct predictions.

    Args:
        logits: ``(N, C)`` class scores, or ``(N,)`` / ``(N, 1)`` binary logits (positive = 1).
        targets: ``(N,)`` integer classes or {0, 1} floats.
    """
    if logits.ndim == 2 and logits.shape[1] > 1:
        predicted = logits.argmax(dim=1)
    else:
        predicted = (logits.reshape(-1) > 0).long()
    return (predicted.cpu() == targets.reshape(-1).long().cpu()).float().mean().item()


def make_loader(
    dataset: Dataset, batch_size: int = 64, shuffle: bool = True, seed: int = 0
) -> DataLoader:
    """A DataLoader whose shuffling order depends only on ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def _loss_target(loss_fn: Callable, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # BCEWithLogits wants float targets shaped like the logits; CrossEntropy wants class ids.
    if isinstance(loss_fn, nn.BCEWithLogitsLoss | nn.BCELoss | nn.MSELoss):
        return loss_fn(logits, y.float().reshape(logits.shape))
    return loss_fn(logits, y)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable,
    device: torch.device | str = "cpu",
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader`` (model put in eval mode)."""
    was_training = model.training
    model.eval()
    total_loss, total_correct, total = 0.0, 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        total_loss += _loss_target(loss_fn, logits, y).item() * len(x)
        total_correct += accuracy(logits, y) * len(x)
        total += len(x)
    model.train(was_training)
    return total_loss / total, total_correct / total


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: DataLoader | None = None,
    device: torch.device | str = "cpu",
    desc: str = "training",
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Each batch ``(x, y)`` is moved to ``device``; ``loss_fn(model(x), y)`` is minimised.
    Train metrics are averaged over the epoch's batches (as the model changes);
    validation metrics are measured after the epoch with the model in eval mode.
    """
    model.to(device)
    history = History()
    bar = progress(range(epochs), desc=desc, unit="epoch")
    for _ in bar:
        model.train()
        total_loss, total_correct, total = 0.0, 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            logits = model(x)
            loss = _loss_target(loss_fn, logits, y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(x)
            total_correct += accuracy(logits.detach(), y) * len(x)
            total += len(x)
        history.train_loss.append(total_loss / total)
        history.train_acc.append(total_correct / total)
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}")
    return history
