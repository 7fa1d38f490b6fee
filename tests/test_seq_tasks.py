"""Unit tests for labkit.seq_tasks (Lab 6's sequence tasks, trainer and attention plots)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from labkit import seq_tasks  # noqa: E402


def test_reversal_task_is_seeded_and_reversed():
    x, y = seq_tasks.reversal_task(50, length=7, vocab_size=5, seed=3)
    assert x.shape == y.shape == (50, 7) and x.dtype == torch.int64
    assert int(x.min()) >= 0 and int(x.max()) < 5
    assert torch.equal(y, x.flip(1))
    x2, _ = seq_tasks.reversal_task(50, length=7, vocab_size=5, seed=3)
    x3, _ = seq_tasks.reversal_task(50, length=7, vocab_size=5, seed=4)
    assert torch.equal(x, x2) and not torch.equal(x, x3)


def test_sorting_task_sorts_each_row():
    x, y = seq_tasks.sorting_task(40, length=6, vocab_size=9, seed=0)
    assert y.shape == (40, 6)
    assert bool((y[:, 1:] >= y[:, :-1]).all())
    assert torch.equal(torch.sort(x, dim=1).values, y)
    # same multiset of tokens in every row
    assert torch.equal(torch.bincount((x + 9 * torch.arange(40)[:, None]).flatten(), minlength=360),
                       torch.bincount((y + 9 * torch.arange(40)[:, None]).flatten(), minlength=360))


@pytest.mark.parametrize("kwargs", [dict(n=0, length=3), dict(n=3, length=0), dict(n=3, length=3, vocab_size=1)])
def test_bad_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError):
        seq_tasks.reversal_task(**kwargs)


class _CopyModel(nn.Module):
    """Per-position classifier that only sees its own token: can learn copying, not reversal."""

    def __init__(self, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, vocab)

    def forward(self, tokens):
        return self.embed(tokens), None  # also exercise the (logits, extra) tuple form


def test_train_tokens_learns_copying_and_accuracy_is_right():
    torch.manual_seed(0)
    x = torch.randint(0, 6, (300, 5))
    model = _CopyModel(6)
    losses = seq_tasks.train_tokens(model, x, x, epochs=30, lr=0.1, batch_size=64)
    assert len(losses) == 30 and losses[-1] < losses[0]
    token_acc, seq_acc = seq_tasks.token_accuracy(model, x, x)
    assert token_acc == 1.0 and seq_acc == 1.0
    # reversal is impossible for it: accuracy is well below 1
    token_acc, _ = seq_tasks.token_accuracy(model, x, x.flip(1))
    assert token_acc < 0.5


def test_token_accuracy_counts_positions_and_sequences():
    class Fixed(nn.Module):
        def forward(self, tokens):
            return nn.functional.one_hot(torch.zeros_like(tokens), 3).float()  # always predicts 0

    y = torch.tensor([[0, 0], [0, 1]])
    token_acc, seq_acc = seq_tasks.token_accuracy(Fixed(), y, y)
    assert token_acc == pytest.approx(0.75) and seq_acc == pytest.approx(0.5)


def test_wrong_logit_shape_is_reported():
    class Pooled(nn.Module):
        def forward(self, tokens):
            return torch.zeros(tokens.shape[0], 4)

    with pytest.raises(ValueError, match="logits"):
        seq_tasks.token_accuracy(Pooled(), torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))


def test_plot_attention_one_map_and_heads():
    fig = seq_tasks.plot_attention(torch.eye(4).flip(1), query_labels=list("abcd"), key_labels=list("wxyz"), title="t")
    assert len([a for a in fig.axes if a.get_title() == "t"]) == 1
    plt.close(fig)
    fig = seq_tasks.plot_attention(torch.rand(3, 4, 5), title="h")
    assert sorted(a.get_title() for a in fig.axes if a.get_title()) == ["h head 0", "h head 1", "h head 2"]
    plt.close(fig)
    _, ax = plt.subplots()
    assert seq_tasks.plot_attention(torch.rand(2, 2), ax=ax) is ax.figure
    plt.close(ax.figure)
    with pytest.raises(ValueError):
        seq_tasks.plot_attention(torch.rand(2, 2, 2, 2))
