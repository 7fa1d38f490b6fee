"""Synthetic sequence tasks shared by the RNN (Lab 5) and attention (Lab 6) labs."""

from __future__ import annotations

import torch


def memory_probe(
    n: int, distance: int, n_classes: int = 4, vocab_size: int = 12, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Long-range memory probe: the label is the token ``distance`` steps before the end.

    Each sequence has length ``distance + 1``. Position 0 holds the signal token, a class
    id in ``[0, n_classes)``; the remaining ``distance`` positions hold distractor tokens
    drawn from ``[n_classes, vocab_size)``. A model reading left to right must carry the
    first token across ``distance`` steps to predict the label.

    Returns:
        tokens: ``(n, distance + 1)`` int64; labels: ``(n,)`` int64 in ``[0, n_classes)``.
    """
    if distance < 1:
        raise ValueError(f"distance must be at least 1, got {distance}")
    if vocab_size <= n_classes:
        raise ValueError(f"vocab_size ({vocab_size}) must exceed n_classes ({n_classes})")
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, n_classes, (n,), generator=gen)
    distractors = torch.randint(n_classes, vocab_size, (n, distance), generator=gen)
    return torch.cat([labels[:, None], distractors], dim=1), labels
