# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 5 — Recurrent networks and the LSTM
#
# **Total: 31 points** — 28 autograded (visible checks + hidden tests) and 3 for one written answer graded by your TA. Hidden tests are decided by the course's *judge*: when your TA grades, your functions run on fresh
# inputs and the values they return are compared with the solution's, outside your notebook.
#
# The lecture's three reviews make the point of this lab:
#
# * "I love this car!" — positive;
# * "I am not sure I love this car!" — negative;
# * "I don't think it's a bad car at all!" — positive.
#
# The same sentiment word means opposite things depending on what came *before* it. A model that reads a
# sentence word by word has to carry that context along in a **state** (a vector it updates after every word and
# passes on to the next step). You will
#
# 1. write a vanilla RNN (`a_t = b + W s_{t−1} + U x_t`, `s_t = tanh(a_t)`, `o_t = c + V s_t`) unrolled by hand,
#    and check it against PyTorch's `nn.RNN` with the same weights copied in;
# 2. write an **LSTM cell** (forget, input, output gates, candidate, cell state) and check it against `nn.LSTMCell`
#    and `nn.LSTM`;
# 3. derive **backpropagation through time** for the RNN (the gradient reaching an early state is a product of one
#    Jacobian per step), measure how it vanishes or explodes depending on the recurrent weights, see why the LSTM's
#    cell state helps, and implement **gradient clipping**;
# 4. build the data pipeline for variable-length text (padding, lengths, masks), compare with a **bag-of-words**
#    baseline on reviews with negation, and report accuracy per subset;
# 5. plot accuracy against distance on a **long-range memory probe** (a task whose label is the first token of a
#    sequence, followed by `distance` random tokens: the model must remember it that long) for the RNN and the LSTM;
# 6. sample completions from a small **character-level LSTM** language model with a temperature.
#
# **How to work.** Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
# The cell after each exercise is a *visible check*: it prints `✓ ...` lines when you are right and a specific
# message when something differs. Hidden tests with other sizes and values are added when your TA grades,
# so make your code correct in general (any batch size, sizes that differ from each other, any padding id where a function takes one).
# Where an exercise says *by hand*, the check also reads your code: the library function that does the same job
# (named in the exercise) must not be called there. Do not rename, copy or delete cells. The notebook runs in about
# a minute on a laptop CPU.
#
# **Words used throughout.** A *batch* is `B` sequences processed together; *batch first* means tensors are shaped
# `(B, T, features)` with time `t = 1 … T` on the second axis (index `t − 1` in Python). *Unrolling* a recurrent
# network means writing the loop over the `T` time steps explicitly. An *epoch* is one pass over the training set;
# epochs and steps are counted from 1.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import matplotlib.pyplot as plt
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

import labkit
import labkit.text
from labkit.checks import (assert_accuracy, assert_choice, assert_close, assert_equal, assert_scalar, assert_tensor,
                           by_hand, expect_close, expect_equal, expect_scalar)
from labkit.sequences import memory_probe

device = labkit.setup_lab(seed=0)
if device.type == "cpu":
    torch.set_num_threads(1)  # small recurrent nets are dominated by per-step overhead: one thread is fastest


# %% [markdown]
# ## 1. A vanilla RNN, unrolled by hand
#
# The lecture's recurrent network reads inputs `x_1, …, x_T` and keeps a state `s_t`, starting from a given `s_0`:
#
# `a_t = b + W s_{t−1} + U x_t`,  `s_t = tanh(a_t)`,  `o_t = c + V s_t`.
#
# The same `U, W, V, b, c` are used at every step (*parameter sharing*). We process a batch of `B` sequences at
# once, batch first: `x` has shape `(B, T, D)` (`D` input features), the state has `H` entries and the output `O`.
# With PyTorch's convention a weight matrix of shape `(out, in)` acts on a batch of row vectors as `x @ U.T`.
# Write the loop over time: the state computed at step `t` is the `s_{t−1}` of step `t + 1`, and every call starts
# again from the `s0` it is given.
#
# The check copies the weights of an `nn.RNN` (`weight_ih_l0` is `U`, `weight_hh_l0` is `W`; PyTorch keeps two bias
# vectors that are always added, so `b = bias_ih_l0 + bias_hh_l0`) and of an `nn.Linear` read-out (`V`, `c`) into
# your function and compares the states and outputs: with biases and with `bias=False` (zero `b` and `c`), with
# `D ≠ H ≠ O`, for a sequence of length 1, and for a sequence read in two parts.

# %% nbgrader={"grade": false, "grade_id": "rnn_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rnn_forward(x, s0, U, W, b, V, c):
    """Unrolled vanilla RNN.

    Args:
        x: (B, T, D) inputs; s0: (B, H) initial state.
        U: (H, D) input weights; W: (H, H) recurrent weights; b: (H,) bias.
        V: (O, H) output weights; c: (O,) output bias.

    Returns:
        o: (B, T, O) outputs o_1..o_T; s: (B, T, H) states s_1..s_T (s0 is not included).
    """
    ### BEGIN SOLUTION
    states = []
    s = s0
    for t in range(x.shape[1]):
        a = b + s @ W.T + x[:, t] @ U.T
        s = torch.tanh(a)
        states.append(s)
    s_all = torch.stack(states, dim=1)
    return c + s_all @ V.T, s_all
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rnn_forward", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
def pinned_rnn(D, H, O, seed, bias=True):
    """nn.RNN and an nn.Linear read-out with fixed weights from a private generator (your code is graded, not an
    initialisation), and the same weights as rnn_forward's arguments (U, W, b, V, c)."""
    g = torch.Generator().manual_seed(seed)
    rnn, head = nn.RNN(D, H, batch_first=True, bias=bias), nn.Linear(H, O, bias=bias)
    with torch.no_grad():
        for p in [*rnn.parameters(), *head.parameters()]:
            p.copy_(0.6 * torch.randn(p.shape, generator=g))
        # nn.RNN keeps two bias vectors (b_ih, b_hh) that are always added together: b = b_ih + b_hh
        b = rnn.bias_ih_l0 + rnn.bias_hh_l0 if bias else torch.zeros(H)
        c = head.bias.clone() if bias else torch.zeros(O)
    return rnn, head, (rnn.weight_ih_l0.detach().clone(), rnn.weight_hh_l0.detach().clone(), b, head.weight.detach().clone(), c)


def check_rnn_forward(B, T, D, H, O, seed, label, bias=True):
    g = torch.Generator().manual_seed(seed + 1)
    rnn, head, weights = pinned_rnn(D, H, O, seed, bias)
    x, s0 = torch.randn(B, T, D, generator=g), torch.randn(B, H, generator=g)
    with torch.no_grad():
        s_ref, _ = rnn(x, s0[None])
        o_ref = head(s_ref)
        o, s = rnn_forward(x.clone(), s0.clone(), *weights)
    assert_tensor(s, f"states s ({label})", shape=(B, T, H))
    assert_tensor(o, f"outputs o ({label})", shape=(B, T, O))
    assert_close(s, s_ref, f"states s ({label})", atol=1e-5, rtol=1e-4)
    assert_close(o, o_ref, f"outputs o ({label})", atol=1e-5, rtol=1e-4)
    return x, s0, weights, o, s


by_hand("rnn_forward", [rnn_forward], forbidden=("RNN", "RNNCell", "rnn_tanh", "rnn_tanh_cell", "LSTM", "GRU"),
        name="rnn_forward by hand")
# batch of 3, input size 4 != state size 6 != output size 2, five time steps, both biases
x_, s0_, w_, o_, s_ = check_rnn_forward(B=3, T=5, D=4, H=6, O=2, seed=0, label="B=3, T=5, D=4, H=6, O=2")
check_rnn_forward(B=2, T=4, D=5, H=3, O=3, seed=1, label="bias=False, B=2, T=4, D=5, H=3")
check_rnn_forward(B=4, T=1, D=2, H=3, O=1, seed=2, label="a sequence of length 1")
# the state is carried across steps: reading steps 1-2, then steps 3-5 from the state s_2, gives the same states
with torch.no_grad():
    _, s_a = rnn_forward(x_[:, :2].clone(), s0_.clone(), *w_)
    _, s_b = rnn_forward(x_[:, 2:].clone(), s_a[:, -1].clone(), *w_)
    assert_close(torch.cat([s_a, s_b], dim=1), s_, "states when the sequence is read in two parts (s_2 carried over)",
                 atol=1e-5, rtol=1e-4)
    # ... and restarts from s0 for every new call: a second call on the same batch gives the same outputs
    o_again, _ = rnn_forward(x_.clone(), s0_.clone(), *w_)
    assert_close(o_again, o_, "outputs of a second call on the same batch (nothing kept between calls)", atol=1e-6)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5100)
for _B, _T, _D, _H, _O in [(1, 9, 3, 5, 4), (7, 2, 8, 3, 1), (4, 13, 5, 11, 3), (2, 1, 6, 2, 5)]:
    _U, _W = 0.6 * torch.randn(_H, _D, generator=_g), 0.6 * torch.randn(_H, _H, generator=_g)
    _b, _V, _c = 0.6 * torch.randn(_H, generator=_g), 0.6 * torch.randn(_O, _H, generator=_g), torch.randn(_O, generator=_g)
    _x, _s0 = torch.randn(_B, _T, _D, generator=_g), torch.randn(_B, _H, generator=_g)
    for _run in range(2):  # the second call must not remember the first
        _o, _s = rnn_forward(_x.clone(), _s0.clone(), _U.clone(), _W.clone(), _b.clone(), _V.clone(), _c.clone())
        expect_close(_s, f"hidden states {(_B, _T, _D, _H, _O)} call {_run + 1}", atol=1e-5, rtol=1e-4)
        expect_close(_o, f"hidden outputs {(_B, _T, _D, _H, _O)} call {_run + 1}", atol=1e-5, rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. An LSTM cell
#
# The LSTM keeps a second state, the **cell state** `c_t`, next to the hidden state `h_t`, and controls it with
# **gates**: vectors of numbers between 0 and 1 (outputs of the sigmoid `σ(z) = 1 / (1 + e^{−z})`) that multiply
# another vector entry by entry (`⊙`). As in the lecture, each gate has its own weights (shown for one sequence,
# column vectors):
#
# `i = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)` (input gate), `f = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)`
# (forget gate), `g = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)` (candidate), `o = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)`
# (output gate), then `c_t = f ⊙ c_{t−1} + i ⊙ g` and `h_t = o ⊙ tanh(c_t)`.
#
# The forget gate decides what to keep of the old memory `c_{t−1}`, the input gate how much of the candidate to
# write, the output gate what to show as `h_t`. Note that `c_t` is updated by *addition*, not by a matrix product.
#
# PyTorch does not keep sixteen separate tensors: it stacks the four gates' matrices on top of each other in the
# order **i, f, g, o**, so `W_ih` (shape `(4H, D)`) is `W_ii` (rows `0 … H−1`) above `W_if`, `W_ig`, `W_io`; `W_hh`
# (`(4H, H)`), `b_ih` and `b_hh` (`(4H,)`) are stacked the same way. Your part: work out how to get all four gates'
# pre-activations (the sums inside σ and tanh) for the whole batch with **one** matrix product per weight matrix
# (batch of row vectors, as in section 1), and how to split the result back into the four gates in that order.
# Write it **by hand**: `nn.LSTMCell`, `nn.LSTM` and `torch.lstm_cell` are not allowed in this cell. The check copies
# the weights of an `nn.LSTMCell` (one step) and of an `nn.LSTM` (several steps, the pair `(h, c)` carried from one step
# to the next, then a new sequence started from zero states) into your cell, with batches of several sequences,
# `D ≠ H`, with and without biases, and for a sequence of length 1.

# %% nbgrader={"grade": false, "grade_id": "lstm_cell", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step, written by hand, with the gates in nn.LSTM's order i, f, g, o
    (input gate, forget gate, candidate, output gate).

    Args:
        x: (B, D) input; h: (B, H) previous hidden state; c: (B, H) previous cell state.
        W_ih: (4H, D); W_hh: (4H, H); b_ih: (4H,); b_hh: (4H,).

    Returns:
        h_new: (B, H); c_new: (B, H).
    """
    ### BEGIN SOLUTION
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return h_new, c_new
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lstm_cell", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
def pinned_lstm(D, H, seed, bias=True):
    """nn.LSTM with fixed weights from a private generator, and the same weights as lstm_cell's arguments."""
    g = torch.Generator().manual_seed(seed)
    lstm = nn.LSTM(D, H, batch_first=True, bias=bias)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(0.7 * torch.randn(p.shape, generator=g))
    zeros = torch.zeros(4 * H)
    weights = [lstm.weight_ih_l0, lstm.weight_hh_l0] + ([lstm.bias_ih_l0, lstm.bias_hh_l0] if bias else [zeros, zeros])
    return lstm, [w.detach().clone() for w in weights]


def run_cells(x, h, c, weights):
    """Your lstm_cell applied at every step of x (B, T, D), carrying (h, c) from one step to the next."""
    for t in range(x.shape[1]):
        h, c = lstm_cell(x[:, t].clone(), h, c, *[w.clone() for w in weights])
    return h, c


def check_lstm(B, T, D, H, seed, label, bias=True):
    g = torch.Generator().manual_seed(seed + 1)
    lstm, weights = pinned_lstm(D, H, seed, bias)
    x = torch.randn(B, T, D, generator=g)
    h0, c0 = torch.randn(B, H, generator=g), torch.randn(B, H, generator=g)
    with torch.no_grad():
        out_ref, (h_ref, c_ref) = lstm(x, (h0[None], c0[None]))
        h1, c1 = lstm_cell(x[:, 0].clone(), h0.clone(), c0.clone(), *[w.clone() for w in weights])
        assert_tensor(h1, f"h after one step ({label})", shape=(B, H))
        assert_tensor(c1, f"c after one step ({label})", shape=(B, H))
        assert_close(h1, out_ref[:, 0], f"h after one step ({label})", atol=1e-5, rtol=1e-4)
        h, c = run_cells(x, h0.clone(), c0.clone(), weights)
        assert_close(h, h_ref[0], f"h after {T} steps, state carried ({label})", atol=1e-5, rtol=1e-4)
        assert_close(c, c_ref[0], f"c after {T} steps, state carried ({label})", atol=1e-5, rtol=1e-4)
        # a new sequence starts again from zero states, as nn.LSTM does when no state is given
        x2 = torch.randn(B, T, D, generator=g)
        _, (h2_ref, c2_ref) = lstm(x2)
        h2, c2 = run_cells(x2, torch.zeros(B, H), torch.zeros(B, H), weights)
        assert_close(h2, h2_ref[0], f"h of a second sequence started from zero states ({label})", atol=1e-5, rtol=1e-4)
        assert_close(c2, c2_ref[0], f"c of a second sequence started from zero states ({label})", atol=1e-5, rtol=1e-4)


by_hand("lstm_cell", [lstm_cell], forbidden=("LSTMCell", "LSTM", "lstm_cell", "lstm", "RNN", "RNNCell", "GRU", "GRUCell"),
        name="lstm_cell by hand")
# one step against nn.LSTMCell (the same weights copied in; gate order i, f, g, o), batch of 3, D=4 != H=5
_g = torch.Generator().manual_seed(10)
_cell = nn.LSTMCell(4, 5)
with torch.no_grad():
    for _p in _cell.parameters():
        _p.copy_(0.7 * torch.randn(_p.shape, generator=_g))
    _x, _h, _c = torch.randn(3, 4, generator=_g), torch.randn(3, 5, generator=_g), torch.randn(3, 5, generator=_g)
    _h_ref, _c_ref = _cell(_x, (_h, _c))
    _h1, _c1 = lstm_cell(_x.clone(), _h.clone(), _c.clone(), *[p.detach().clone() for p in
                                                               (_cell.weight_ih, _cell.weight_hh, _cell.bias_ih, _cell.bias_hh)])
assert_tensor(_h1, "h (one step vs nn.LSTMCell)", shape=(3, 5))
assert_tensor(_c1, "c (one step vs nn.LSTMCell)", shape=(3, 5))
assert_close(_h1, _h_ref, "h (one step vs nn.LSTMCell)", atol=1e-5, rtol=1e-4)
assert_close(_c1, _c_ref, "c (one step vs nn.LSTMCell)", atol=1e-5, rtol=1e-4)
# several steps against nn.LSTM: the state (h, c) is carried from step to step, then reset for a new sequence
check_lstm(B=2, T=4, D=3, H=5, seed=1, label="B=2, D=3, H=5")
check_lstm(B=3, T=3, D=6, H=2, seed=2, label="bias=False, B=3, D=6, H=2", bias=False)
check_lstm(B=4, T=1, D=2, H=3, seed=3, label="a sequence of length 1")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5200)
for _B, _T, _D, _H in [(5, 7, 2, 3), (1, 3, 6, 8), (3, 11, 4, 1)]:
    _W_ih, _W_hh = 0.7 * torch.randn(4 * _H, _D, generator=_g), 0.7 * torch.randn(4 * _H, _H, generator=_g)
    _b_ih, _b_hh = 0.7 * torch.randn(4 * _H, generator=_g), 0.7 * torch.randn(4 * _H, generator=_g)
    _x = torch.randn(_B, _T, _D, generator=_g)
    _h, _c = torch.randn(_B, _H, generator=_g), torch.randn(_B, _H, generator=_g)
    for _t in range(_T):
        _h, _c = lstm_cell(_x[:, _t].clone(), _h, _c, _W_ih.clone(), _W_hh.clone(), _b_ih.clone(), _b_hh.clone())
    expect_close(_h, f"hidden h after {_T} steps {(_B, _D, _H)}", atol=1e-5, rtol=1e-4)
    expect_close(_c, f"hidden c after {_T} steps {(_B, _D, _H)}", atol=1e-5, rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Backpropagation through time, and its trouble
#
# Training an RNN backpropagates through the unrolled graph (*backpropagation through time*, BPTT). A loss at the
# last step reaches an early state only through every state in between, so by the chain rule the gradient is
# multiplied by one *Jacobian* per step. The Jacobian `∂s_k/∂s_{k−1}` of the step from `s_{k−1}` to `s_k` (both `H`
# numbers) is the `H × H` matrix whose entry `(i, j)` is `∂s_k[i]/∂s_{k−1}[j]`, and the chain rule for such maps
# multiplies Jacobians, the later step on the left: `∂s_T/∂s_0 = (∂s_T/∂s_{T−1}) ⋯ (∂s_2/∂s_1) (∂s_1/∂s_0)`. If these
# products shrink, early inputs get no credit (**vanishing** gradients); if they grow, updates blow up (**exploding**
# gradients). Roughly, the largest *singular value* of `W`, `σ_max(W)` (the most `W` can stretch a vector), decides
# which.
#
# **Derive it yourself.** For the RNN of section 1 (`a_k = b + W s_{k−1} + U x_k`, `s_k = tanh(a_k)`, tanh acting on
# each entry on its own, and `tanh′(a) = 1 − tanh(a)²`), work out the one-step Jacobian `∂s_k/∂s_{k−1}`, written
# with the state `s_k` itself rather than `a_k`. Then write `state_jacobian(s, W)`: for **one** sequence (no batch
# axis) whose states `s_1, …, s_T` are the rows of `s`, return the `H × H` matrix `∂s_T/∂s_0`. Do it **by hand** with
# your formula: autograd (`torch.autograd.grad`, `.backward()`, `torch.autograd.functional.jacobian`, `torch.func`)
# is not allowed in this cell. The check compares with the Jacobian autograd finds through an `nn.RNN`.

# %% nbgrader={"grade": false, "grade_id": "state_jacobian", "locked": false, "schema_version": 3, "solution": true, "task": false}
def state_jacobian(s, W):
    """∂s_T/∂s_0 of the tanh RNN of section 1 for one sequence, by the chain rule (no autograd).

    Args:
        s: (T, H) the states s_1, ..., s_T of one sequence (row k, from 0, is s_{k+1}; s_0 is not included).
        W: (H, H) recurrent weights.

    Returns:
        (H, H) matrix J with J[i, j] = ∂s_T[i] / ∂s_0[j].
    """
    ### BEGIN SOLUTION
    J = torch.eye(W.shape[0], dtype=W.dtype)
    for k in range(s.shape[0]):
        J = ((1 - s[k] ** 2)[:, None] * W) @ J
    return J
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_state_jacobian", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
by_hand("state_jacobian", [state_jacobian], forbidden=("grad", "backward", "jacobian", "jacrev", "jacfwd", "vjp", "jvp", "func"),
        name="state_jacobian by hand")
# 1. One unit (H = 1), worked by hand: states 0.5 then -0.2, W = 2. Each step contributes (1 - s_k^2) * 2:
#    (1 - 0.25) * 2 = 1.5 and (1 - 0.04) * 2 = 1.92, so ∂s_2/∂s_0 = 1.92 * 1.5 = 2.88.
_J = state_jacobian(torch.tensor([[0.5], [-0.2]]), torch.tensor([[2.0]]))
assert_tensor(_J, "∂s_T/∂s_0 for H = 1", shape=(1, 1))
assert_close(_J, torch.tensor([[2.88]]), "∂s_T/∂s_0 for H = 1 (states 0.5, -0.2; W = 2)")
# 2. Two units, a W that is not symmetric, so the order of the factors and which side the tanh' factor is on
#    matter: states s_1 = (0.5, 0), s_2 = (0, 0.6), W = [[1, 2], [0, 1]]; the step Jacobians are
#    [[0.75, 1.5], [0, 1]] (step 1) and [[1, 2], [0, 0.64]] (step 2), and step 2's goes on the left.
_J = state_jacobian(torch.tensor([[0.5, 0.0], [0.0, 0.6]]), torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
assert_tensor(_J, "∂s_T/∂s_0 for H = 2", shape=(2, 2))
assert_close(_J, torch.tensor([[0.75, 3.5], [0.0, 0.64]]), "∂s_T/∂s_0 for H = 2 (two steps, W not symmetric)")


def check_jacobian(T, D, H, seed, label):
    """Your Jacobian for the states of an nn.RNN (fixed weights, with biases) against autograd's."""
    g = torch.Generator().manual_seed(seed)
    rnn = nn.RNN(D, H, batch_first=True)
    with torch.no_grad():
        for p in rnn.parameters():
            p.copy_(0.7 * torch.randn(p.shape, generator=g))
    x, s0 = torch.randn(1, T, D, generator=g), 0.5 * torch.randn(H, generator=g)
    with torch.no_grad():
        states = rnn(x, s0[None, None])[0][0]  # (T, H): s_1 .. s_T
    J_ref = torch.autograd.functional.jacobian(lambda h0: rnn(x, h0[None, None])[0][0, -1], s0)
    J = state_jacobian(states.clone(), rnn.weight_hh_l0.detach().clone())
    assert_tensor(J, f"∂s_T/∂s_0 ({label})", shape=(H, H))
    assert_close(J, J_ref, f"∂s_T/∂s_0 against autograd through nn.RNN ({label})", rtol=1e-4, atol=1e-6)


check_jacobian(T=6, D=3, H=4, seed=40, label="T=6, D=3, H=4")
check_jacobian(T=1, D=2, H=5, seed=41, label="a sequence of length 1")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5350)
for _T, _H in [(1, 3), (5, 1), (9, 6), (14, 4)]:
    _W = torch.randn(_H, _H, generator=_g) / _H ** 0.5
    _s = torch.tanh(torch.randn(_T, _H, generator=_g))
    expect_close(state_jacobian(_s.clone(), _W.clone()), f"hidden ∂s_T/∂s_0 (T={_T}, H={_H})", rtol=1e-4, atol=1e-7)
### END HIDDEN TESTS

# %% [markdown]
# ### Gradient norms through time
#
# Now measure the gradient in a whole network. `step(x_t, state)` is any recurrent step (a lambda around the RNN
# maths of section 1, or an `nn.LSTMCell`, whose state is the pair `(h, c)`). We write `h_t` for the hidden state of
# either network (`s_t` in section 1). Run the step over the sequence, keep every hidden state `h_1, …, h_T`, take the
# loss `L = h_T.sum()` and return `‖∂L/∂h_t‖` for every `t` — the *Frobenius norm*, the square root of the sum of the
# squared entries over the whole `(B, H)` gradient. Use autograd here: one call of
# `torch.autograd.grad(L, list_of_states)` is enough, as it returns one gradient per tensor of the list (`T` separate
# calls give the same numbers but run `T` backward passes). The check starts with a linear step whose norms can be
# worked out by hand (see its comments).

# %% nbgrader={"grade": false, "grade_id": "state_gradient_norms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def state_gradient_norms(step, x, state):
    """Norm of the gradient of L = h_T.sum() with respect to every hidden state.

    Args:
        step: function (x_t: (B, D), state) -> new state. A state is either a tensor h: (B, H)
            or a tuple whose first element is h (e.g. (h, c) for an LSTM).
        x: (B, T, D) inputs.
        state: the initial state.

    Returns:
        (T,) tensor ||dL/dh_1||, ..., ||dL/dh_T|| (Frobenius norms), in time order: Python entry k (from 0)
        belongs to h_{k+1}, the state after reading x[:, k], so the last entry belongs to h_T itself.

    Tip: start from a detached copy of the initial state with requires_grad_(True), so the states are
    part of the autograd graph even when `step` has no trainable parameters.
    """
    ### BEGIN SOLUTION
    if isinstance(state, tuple):
        state = tuple(s.detach().clone().requires_grad_(True) for s in state)
    else:
        state = state.detach().clone().requires_grad_(True)
    hs = []
    for t in range(x.shape[1]):
        state = step(x[:, t], state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    grads = torch.autograd.grad(hs[-1].sum(), hs)
    return torch.stack([g.norm() for g in grads])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_state_gradient_norms", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
# 1. A linear step worked out by hand: h_t = 0.5 h_{t-1} + x_t P, so dL/dh_T = 1 (every entry) and each step back
#    multiplies the gradient by 0.5: dL/dh_t = 0.5^(T-t), whose Frobenius norm over a (B, H) = (2, 3) state is
#    0.5^(T-t) * sqrt(6). With T = 4 the norms are [0.125, 0.25, 0.5, 1] * sqrt(6), in the order h_1 ... h_4.
_P = torch.ones(5, 3)
_x = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(20))
_norms = state_gradient_norms(lambda xt, s: 0.5 * s + xt @ _P, _x, torch.zeros(2, 3))
assert_tensor(_norms, "gradient norms of the linear step (one per time step)", shape=(4,))
assert_close(_norms, torch.tensor([0.125, 0.25, 0.5, 1.0]) * 6 ** 0.5, "gradient norms of the linear step h_t = 0.5 h_(t-1) + x_t P",
             rtol=1e-5, atol=1e-7)
# 2. An LSTM cell (bias=False, fixed weights), whose state is the tuple (h, c): the norms are those of dL/dh_t,
#    worked out once: the last is sqrt(B * H) = sqrt(8), and they shrink going back in time.
_g = torch.Generator().manual_seed(30)
_cell = nn.LSTMCell(3, 4, bias=False)
with torch.no_grad():
    for _p in _cell.parameters():
        _p.copy_(0.8 * torch.randn(_p.shape, generator=_g))
_x = torch.randn(2, 5, 3, generator=_g)
_hc = (0.5 * torch.randn(2, 4, generator=_g), 0.5 * torch.randn(2, 4, generator=_g))
_norms = state_gradient_norms(_cell, _x, (_hc[0].clone(), _hc[1].clone()))
assert_tensor(_norms, "LSTM gradient norms", shape=(5,))
assert_close(_norms, torch.tensor([0.113187, 0.273582, 0.594787, 1.099687, 2.828427]), "LSTM gradient norms (state (h, c))",
             rtol=1e-4, atol=1e-6)
# 3. A batch of one and a sequence of length 1: only h_T itself, whose gradient is all ones: norm sqrt(H) = 2
_norms = state_gradient_norms(lambda xt, s: torch.tanh(s + xt), torch.ones(1, 1, 4), torch.zeros(1, 4))
assert_close(_norms, torch.tensor([2.0]), "a sequence of length 1 (only h_T)")
### BEGIN HIDDEN TESTS
def _hidden_norms(B, T, D, H, scale, seed, label):
    g = torch.Generator().manual_seed(seed)
    W = scale * torch.linalg.qr(torch.randn(H, H, generator=g))[0]
    U = 0.5 * torch.randn(H, D, generator=g)
    x = torch.randn(B, T, D, generator=g)
    s0 = 0.1 * torch.randn(B, H, generator=g)
    expect_close(state_gradient_norms(lambda xt, s: torch.tanh(s @ W.T + xt @ U.T), x, s0.clone()),
                 f"RNN gradient norms ({label})", rtol=1e-4, atol=1e-7)
    cell = nn.LSTMCell(D, H)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    hc = (0.1 * torch.randn(B, H, generator=g), 0.1 * torch.randn(B, H, generator=g))
    expect_close(state_gradient_norms(cell, x, (hc[0].clone(), hc[1].clone())), f"LSTM gradient norms ({label})",
                 rtol=1e-4, atol=1e-7)

for _i, (_B, _T, _D, _H, _scale) in enumerate([(1, 12, 2, 7, 0.6), (6, 3, 5, 4, 2.5), (3, 20, 4, 9, 1.5)]):
    _hidden_norms(_B, _T, _D, _H, _scale, seed=5300 + _i, label=f"hidden {(_B, _T, _D, _H, _scale)}")
### END HIDDEN TESTS

# %% [markdown]
# Now the picture. The same random inputs go through a tanh RNN whose `W` is an orthogonal matrix scaled by
# 0.5, 1.0 and 3.0 (so all its singular values equal the scale), and through an LSTM cell whose forget-gate bias
# is set to 3 (`σ(3) ≈ 0.95`: the cell state is mostly kept). Read the plot from right (the loss, at `t = T = 40`)
# to left (the distant past). As a rule of thumb, a ratio `‖∂L/∂h_1‖ / ‖∂L/∂h_T‖` below `1e-3` means the first
# steps get (almost) no learning signal (the gradient has vanished), and a ratio above `1e3` means it has exploded.
# Since `∂L/∂h_T` is all ones, every curve ends at `‖∂L/∂h_T‖ = √(B·H)`; the dotted lines mark `1e-3` and `1e3`
# times that.

# %%
g_demo = torch.Generator().manual_seed(0)
B_demo, H_demo, D_demo, T_demo = 16, 32, 8, 40
x_demo = torch.randn(B_demo, T_demo, D_demo, generator=g_demo)
Q_demo = torch.linalg.qr(torch.randn(H_demo, H_demo, generator=g_demo))[0]
U_demo = 0.3 * torch.randn(H_demo, D_demo, generator=g_demo)
curves = {}
for scale in (0.5, 1.0, 3.0):
    W_demo = scale * Q_demo
    curves[f"RNN, σ_max(W) = {scale}"] = state_gradient_norms(
        lambda xt, s, W=W_demo: torch.tanh(s @ W.T + xt @ U_demo.T), x_demo, torch.zeros(B_demo, H_demo)).tolist()
torch.manual_seed(0)
lstm_demo = nn.LSTMCell(D_demo, H_demo)
with torch.no_grad():
    lstm_demo.bias_ih[H_demo:2 * H_demo].fill_(3.0)  # forget gate chunk (gate order i, f, g, o)
curves["LSTM, forget bias 3"] = state_gradient_norms(
    lstm_demo, x_demo, (torch.zeros(B_demo, H_demo), torch.zeros(B_demo, H_demo))).tolist()
for name, values in curves.items():
    ratio = values[0] / values[-1]
    verdict = "vanished (< 1e-3)" if ratio < 1e-3 else "exploded (> 1e3)" if ratio > 1e3 else "kept (between 1e-3 and 1e3)"
    print(f"{name:24s} ‖∂L/∂h_1‖ = {values[0]:9.2e}   ‖∂L/∂h_T‖ = {values[-1]:9.2e}   ratio {ratio:9.2e}: {verdict}")
ax = labkit.plotting.plot_curves(curves, xlabel=f"time step t (loss at t = T = {T_demo})", ylabel="‖∂L/∂h_t‖", logy=True,
                                 title="Gradient norm through time", start=1)
end_norm = (B_demo * H_demo) ** 0.5  # ‖∂L/∂h_T‖ of every curve
ax.axhline(1e-3 * end_norm, ls=":", c="gray", label="1e-3 × ‖∂L/∂h_T‖ (vanished below)")
ax.axhline(1e3 * end_norm, ls=":", c="black", label="1e3 × ‖∂L/∂h_T‖ (exploded above)")
ax.legend(fontsize=7);


# %% [markdown]
# **Why does the RNN with `σ_max(W) = 1` vanish too?** Your Jacobian says it: one step contributes
# `J_k = ∂s_k/∂s_{k−1} = diag(1 − s_k²) W`. The derivative `tanh′(a) = 1 − tanh(a)²` equals 1 only at `a = 0` and is
# below 1 everywhere else, so unless a unit's state is exactly 0 the diagonal factor shrinks that unit's share of the
# gradient, and `‖J_k‖ ≤ max_i (1 − s_k[i]²) · σ_max(W) < σ_max(W) = 1`. A product of factors whose norms are all
# below 1 can only shrink. It shrinks much faster than the largest factor suggests: `W` (orthogonal) moves the
# gradient to other units at every step, where it is multiplied by *their* `1 − s²`, about 0.6 on average here. So for
# a tanh RNN `σ_max(W) = 1` is not the edge: the gradient already vanishes there, and only a larger `W` keeps it (and
# a still larger one makes it explode). The numbers, for the first sequence of the demo, with your `state_jacobian`:

# %%
with torch.no_grad():  # the states s_1 .. s_T of the σ_max(W) = 1 RNN on the first demo sequence
    s_k, states_demo = torch.zeros(H_demo), []
    for t in range(T_demo):
        s_k = torch.tanh(Q_demo @ s_k + U_demo @ x_demo[0, t])
        states_demo.append(s_k)
    states_demo = torch.stack(states_demo)
step_norms = torch.stack([torch.linalg.matrix_norm(state_jacobian(states_demo[k:k + 1], Q_demo), ord=2)
                          for k in range(T_demo)])
print(f"norm of one step's Jacobian diag(1 − s_k²) W: mean over the {T_demo} steps {float(step_norms.mean()):.4f}; "
      f"every one below 1: {bool((step_norms < 1).all())} (so no step can make the gradient grow)")
print(f"1 − s_k², averaged over the units and steps: {float((1 - states_demo ** 2).mean()):.2f} "
      f"(< 1: what a typical unit multiplies the gradient by)")
print(f"norm of ∂s_T/∂s_0, the product of all {T_demo}: "
      f"{float(torch.linalg.matrix_norm(state_jacobian(states_demo, Q_demo), ord=2)):.1e} (below 1e-3: vanished)")


# %% [markdown]
# ### Gradient clipping
#
# Exploding gradients have a cheap cure: if the **total** norm of all parameter gradients (the L2 norm of one long
# vector made of every entry of every parameter's gradient) exceeds `max_norm`, scale every gradient by
# `max_norm / (total_norm + 1e-6)`. The direction of that long vector is kept, only the step length is capped.
# Clipping each tensor by its own norm, or each entry to `[−max_norm, max_norm]` ("clipping by value"), changes the
# direction. Write it **by hand**: `torch.nn.utils.clip_grad_norm_` does the same job and is not allowed in this cell
# (nor `get_total_norm` / `clip_grads_with_norm_`). Note that `model.parameters()` is a generator, which can be
# read only once.

# %% nbgrader={"grade": false, "grade_id": "clip_gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
def clip_gradients(parameters, max_norm: float) -> float:
    """Clip the gradients of ``parameters`` in place by their total L2 norm (by hand, no clip_grad_norm_).

    Args:
        parameters: iterable of tensors; those whose .grad is None are skipped.
        max_norm: the largest total norm allowed.

    Returns:
        the total norm before clipping, as a Python float.
    """
    ### BEGIN SOLUTION
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)).item() if grads else 0.0
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_clip_gradients", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# Worked by hand: gradients [[1, 2], [2, 0]] (norm 3) and [4, 0, 0] (norm 4) make one vector of norm
# sqrt(9 + 16) = 5, the total norm. With max_norm = 1 every gradient is scaled by 1 / (5 + 1e-6) ≈ 0.2:
# the direction of the whole vector is kept (clipping each tensor on its own, or each entry to [-1, 1], is not).
by_hand("clip_gradients", [clip_gradients], forbidden=("clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_",
                                                       "get_total_norm", "clip_grad_value_"), name="clipping by hand")
_params = [torch.zeros(2, 2, requires_grad=True), torch.zeros(3, requires_grad=True), torch.zeros(4, requires_grad=True)]
_params[0].grad, _params[1].grad = torch.tensor([[1.0, 2.0], [2.0, 0.0]]), torch.tensor([4.0, 0.0, 0.0])
# (the third parameter has no gradient: it is skipped); the parameters arrive as a generator, like model.parameters()
_total = clip_gradients((p for p in _params), max_norm=1.0)
assert_equal(type(_total).__name__, "float", "clip_gradients returns a Python float")
assert_scalar(_total, 5.0, "total norm before clipping", rtol=1e-6)
_scale = 1.0 / (5.0 + 1e-6)
assert_close(_params[0].grad, _scale * torch.tensor([[1.0, 2.0], [2.0, 0.0]]), "clipped gradient of parameter 0", rtol=1e-5)
assert_close(_params[1].grad, _scale * torch.tensor([4.0, 0.0, 0.0]), "clipped gradient of parameter 1", rtol=1e-5)
assert_equal(_params[2].grad is None, True, "parameter 2 (no gradient) still has none")
# below the threshold nothing changes (max_norm = 10 > 5), and the returned norm is still the total norm
_params[0].grad, _params[1].grad = torch.tensor([[1.0, 2.0], [2.0, 0.0]]), torch.tensor([4.0, 0.0, 0.0])
assert_scalar(clip_gradients(_params, max_norm=10.0), 5.0, "total norm below max_norm", rtol=1e-6)
assert_close(_params[0].grad, torch.tensor([[1.0, 2.0], [2.0, 0.0]]), "gradient 0 left alone below max_norm")
assert_close(_params[1].grad, torch.tensor([4.0, 0.0, 0.0]), "gradient 1 left alone below max_norm")
### BEGIN HIDDEN TESTS
for _shapes, _max_norm, _grad_scale, _seed in [([(7,), (2, 3, 4), (1,), (5, 5)], 0.5, 3.0, 5401), ([(10, 2)], 2.0, 0.05, 5402),
                                                ([(6, 3), (3,)], 3.0, 20.0, 5403)]:
    _g = torch.Generator().manual_seed(_seed)
    _ps = [torch.randn(s_, generator=_g).requires_grad_(True) for s_ in _shapes]
    for _p in _ps:
        _p.grad = _grad_scale * torch.randn(_p.shape, generator=_g)
    expect_scalar(clip_gradients(iter(_ps), _max_norm), f"total norm (seed {_seed})", rtol=1e-5)
    for _k, _p in enumerate(_ps):
        expect_close(_p.grad, f"clipped gradient {_k} (seed {_seed})", rtol=1e-5, atol=1e-7)
### END HIDDEN TESTS

# %% [markdown]
# Clipping in action, on a **memory probe**: a task made by `labkit.sequences.memory_probe(n, distance)` whose
# sequences start with one of 4 class tokens followed by `distance` random distractor tokens; the label is the first
# token, so the network must remember it across `distance` steps (section 5 measures how far RNNs and LSTMs can).
# A tanh RNN whose recurrent matrix starts at 1.5 × orthogonal, fed small inputs, learns it at distance 8 with plain
# SGD (learning rate 0.5), with and without clipping at norm 1. Without clipping, the occasional huge gradient throws the weights far away and
# the loss jumps; with clipping the same run converges. For scale: guessing among 4 classes costs
# `ln 4 ≈ 1.386` nats of cross-entropy (a *nat* is the unit of a loss computed with the natural logarithm), so a
# mean loss well below 1.386 means the network has learned something.

# %%
def clipping_run(clip: bool, steps: int = 150, seed: int = 0):
    torch.manual_seed(seed)
    emb, rnn, head = nn.Embedding(13, 8), nn.RNN(8, 32, batch_first=True), nn.Linear(32, 4)
    with torch.no_grad():  # large recurrent weights, small inputs: the regime where gradients explode
        rnn.weight_hh_l0.copy_(1.5 * torch.linalg.qr(torch.randn(32, 32))[0])
        emb.weight.mul_(0.1)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=0.5)
    x_all, y_all = memory_probe(steps * 32, distance=8, seed=seed)
    losses, norms = [], []
    for k in range(steps):
        xb, yb = x_all[k * 32:(k + 1) * 32] + 1, y_all[k * 32:(k + 1) * 32]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(rnn(emb(xb))[0][:, -1]), yb)
        loss.backward()
        norms.append(clip_gradients(params, 1.0) if clip else float(torch.nn.utils.get_total_norm([p.grad for p in params])))
        opt.step()
        losses.append(loss.item())
    return losses, norms

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
run_losses, run_norms = {}, {}
for clip in (False, True):
    label = "clipped at 1" if clip else "no clipping"
    run_losses[label], run_norms[label] = clipping_run(clip)
    print(f"{label:13s} largest gradient norm {max(run_norms[label]):8.2f} (clipping threshold 1); mean loss over the "
          f"last 30 steps {sum(run_losses[label][-30:]) / 30:.3f} (chance: ln 4 = {math.log(4):.3f}; lower is better)")
# SGD steps counted from 1
labkit.plotting.plot_curves(run_losses, xlabel="SGD step", ylabel="cross-entropy loss (nats)", title="training loss",
                            ax=axes[0], start=1)
labkit.plotting.plot_curves(run_norms, xlabel="SGD step", ylabel="total gradient norm (before clipping)", logy=True,
                            title="gradient norm", ax=axes[1], start=1)
axes[0].axhline(math.log(4), ls=":", c="gray", label="chance (ln 4)")
axes[1].axhline(1.0, ls=":", c="black", label="max_norm = 1")
axes[0].legend()
axes[1].legend();

# %% [markdown]
# ## 4. Reviews with negation: padding, masks, bag of words and an LSTM
#
# `labkit.text.make_reviews` generates the lecture's kind of review deterministically: one sentiment word
# (an adjective or a verb) in a template, sometimes negated ("i am not sure i love this car"), surrounded by
# neutral distractor clauses ("the box was blue"). Each review is in the subset `"plain"` or `"negated"`.

# %%
train_reviews = labkit.text.make_reviews(1500, seed=0, max_distractors=1)
test_reviews = labkit.text.make_reviews(1000, seed=1, max_distractors=1)
for text_, label_, subset_ in list(zip(train_reviews.texts, train_reviews.labels.tolist(), train_reviews.subsets))[:6]:
    print(f"{'positive' if label_ else 'negative'} | {subset_:7s} | {text_}")
vocab = labkit.text.Vocab.build(labkit.text.tokenize(t) for t in train_reviews.texts)
print(f"vocabulary: {len(vocab)} tokens, <pad> = {vocab.pad_id}, <unk> = {vocab.unk_id}")
print(f"share of negated reviews: {float(train_reviews.subset_mask('negated').float().mean()):.3f} (the rest are plain)")


# %% [markdown]
# Reviews have different lengths, but a batch is one rectangular tensor. **Pad** every sequence on the right
# with the padding id up to the longest one and remember the true **lengths**; a boolean **mask** says which
# positions are real tokens (`True`) and which are padding (`False`). The padding id is an argument: it is 0 for our
# vocabulary (`<pad>`), but the check also uses another one. Write both **by hand** (`labkit.text.pad_sequences`,
# `labkit.text.length_mask` and `torch.nn.utils.rnn.pad_sequence` do this for later labs and are not allowed here).

# %% nbgrader={"grade": false, "grade_id": "pad_batch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pad_batch(seqs, pad_id: int = 0):
    """Right-pad a list of 1-d int64 tensors.

    Args:
        seqs: list of B tensors of shapes (L_1,), ..., (L_B,) (every L_b >= 1).
        pad_id: the id written after the end of each sequence.

    Returns:
        padded: (B, max L_b) int64; lengths: (B,) int64 tensor of the L_b.
    """
    ### BEGIN SOLUTION
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    padded = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.int64)
    for i, s in enumerate(seqs):
        padded[i, : len(s)] = s
    return padded, lengths
    ### END SOLUTION


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, max_len) bool tensor: True at position t (counted from 0) of row b when t < lengths[b]
    (a real token), False at padding."""
    ### BEGIN SOLUTION
    return torch.arange(max_len)[None, :] < lengths[:, None]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pad_batch", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
by_hand("pad_batch", [pad_batch], forbidden=("pad_sequence", "pad_sequences"), name="padding by hand")
_seqs = [torch.tensor([5, 6, 7]), torch.tensor([8]), torch.tensor([9, 10])]
padded, lengths = pad_batch(_seqs)
assert_tensor(padded, "padded batch", shape=(3, 3), dtype=torch.int64)
assert_tensor(lengths, "lengths", shape=(3,), dtype=torch.int64)
assert_close(padded, torch.tensor([[5, 6, 7], [8, 0, 0], [9, 10, 0]]), "padded batch")
assert_close(lengths, torch.tensor([3, 1, 2]), "lengths")
# another padding id, the longest sequence not first, a sequence of length 1
_padded, _lengths = pad_batch([torch.tensor([4]), torch.tensor([1, 2, 3, 2]), torch.tensor([5, 6])], pad_id=99)
assert_close(_padded, torch.tensor([[4, 99, 99, 99], [1, 2, 3, 2], [5, 6, 99, 99]]), "padded batch with pad_id=99")
assert_close(_lengths, torch.tensor([1, 4, 2]), "lengths with pad_id=99")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5501)
for _B, _pad in [(1, 0), (9, 3), (17, 0)]:
    _lens = torch.randint(1, 15, (_B,), generator=_g)
    _seqs = [torch.randint(4, 50, (int(_n),), generator=_g) for _n in _lens]
    _p, _l = pad_batch([s_.clone() for s_ in _seqs], pad_id=_pad)
    expect_close(_p, f"padded batch (B={_B}, pad_id={_pad})")
    expect_close(_l, f"lengths (B={_B})")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_length_mask", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
by_hand("pad_batch", [length_mask], forbidden=("length_mask",), name="mask by hand (not labkit.text.length_mask)")
_mask = length_mask(torch.tensor([3, 1, 2]), 4)
assert_tensor(_mask, "mask", shape=(3, 4), dtype=torch.bool)
assert_close(_mask, torch.tensor([[True, True, True, False], [True, False, False, False], [True, True, False, False]]),
             "mask (lengths 3, 1, 2; max_len 4)")
assert_close(length_mask(torch.tensor([2, 2]), 2), torch.ones(2, 2, dtype=torch.bool), "mask without padding")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5502)
for _B, _T in [(6, 10), (1, 3), (12, 25)]:
    _lens = torch.randint(1, _T + 1, (_B,), generator=_g)
    expect_close(length_mask(_lens.clone(), _T), f"mask (B={_B}, T={_T})")
### END HIDDEN TESTS

# %% [markdown]
# ### The bag-of-words baseline
#
# A bag of words forgets the order: review `b` becomes a vector of counts, `counts[b, v]` = how often token `v`
# occurs in it. Padding is not a word, so column `pad_id = 0` must stay zero. A *logistic regression* (a linear
# model on the counts followed by a sigmoid, here scikit-learn's `LogisticRegression`) is the classic baseline.
# Then write `subset_accuracies`, which reports accuracy (the fraction of reviews whose predicted class equals the
# label) overall and for each *subset* name that occurs (`"plain"` or `"negated"` for our reviews).

# %% nbgrader={"grade": false, "grade_id": "bag_of_words", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bag_of_words(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Token counts per sequence, padding (id 0) not counted.

    Args:
        tokens: (N, T) int64 padded token ids in [0, vocab_size).

    Returns:
        (N, vocab_size) float32 counts; column 0 is all zeros.
    """
    ### BEGIN SOLUTION
    counts = torch.zeros(tokens.shape[0], vocab_size)
    counts.scatter_add_(1, tokens, torch.ones(tokens.shape, dtype=counts.dtype))
    counts[:, 0] = 0
    return counts
    ### END SOLUTION


def subset_accuracies(predictions: torch.Tensor, labels: torch.Tensor, subsets: list) -> dict:
    """Accuracy overall and per subset.

    Args:
        predictions, labels: (N,) int64 class ids; subsets: list of N subset names (str).

    Returns:
        dict mapping "overall" and every distinct subset name to a Python float in [0, 1].
    """
    ### BEGIN SOLUTION
    correct = (predictions.cpu() == labels.cpu()).float()
    result = {"overall": float(correct.mean())}
    for name in sorted(set(subsets)):
        mask = torch.tensor([s == name for s in subsets])
        result[name] = float(correct[mask].mean())
    return result
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_subset_accuracies", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
# predictions 1 0 1 1 against labels 1 1 1 0: right, wrong, right, wrong
_acc = subset_accuracies(torch.tensor([1, 0, 1, 1]), torch.tensor([1, 1, 1, 0]), ["a", "a", "b", "b"])
assert_equal(sorted(_acc), ["a", "b", "overall"], "keys")
assert_equal(sorted({type(v).__name__ for v in _acc.values()}), ["float"], "types of the accuracies (Python floats)")
assert_scalar(_acc["overall"], 0.5, "overall accuracy (2 of 4)")
assert_scalar(_acc["a"], 0.5, "accuracy on subset a (1 of 2)")
# subsets of different sizes, not in sorted order
_acc = subset_accuracies(torch.tensor([0, 1, 1, 0, 1]), torch.tensor([0, 1, 0, 0, 0]), ["y", "x", "y", "y", "y"])
assert_scalar(_acc["y"], 0.5, "accuracy on subset y (2 of 4)")
assert_scalar(_acc["x"], 1.0, "accuracy on subset x (1 of 1)")
assert_scalar(_acc["overall"], 0.6, "overall accuracy (3 of 5)")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5602)
_pred, _lab = torch.randint(0, 3, (200,), generator=_g), torch.randint(0, 3, (200,), generator=_g)
_names = ["plain", "negated", "other"]
_subs = [_names[int(k)] for k in torch.randint(0, 3, (200,), generator=_g)]
_acc = subset_accuracies(_pred.clone(), _lab.clone(), list(_subs))
expect_equal(sorted(_acc), "keys (hidden)")
expect_equal(sorted({type(v).__name__ for v in _acc.values()}), "types of the accuracies (hidden)")
expect_scalar(_acc["overall"], "overall (hidden)")
for _name in _names:
    expect_scalar(_acc.get(_name), f"subset {_name} (hidden)")
### END HIDDEN TESTS

# %%
x_train, len_train = pad_batch(labkit.text.encode_texts(train_reviews.texts, vocab))
x_test, len_test = pad_batch(labkit.text.encode_texts(test_reviews.texts, vocab))
bow = LogisticRegression(max_iter=2000).fit(bag_of_words(x_train, len(vocab)).numpy(), train_reviews.labels.numpy())
bow_pred = torch.from_numpy(bow.predict(bag_of_words(x_test, len(vocab)).numpy()))
bow_acc = subset_accuracies(bow_pred, test_reviews.labels, test_reviews.subsets)
print("bag of words:", {k: round(float(v), 3) for k, v in bow_acc.items()})
print("expected: plain ≥ 0.85 (the sentiment word decides), negated ≤ 0.5 (worse than a coin: the negation is not seen)")

# %% nbgrader={"grade": true, "grade_id": "test_bag_of_words", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
_counts = bag_of_words(torch.tensor([[3, 1, 3, 0], [2, 0, 0, 0]]), 5)
assert_tensor(_counts, "counts of a small batch", shape=(2, 5), dtype=torch.float32)
assert_close(_counts, torch.tensor([[0.0, 1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]), "counts of a small batch")
# the baseline trained above on your counts: right on plain reviews (at least 85%), wrong on at least half
# of the negated ones (measured against the flipped labels), because it cannot see what negates what
_plain, _negated = test_reviews.subset_mask("plain"), test_reviews.subset_mask("negated")
assert_accuracy(bow_pred[_plain], test_reviews.labels[_plain], 0.85, "bag of words on plain test reviews")
assert_accuracy(bow_pred[_negated], 1 - test_reviews.labels[_negated], 0.5,
                "bag of words gets negated test reviews wrong (accuracy against the flipped labels)")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5601)
for _N, _T, _V in [(5, 9, 7), (30, 4, 40), (1, 20, 3)]:
    _tok = torch.randint(0, _V, (_N, _T), generator=_g)
    expect_close(bag_of_words(_tok.clone(), _V), f"counts (N={_N}, T={_T}, V={_V})")
### END HIDDEN TESTS

# %% [markdown]
# ### A recurrent classifier
#
# Now a model that reads in order: embed the tokens (`nn.Embedding` turns each token id into a learned vector),
# run `nn.RNN` or `nn.LSTM` (`batch_first=True`) and classify with an `nn.Linear` from the hidden state `h` **at each
# review's last real token** — not at the last padded position, where the network would have read a string of
# `<pad>`s, and for the LSTM not from its cell state `c` (the LSTM returns both as `(h_n, c_n)`; `h` is what it
# shows, `c` its internal memory). Compute the lengths from the tokens (`tokens != 0`) and either *pack* the batch with
# `torch.nn.utils.rnn.pack_padded_sequence(..., enforce_sorted=False)` (a packed batch tells the RNN where each
# sequence ends, so its final `h_n` is the state at each true end) or gather the right time step from the output.
# The same class serves the memory probe. The check works with any initialisation and any layer names: padding must
# not change the logits, a review must get the same logits alone as in a batch, changing a review's last real
# token must change its logits, and with the LSTM's output gates closed (so `h = o ⊙ tanh(c) = 0` while `c` is not)
# every review must get the same logits.

# %% nbgrader={"grade": false, "grade_id": "sequence_classifier", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SequenceClassifier(nn.Module):
    """tokens (B, T) int64, 0 = padding, every row has at least one real token -> logits (B, n_classes).

    Embedding, then nn.LSTM (cell="lstm") or nn.RNN (cell="rnn"), then a linear layer applied to the hidden
    state at each row's last real token.
    """

    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 16, hidden: int = 32, cell: str = "lstm"):
        super().__init__()
        ### BEGIN SOLUTION
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(embed_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)
        ### END SOLUTION

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        lengths = (tokens != 0).sum(dim=1)
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, h_n = self.rnn(packed)
        if isinstance(h_n, tuple):  # the LSTM returns (h_n, c_n)
            h_n = h_n[0]
        return self.head(h_n[-1])
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sequence_classifier", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
def check_classifier(cell, B, V, C, seed, label, hidden=False):
    """Properties of a correct classifier whatever its (random) weights: the differences checked below must be
    zero, so the result does not depend on how you initialise, order or name your layers."""
    def same(value, expected, name):  # visible: compare here; hidden: the judge compares with the solution's value
        if hidden:
            expect_close(value, name, rtol=0, atol=1e-5) if type(value) is torch.Tensor else expect_equal(value, name)
        elif type(expected) is torch.Tensor:
            assert_close(value, expected, name, rtol=0, atol=1e-5)
        else:
            assert_equal(value, expected, name)

    torch.manual_seed(seed)
    model = SequenceClassifier(V, C, embed_dim=5, hidden=7, cell=cell).eval()
    layers = [type(m).__name__ for m in model.modules() if type(m) in (nn.LSTM, nn.RNN, nn.GRU)]
    same(layers, ["LSTM" if cell == "lstm" else "RNN"], f"recurrent layers of SequenceClassifier(cell={cell!r}) ({label})")
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(1, 9, (B,), generator=g)
    lens[0] = 1  # a review of a single token
    seqs = [torch.randint(1, V, (int(n),), generator=g) for n in lens]
    tokens = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    zero = torch.zeros(B, C)
    with torch.no_grad():
        logits = model(tokens)
        assert_tensor(logits, f"logits ({label})", shape=(B, C))
        longer = torch.cat([tokens, torch.zeros(B, 5, dtype=torch.int64)], dim=1)
        same(model(longer) - logits, zero, f"change of the logits with 5 extra pad columns ({label}): padding must not matter")
        alone = torch.cat([model(s[None]) for s in seqs])
        same(alone - logits, zero, f"each review alone minus the batched logits ({label})")
        # the last real token must be read: change it in every review, and every row of logits must move
        last = tokens.clone()
        last[torch.arange(B), lens - 1] = 1 + last[torch.arange(B), lens - 1] % (V - 1)
        moved = ((model(last) - logits).abs().amax(dim=1) > 1e-6).tolist()
        same(moved, [True] * B, f"logits change when each review's last real token changes ({label})")
        recurrent = next(m for m in model.modules() if type(m) in (nn.LSTM, nn.RNN))
        lstm = recurrent if type(recurrent) is nn.LSTM else None

        def set_gate_bias(gate, value):
            """Set one gate's input bias in every LSTM layer (gate order i, f, g, o: 0 to 3)."""
            for name, p in lstm.named_parameters():
                if name.startswith("bias_ih"):
                    p[gate * lstm.hidden_size:(gate + 1) * lstm.hidden_size].fill_(value)

        # and only the state at the last real token may be read: with the recurrence switched off (W_hh = 0 and, for
        # the LSTM, every forget gate closed, f = σ(-100) ≈ 0) the state at a step depends on that step's token alone,
        # so changing every token but the last must leave the logits unchanged (a mean or max over the states would
        # move them). An LSTM without biases cannot close its gates: the two checks that need them are skipped.
        if lstm is None or lstm.bias:
            for name, p in recurrent.named_parameters():
                if name.startswith("weight_hh"):
                    p.zero_()
            if lstm is not None:
                set_gate_bias(1, -100.0)
            earlier = tokens.clone()
            before_last = torch.arange(tokens.shape[1])[None, :] < (lens - 1)[:, None]
            earlier[before_last] = 1 + earlier[before_last] % (V - 1)
            same(model(earlier) - model(tokens), zero, f"with W_hh = 0, change of the logits when every token but the "
                 f"last changes ({label}): read the state at the last real token, not a mean or max over the states")
        if lstm is not None and lstm.bias:
            # the read-out must see h = o ⊙ tanh(c), not the cell state c: close every output gate (o = σ(-100) ≈ 0).
            # Then h = 0 at every step and every review gets the same logits (those of a zero state), while c still
            # depends on the review.
            set_gate_bias(3, -100.0)
            closed = model(tokens)
            same(closed - closed[:1], zero, f"logits with the LSTM's output gates closed (h = 0) minus those of the "
                 f"first review: the read-out must use h_n, not c_n ({label})")


check_classifier("lstm", B=4, V=20, C=2, seed=0, label="lstm, B=4, 2 classes")
check_classifier("rnn", B=3, V=9, C=3, seed=1, label="rnn, B=3, 3 classes")
### BEGIN HIDDEN TESTS
check_classifier("rnn", B=6, V=11, C=4, seed=5701, label="hidden rnn", hidden=True)
check_classifier("lstm", B=9, V=30, C=3, seed=5702, label="hidden lstm", hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Train an LSTM classifier on the reviews: Adam (learning rate 0.01), 8 epochs with `labkit.fit` (the course's
# training loop: one optimizer step per batch of 50, cross-entropy loss), then compare per subset with the
# bag of words. It trains on tokens padded by `labkit.text` (identical to your `pad_batch`'s when that is right), so
# that its points depend on `SequenceClassifier` alone. The check below expects at least 0.95 overall and on the
# negated reviews; the bag of words stays below 0.5 on those.

# %%
torch.manual_seed(0)
sentiment_model = SequenceClassifier(len(vocab), 2, embed_dim=16, hidden=32, cell="lstm").to(device)
x_train_lib, _ = labkit.text.review_tensors(train_reviews, vocab)
train_loader = labkit.make_loader(torch.utils.data.TensorDataset(x_train_lib, train_reviews.labels), batch_size=50, seed=0)
history = labkit.fit(sentiment_model, train_loader, nn.CrossEntropyLoss(),
                     torch.optim.Adam(sentiment_model.parameters(), lr=1e-2), epochs=8, device=device, desc="LSTM")
sentiment_model.eval()
with torch.no_grad():
    lstm_pred = sentiment_model(labkit.text.review_tensors(test_reviews, vocab)[0].to(device)).argmax(1).cpu()
lstm_acc = subset_accuracies(lstm_pred, test_reviews.labels, test_reviews.subsets)
print(f"test accuracy {'':3s}{'overall':>9s}{'plain':>9s}{'negated':>9s}")
for name, acc in (("bag of words", bow_acc), ("LSTM", lstm_acc)):
    print(f"{name:17s}{acc['overall']:9.3f}{acc['plain']:9.3f}{acc['negated']:9.3f}")
print("the LSTM should reach ≥ 0.95 overall and on negated reviews (checked below)")
ax = labkit.plotting.plot_history(history, title="LSTM on reviews (training loss per epoch)")
ax.axhline(math.log(2), ls=":", c="gray", label="chance (ln 2: guessing between 2 classes)")
ax.set(ylabel="cross-entropy loss (nats)")
ax.legend();


# %% nbgrader={"grade": true, "grade_id": "test_sentiment_accuracy", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
def sentiment_logits(seed, n=800):
    """Logits of your trained sentiment_model on n fresh generated reviews (padded with the library's pad_sequences)."""
    reviews = labkit.text.make_reviews(n, seed=seed, max_distractors=1)
    tokens, _ = labkit.text.review_tensors(reviews, vocab)
    sentiment_model.eval()
    with torch.no_grad():
        logits = sentiment_model(tokens.to(device)).cpu()
    assert_tensor(logits, f"sentiment logits (reviews seed {seed})", shape=(n, 2))
    return logits, reviews.labels, reviews.subset_mask("negated")


# Threshold 0.95: the reference solution, trained as above with torch.manual_seed(k) and loader seed k for k = 0..4,
# scored (overall, negated) = (1.000, 1.000) on these reviews for all five seeds, and on the hidden reviews
# (1.000, 1.000), (1.000, 1.000), (0.999, 1.000), (1.000, 1.000), (1.000, 1.000): a margin of at least 0.049.
_logits, _labels, _neg = sentiment_logits(seed=1)
assert_accuracy(_logits, _labels, 0.95, "LSTM accuracy on test reviews")
assert_accuracy(_logits[_neg], _labels[_neg], 0.95, "LSTM accuracy on negated test reviews")
### BEGIN HIDDEN TESTS
_logits, _labels, _neg = sentiment_logits(seed=5801)
assert_accuracy(_logits, _labels, 0.95, "LSTM accuracy on fresh reviews")
assert_accuracy(_logits[_neg], _labels[_neg], 0.95, "LSTM accuracy on fresh negated reviews")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. How far back can they remember?
#
# Back to the memory probe of section 3: `labkit.sequences.memory_probe(n, distance)` makes sequences whose label
# is the *first* token (one of 4 classes), followed by `distance` random distractor tokens; the model must carry it
# across `distance` steps. (We add 1 to every id so that 0 stays free for padding.) Train your `SequenceClassifier` with each cell for 6 epochs per
# distance. The LSTM gets a forget-gate bias of 3, the same trick as in section 3. Chance level is 0.25 (4 classes);
# an accuracy near 1 means the model remembered the first token.

# %%
def probe_accuracy(cell: str, distance: int, seed: int = 0, epochs: int = 6) -> float:
    x_tr, y_tr = memory_probe(800, distance, seed=seed)
    x_te, y_te = memory_probe(500, distance, seed=seed + 100)
    torch.manual_seed(seed)
    model = SequenceClassifier(13, 4, embed_dim=16, hidden=32, cell=cell)
    if cell == "lstm":
        for name, p in model.named_parameters():
            if "bias_ih" in name and p.shape[0] == 4 * 32:
                with torch.no_grad():
                    p[32:64].fill_(3.0)  # the forget gate's chunk (gate order i, f, g, o)
    loader = labkit.make_loader(torch.utils.data.TensorDataset(x_tr + 1, y_tr), batch_size=50, seed=seed)
    labkit.fit(model, loader, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-2), epochs=epochs,
               device=device, desc=f"{cell}, distance {distance}")
    model.eval()
    with torch.no_grad():
        return labkit.training.accuracy(model((x_te + 1).to(device)), y_te)

distances = [5, 10, 20, 40]
memory_curves = {cell: [probe_accuracy(cell, d) for d in distances] for cell in ("rnn", "lstm")}
print("test accuracy per distance (chance 0.25, perfect memory 1.0)")
print("distance:  ", distances)
for cell, accs in memory_curves.items():
    print(f"{cell:5s}", [round(a, 3) for a in accs])
ax = labkit.plotting.plot_curves({cell.upper(): accs for cell, accs in memory_curves.items()}, x=distances,
                                 xlabel="distance (distractor tokens between the first token and the end)",
                                 ylabel="test accuracy", title="Long-range memory probe")
for line in ax.get_lines():
    line.set_marker("o")
ax.axhline(0.25, ls=":", c="gray", label="chance (0.25)")
ax.axhline(1.0, ls="--", c="gray", label="perfect memory (1.0)")
ax.set(xscale="log", xticks=distances, xticklabels=[str(d) for d in distances], ylim=(0, 1.05))
ax.minorticks_off()
ax.legend();


# %% [markdown]
# ## 6. Auto-complete: a character-level LSTM language model
#
# The lecture's breakout: predict the next **character** of a review from the ones before, then complete a
# prefix by sampling one character at a time. Sampling uses a **temperature** τ: the probabilities are
# `softmax(logits / τ)`, where `softmax(z)_k = e^{z_k} / Σ_j e^{z_j}`. τ < 1 sharpens the distribution (safe,
# repetitive), τ > 1 flattens it (creative, misspelled). Write it **by hand** (`torch.softmax` and friends are not
# allowed in this cell) so that large logits do not overflow: `e^{1000}` is `inf` in float32, and subtracting the
# largest logit from all of them first does not change the result.

# %% nbgrader={"grade": false, "grade_id": "temperature_softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def temperature_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Probabilities softmax(logits / temperature) along the last dimension.

    Args:
        logits: (..., V) scores; temperature: a float > 0.

    Returns:
        same shape as logits, non-negative, summing to 1 along the last dimension; finite for huge logits.
    """
    ### BEGIN SOLUTION
    z = logits / temperature
    z = z - z.max(dim=-1, keepdim=True).values
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_temperature_softmax", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
by_hand("temperature_softmax", [temperature_softmax], forbidden=("softmax", "log_softmax", "Softmax", "softmin", "logsumexp"),
        name="softmax by hand")
# worked values: softmax(1, 2, 3) = e^(1, 2, 3) / (e + e^2 + e^3) = (0.0900, 0.2447, 0.6652); equal logits give 1/3 each
_logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
assert_close(temperature_softmax(_logits, 1.0), torch.tensor([[0.09003057, 0.24472847, 0.66524096], [1 / 3, 1 / 3, 1 / 3]]),
             "temperature 1 (plain softmax)")
# τ = 0.5 doubles the logits: softmax(2, 4, 6), sharper
assert_close(temperature_softmax(_logits, 0.5), torch.tensor([[0.01587624, 0.11731043, 0.86681333], [1 / 3, 1 / 3, 1 / 3]]),
             "temperature 0.5 (sharper)")
# τ = 2 halves them, along the last dimension of a (2, 1, 2) tensor: softmax(2, 0) and softmax(0, -1), flatter
assert_close(temperature_softmax(torch.tensor([[[4.0, 0.0]], [[0.0, -2.0]]]), 2.0),
             torch.tensor([[[0.88079708, 0.11920292]], [[0.73105858, 0.26894142]]]), "temperature 2 on a (2, 1, 2) tensor")
# e^1000 overflows to inf in float32: subtract the largest logit first (the result does not change)
assert_close(temperature_softmax(torch.tensor([1000.0, 990.0]), 1.0), torch.tensor([9.99954602e-01, 4.53978687e-05]),
             "huge logits (no overflow, no nan)")
# each row needs its own maximum: subtracting the batch's largest logit (1000) sends e^(0 − 1000) to 0 in row 2
assert_close(temperature_softmax(torch.tensor([[1000.0, 990.0], [0.0, -1.0]]), 1.0),
             torch.tensor([[9.99954602e-01, 4.53978687e-05], [0.73105858, 0.26894142]]),
             "a batch of a huge row and a small row (each row's own maximum)")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5901)
for _shape, _tau in [((4, 7), 0.3), ((2, 3, 5), 2.5), ((11,), 1.7)]:
    _l = 10 * torch.randn(*_shape, generator=_g)
    expect_close(temperature_softmax(_l.clone(), _tau), f"shape {_shape}, τ={_tau}", atol=1e-6, rtol=1e-4)
expect_close(temperature_softmax(torch.tensor([[-3000.0, -2990.0, -2995.0]]), 0.8), "very negative logits")
expect_close(temperature_softmax(torch.tensor([[2000.0, 1990.0, 1995.0], [0.5, -1.0, 0.0]]), 1.3),
             "rows of very different scale in one batch", rtol=1e-3)  # logits near 2000 carry float32 ulps of 1e-4
### END HIDDEN TESTS

# %% [markdown]
# The model and its training are given: an embedding, a one-layer LSTM with 64 units and a linear read-out,
# trained for 250 Adam steps (batches of 32 windows of 32 characters from the generated reviews,
# `labkit.text.char_corpus`), with your `clip_gradients` at norm 1. Completion feeds the prefix, then samples from
# your `temperature_softmax` and feeds each sampled character back in, carrying the LSTM's state `(h, c)` from one
# character to the next. The loss is the cross-entropy in nats; guessing uniformly among the `V` characters would
# cost `ln V`.

# %%
class CharLM(nn.Module):
    def __init__(self, n_chars: int, hidden: int = 64):
        super().__init__()
        self.embed = nn.Embedding(n_chars, 16)
        self.lstm = nn.LSTM(16, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_chars)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


corpus = labkit.text.char_corpus(labkit.text.make_reviews(600, seed=2, max_distractors=1).texts)
x_chars, y_chars = corpus.windows(seq_len=32, stride=16)
torch.manual_seed(0)
char_lm = CharLM(len(corpus.itos)).to(device)
char_opt = torch.optim.Adam(char_lm.parameters(), lr=2e-2)
char_losses = []
for step in labkit.training.progress(range(250), desc="char LM"):
    idx = torch.randint(0, len(x_chars), (32,))
    logits, _ = char_lm(x_chars[idx].to(device))
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_chars[idx].to(device).reshape(-1))
    char_opt.zero_grad()
    loss.backward()
    clip_gradients(char_lm.parameters(), 1.0)
    char_opt.step()
    char_losses.append(loss.item())
print(f"character cross-entropy: step 1 {char_losses[0]:.2f} nats, mean of the last 20 steps "
      f"{sum(char_losses[-20:]) / 20:.2f} nats (uniform guessing among {len(corpus.itos)} characters: "
      f"ln {len(corpus.itos)} = {math.log(len(corpus.itos)):.2f} nats; lower is better)")
ax = labkit.plotting.plot_curves({"character LM": char_losses}, xlabel="Adam step", ylabel="cross-entropy (nats)",
                                 title="character-level LSTM, training loss", start=1)
ax.axhline(math.log(len(corpus.itos)), ls=":", c="gray", label=f"uniform guessing (ln {len(corpus.itos)})")
ax.legend()


@torch.no_grad()
def complete(prefix: str, n_chars: int = 60, temperature: float = 0.8, seed: int = 0) -> str:
    g = torch.Generator().manual_seed(seed)
    char_lm.eval()
    logits, state = char_lm(corpus.encode(prefix)[None].to(device))
    out = []
    for _ in range(n_chars):
        probs = temperature_softmax(logits[0, -1].cpu(), temperature)
        nxt = int(torch.multinomial(probs, 1, generator=g))
        if corpus.itos[nxt] == "\n":
            break
        out.append(corpus.itos[nxt])
        logits, state = char_lm(torch.tensor([[nxt]], device=device), state)
    return prefix + "".join(out)


for tau in (0.3, 0.8, 1.5):
    for prefix in ("i do not ", "this car is "):
        print(f"τ={tau}: {complete(prefix, temperature=tau)}")

# %% [markdown]
# ## 7. Check your understanding (multiple choice)
#
# Answer each question with one letter, e.g. `answers["q1"] = "a"`.
#
# **q1.** A vanilla tanh RNN's recurrent matrix `W` has largest singular value 0.5. What happens to
# `‖∂L/∂s_t‖` as `t` moves away from the loss? (a) it grows exponentially (b) it shrinks exponentially
# (c) it stays constant (d) it oscillates without trend
#
# **q2.** Which part of the LSTM lets gradients flow across many steps?
# (a) the output gate's sigmoid (b) the tanh on the candidate (c) the additive cell-state update
# `c_t = f ⊙ c_{t−1} + i ⊙ g` with `f` close to 1 (d) the embedding layer

# %% nbgrader={"grade": false, "grade_id": "mcq_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answers = {}
### BEGIN SOLUTION
answers = {"q1": "b", "q2": "c"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q1 = assert_choice(answers.get("q1"), "abcd", "q1")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q2 = assert_choice(answers.get("q2"), "abcd", "q2")

# %% [markdown]
# ## 8. Written answer (3 points, graded by your TA)
#
# In 4–6 sentences: why does the bag-of-words model do well on plain reviews and fail on negated ones, while
# the LSTM gets both right? Then use the gradient-norm plot of section 3 and the memory-probe curve of section 5
# to explain why the vanilla RNN stops learning the probe at large distances and what in the LSTM prevents that.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_rnn", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# A bag of words only counts tokens; the sentiment word alone predicts the label of the plain majority, and the
# negation words occur equally in positive and negative reviews, so a linear model on counts cannot express
# "positive word XOR negated" and predicts the opposite class for negated reviews. The LSTM reads in order and
# its state can store "a negation was seen" and flip the meaning of the following sentiment word. In the vanilla
# RNN the gradient reaching an early state is a product of Jacobians `diag(1 − s²) W`; with ‖W‖ < 1 (or saturated
# tanh units) it shrinks exponentially, so at distance 20–40 the first token gets essentially no gradient and the
# probe stays at chance (with ‖W‖ > 1 it can instead explode). The LSTM's cell state is updated additively and,
# with the forget gate near 1, ∂c_t/∂c_{t−1} ≈ f ≈ 1, so the gradient norm stays roughly constant across time and
# the first token can be remembered.
# ### END SOLUTION
