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
# # Lab 2 — An MLP and backpropagation by hand, then overfitting and its cures
#
# **Total: 33 points** — 30 autograded (visible checks + hidden tests) and 3 for one written answer graded by your TA. Hidden tests are decided by the course's *judge*: when your TA grades, your functions run on fresh
# inputs and the values they return are compared with the solution's, outside your notebook.
#
# This lab follows the lectures on multi-layer networks and backpropagation. You will
#
# 1. write a numerically **stable softmax**, log-softmax, **cross-entropy**, and **binary cross-entropy** in a stable
#    form you derive yourself;
# 2. write the **forward pass** of a multi-layer perceptron in matrix notation, `h = σ(W1 x + b1)`, `f = W2 h + b2`;
# 3. **derive** the gradient of the softmax cross-entropy with respect to the logits and the gradients of a linear
#    layer yourself, then write the whole **backward pass by hand** (no autograd!) and check it three ways: against `torch.autograd`, against a
#    **numeric gradient** you write yourself, and on a tiny autograd engine where a node is **reused**;
# 4. train the network with **mini-batch SGD using only your gradients** on real handwritten digits (≥ 90% test
#    accuracy), then rebuild it as an `nn.Module` and watch the two loss curves coincide;
# 5. see **vanishing gradients** in a deep sigmoid network;
# 6. make a large MLP **overfit** a small training set and treat it with **inverted dropout**, **L2 weight decay** and
#    **early stopping**.
#
# **How to work.** Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
# The cell after each exercise is a *visible check*: run it; it prints `✓ ...` lines when you are right, and a
# specific message when something differs. Hidden tests with fresh random inputs and shapes are added when your TA
# grades, so make your code correct in general, not just for the visible examples. Do not rename, copy or delete
# cells. Epochs are counted from 1 everywhere (printed and plotted). The whole notebook runs in about a minute on a
# laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import copy
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import labkit
from labkit.checks import (assert_accuracy, assert_at_least, assert_choice, assert_close, assert_equal, assert_scalar,
                           assert_tensor, by_hand, compare_gradients, expect_close, expect_equal, expect_scalar,
                           rel_error)

device = labkit.setup_lab(seed=0)
# The models here are tiny: one CPU thread is as fast as several, and never oversubscribes a shared machine.
torch.set_num_threads(1)


# %% [markdown]
# ## 1. Softmax and cross-entropy
#
# The network's last layer produces **logits** `f` of shape `(N, K)`: one score per class for each of `N` examples.
# Softmax turns a row into probabilities, `p_k = e^{f_k} / Σ_j e^{f_j}`. Computed literally, `e^{1000}` overflows to
# `inf` and the result is `nan`. Because softmax does not change when you subtract the same number from every logit
# of a row, subtract the row's **maximum** first: then the largest exponent is `e^0 = 1`.
#
# The log of the softmax is needed for the loss; compute it as `log_softmax(f) = (f − m) − log Σ_j e^{f_j − m}`
# with `m` the row maximum, instead of `log(softmax(f))` (which gives `−inf` when a probability underflows to 0).
#
# Use elementwise tensor operations (`torch.exp`, `torch.log`, `.max`, `.sum`); not `torch.softmax`, `F.softmax`,
# `log_softmax` or `torch.logsumexp` (the check rejects them: writing them is the exercise).

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax(f: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax that never overflows.

    Args:
        f: (N, K) logits.

    Returns:
        (N, K) probabilities; every row is non-negative and sums to 1.
    """
    ### BEGIN SOLUTION
    shifted = f - f.max(dim=1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=1, keepdim=True)
    ### END SOLUTION


def log_softmax(f: torch.Tensor) -> torch.Tensor:
    """Row-wise log of the softmax, finite for every finite input.

    Args:
        f: (N, K) logits.

    Returns:
        (N, K) log-probabilities.
    """
    ### BEGIN SOLUTION
    shifted = f - f.max(dim=1, keepdim=True).values
    return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
by_hand("softmax", [softmax, log_softmax], forbidden=("softmax", "log_softmax", "logsumexp", "Softmax", "LogSoftmax"),
        name="softmax by hand")
f_demo = torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
# worked once: e^1, e^2, e^3 divided by their sum; adding 999 to every logit changes nothing; a gap of 1000
# makes the largest logit take all the probability (e^-1000 underflows to 0, which is fine)
p_rows = torch.tensor([[0.090031, 0.244728, 0.665241], [0.090031, 0.244728, 0.665241], [0.0, 0.0, 1.0]])
assert_close(softmax(f_demo), p_rows, "softmax of 3 rows, including logits near ±1000", atol=1e-6, rtol=1e-5)
# log_softmax = (f - m) - log Σ e^(f - m): finite even where the probability underflows to 0
logp_rows = torch.tensor([[-2.407606, -1.407606, -0.407606], [-2.407606, -1.407606, -0.407606], [-2000.0, -1000.0, 0.0]])
assert_close(log_softmax(f_demo), logp_rows, "log_softmax of the same rows (−2000, not −inf)", atol=1e-4, rtol=1e-6)
f_wide = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0], [3.0, 1.0, 4.0, 1.0, 5.0]])
assert_close(softmax(f_wide).sum(dim=1), torch.ones(2), "each row of a (2, 5) softmax sums to 1")
assert_close(softmax(f_wide)[0], torch.full((5,), 0.2), "equal logits give equal probabilities 1/K")
assert_equal(str(softmax(f_wide.double()).dtype), "torch.float64", "softmax of a float64 input stays float64")
f_kept = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]])
softmax(f_kept), log_softmax(f_kept)
assert_close(f_kept, torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]]),
             "softmax and log_softmax leave their input unchanged (no in-place f -= ...)")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2101)
for _n, _k, _scale in [(5, 7, 1.0), (13, 3, 300.0), (2, 11, 80.0), (1, 2, 1e4)]:
    _f = _scale * torch.randn(_n, _k, generator=_g)
    expect_close(softmax(_f.clone()), f"softmax on random ({_n}, {_k}) x {_scale:g}")
    expect_close(log_softmax(_f.clone()), f"log_softmax on random ({_n}, {_k})", atol=1e-3 * max(1.0, _scale / 100),
                 rtol=1e-5)
_f64 = torch.randn(4, 6, generator=_g, dtype=torch.float64) * 50
expect_close(softmax(_f64.clone()), "softmax keeps float64", atol=1e-12)
expect_equal(str(softmax(_f64.clone()).dtype), "softmax returns the input's dtype")
_f_kept = _f64.clone()
softmax(_f_kept), log_softmax(_f_kept)
expect_close(_f_kept, "softmax and log_softmax leave their input unchanged", atol=0.0, rtol=0.0)
### END HIDDEN TESTS

# %% [markdown]
# **Cross-entropy** for `K` classes is the mean over the batch of `−log p_{y_i}`, the negative log-probability of the
# correct class. For two classes a network often outputs a single logit `z` with `P(y=1) = σ(z) = 1 / (1 + e^{−z})`;
# the **binary cross-entropy** is the mean over the batch of `−[y log σ(z) + (1 − y) log(1 − σ(z))]`, with `y` in
# `{0, 1}`. Computed literally it breaks: for `z = 100` in float32, `σ(z)` rounds to exactly 1 and `log(1 − σ(z))` is
# `−inf`.
#
# **Derive a stable form** (on paper first):
#
# 1. Show that `−log σ(z) = log(1 + e^{−z})` and, using `1 − σ(z) = σ(−z)`, that `−log(1 − σ(z)) = log(1 + e^{z})`.
# 2. Each of these still overflows for one sign of `z` (in float32, `e^{89}` is already `inf`). Find a form of
#    `log(1 + e^{u})` that never raises `e` to a positive power: for `u > 0`, factor `e^{u}` out of `1 + e^{u}`. Write
#    the result for both signs of `u` as **one** expression using `max(u, 0)` and `|u|`.
# 3. Put the two pieces together for the loss (with `y` in `{0, 1}` the two terms can even be merged into one).
#
# `torch.log1p(t)` computes `log(1 + t)` accurately for small `t`. The check compares your loss with values worked out
# once, including logits of ±100, where the literal formula gives `inf` or `nan`. (No `F.cross_entropy`, `F.nll_loss`
# or `F.binary_cross_entropy*` here: the check rejects them.)

# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy.

    Args:
        logits: (N, K) scores; y: (N,) int64 class ids in [0, K).

    Returns:
        0-d tensor: mean over i of -log softmax(logits)[i, y[i]].
    """
    ### BEGIN SOLUTION
    logp = log_softmax(logits)
    return -logp[torch.arange(len(y), device=logits.device), y].mean()
    ### END SOLUTION


def binary_cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy computed from logits, finite for every finite z.

    Args:
        z: (N,) logits; y: (N,) float targets in {0., 1.}.

    Returns:
        0-d tensor.
    """
    ### BEGIN SOLUTION
    return (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
by_hand("cross_entropy", [cross_entropy, binary_cross_entropy],
        forbidden=("cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss",
                   "CrossEntropyLoss", "BCEWithLogitsLoss", "BCELoss", "NLLLoss"),
        name="losses by hand")
logits_demo = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 0.4], [500.0, -500.0, 0.0, 1.0]])
y_demo = torch.tensor([0, 2, 1])
# worked once: the three losses -log p_{y_i} are 0.342350, 1.342536 and 1000 (500 − (−500): the correct class is
# 1000 below the best one), so the mean is 333.894958
assert_scalar(cross_entropy(logits_demo, y_demo), 333.894958, "cross-entropy of a (3, 4) batch, one logit 500",
              rtol=1e-5)
assert_scalar(cross_entropy(logits_demo[:2], y_demo[:2]), (0.342350 + 1.342536) / 2, "cross-entropy of its first 2 rows",
              rtol=1e-5)
# sanity check from the lecture: equal logits give p = 1/K for every class, so the loss is ln K
assert_scalar(cross_entropy(torch.zeros(4, 10), torch.tensor([0, 3, 9, 5])), math.log(10), "loss at equal logits = ln 10",
              rtol=1e-6)
# worked once, example by example: 0.048587, ln 2 = 0.693147, 0.078889, 100 and 100 (a logit of ±100 on the wrong
# side costs 100), so the mean is 40.164124
z_demo, t_demo = torch.tensor([-3.0, 0.0, 2.5, 100.0, -100.0]), torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
assert_scalar(binary_cross_entropy(z_demo, t_demo), 40.164124, "binary cross-entropy, including logits ±100 (finite)",
              rtol=1e-5)
assert_tensor(binary_cross_entropy(z_demo, t_demo), "binary cross-entropy", shape=())
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2201)
for _n, _k, _scale in [(9, 4, 1.0), (30, 10, 40.0), (1, 2, 3.0)]:
    _f = _scale * torch.randn(_n, _k, generator=_g)
    _y = torch.randint(0, _k, (_n,), generator=_g)
    expect_close(cross_entropy(_f.clone(), _y.clone()), f"cross-entropy on random ({_n}, {_k})", atol=1e-4, rtol=1e-5)
    _z = _scale * 5 * torch.randn(_n, generator=_g)
    _t = (torch.rand(_n, generator=_g) > 0.5).float()
    expect_close(binary_cross_entropy(_z.clone(), _t.clone()), f"binary cross-entropy on random N={_n}", atol=1e-4,
                 rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The forward pass of an MLP
#
# A layer computes `z = W a + b` for one column vector `a`. For a mini-batch we store examples as **rows** of
# `A` with shape `(N, n_in)`, so the layer becomes `Z = A Wᵀ + b`, and the bias `b` of shape `(n_out,)` is
# **broadcast** over the `N` rows. `W` has shape `(n_out, n_in)`, as in `nn.Linear`.
#
# An MLP is a list `params = [(W1, b1), (W2, b2), …]`. Every hidden layer applies the activation `σ`; the last
# layer does not (it outputs logits). The backward pass (next section) needs the intermediate values, so also return
# a **cache**: anything you like, for example the list of each layer's input and pre-activation.
#
# The activations and their derivatives are given:

# %% nbgrader={"grade": false, "grade_id": "given_mlp", "locked": true, "schema_version": 3, "solution": false, "task": false}
ACTIVATIONS = {
    # name: (σ(z), σ'(z))
    "relu": (torch.relu, lambda z: (z > 0).to(z.dtype)),
    "sigmoid": (torch.sigmoid, lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
    "tanh": (torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
}


def init_mlp(sizes: list[int], seed: int = 0, dtype=torch.float32, device="cpu", bias_scale: float = 0.0):
    """Random MLP parameters: W (n_out, n_in) ~ N(0, 2/n_in) (He initialisation), b ~ N(0, bias_scale²)."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = torch.randn(n_out, n_in, generator=g, dtype=dtype) * math.sqrt(2.0 / n_in)
        b = torch.randn(n_out, generator=g, dtype=dtype) * bias_scale
        params.append((W.to(device), b.to(device)))
    return params


# %% nbgrader={"grade": false, "grade_id": "mlp_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mlp_forward(x: torch.Tensor, params: list, activation: str = "relu"):
    """Forward pass of an MLP.

    Args:
        x: (N, n_0) inputs.
        params: [(W_1, b_1), ..., (W_L, b_L)] with W_l: (n_l, n_{l-1}) and b_l: (n_l,).
        activation: a key of ACTIVATIONS, applied after every layer except the last.

    Returns:
        logits: (N, n_L), and cache: whatever your backward pass needs.
    """
    act, _ = ACTIVATIONS[activation]
    ### BEGIN SOLUTION
    cache = []
    a, z = x, None
    for layer, (W, b) in enumerate(params):
        cache.append((a, z))  # this layer's input and the pre-activation it came from
        z = a @ W.T + b
        a = act(z) if layer < len(params) - 1 else z
    return z, cache
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mlp_forward", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# worked by hand: 2 -> 3 -> 2 with ReLU. Row 1, x = (1, 2): z1 = (1·1 − 1·2 + 0, 0.5 + 1 − 1, −2 + 2 + 0.5)
# = (−1, 0.5, 0.5), relu -> (0, 0.5, 0.5), logits = (0 + 1 − 0.5 + 0.5, 0 − 0.5 + 0.5 − 0.5) = (1, −0.5).
x_hand = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
params_hand_demo = [(torch.tensor([[1.0, -1.0], [0.5, 0.5], [-2.0, 1.0]]), torch.tensor([0.0, -1.0, 0.5])),
                    (torch.tensor([[1.0, 2.0, -1.0], [0.0, -1.0, 1.0]]), torch.tensor([0.5, -0.5]))]
logits, _ = mlp_forward(x_hand, params_hand_demo)
assert_tensor(logits, "logits (2 -> 3 -> 2)", shape=(2, 2))
assert_close(logits, torch.tensor([[1.0, -0.5], [-2.5, 2.5]]), "worked example 2 -> 3 -> 2, relu (no relu on the logits)")
# two hidden layers (3 -> 6 -> 5 -> 4), 4 examples, non-zero biases; numbers worked out once
x_fwd = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
params_deep = init_mlp([3, 6, 5, 4], seed=2, bias_scale=0.5)
expected_deep = {
    "sigmoid": [[-1.4123, 0.3281, 0.1721, 0.2947], [-1.3751, 0.3408, 0.2809, 0.2408],
                [-1.4449, 0.2734, 0.0386, 0.4092], [-1.4012, 0.2834, 0.2621, 0.3153]],
    "tanh": [[-0.6636, 0.1721, 0.0560, 0.9280], [-0.3820, 0.3614, 0.8022, 0.3317],
             [-0.6250, -0.1889, -1.2487, 1.5981], [-0.5229, -0.2851, 0.8621, 1.1411]],
}
for act_name, rows in expected_deep.items():
    logits, _ = mlp_forward(x_fwd, params_deep, act_name)
    assert_tensor(logits, f"logits (3 -> 6 -> 5 -> 4, {act_name})", shape=(4, 4))
    assert_close(logits, torch.tensor(rows), f"two hidden layers (3 -> 6 -> 5 -> 4), {act_name}", atol=1e-4, rtol=0)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2301)
for _sizes, _act in [([7, 3], "relu"), ([2, 9, 5, 8, 3], "tanh"), ([10, 4, 6], "sigmoid"), ([5, 8, 8, 2], "relu")]:
    _n = int(torch.randint(1, 20, (1,), generator=_g))
    _x = torch.randn(_n, _sizes[0], generator=_g)
    _params = init_mlp(_sizes, seed=int(torch.randint(0, 10**6, (1,), generator=_g)), bias_scale=0.7)
    _logits, _ = mlp_forward(_x.clone(), [(W.clone(), b.clone()) for W, b in _params], _act)
    expect_close(_logits, f"MLP {_sizes} with {_act}, N={_n}", atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The backward pass by hand
#
# Training needs `∂L/∂W_l` and `∂L/∂b_l` for every layer. Backpropagation (lecture: the backward pass) works backwards
# from the loss, one layer at a time, with the chain rule. You derive both of its pieces yourself: first the gradient
# at the logits, then the gradients of a linear layer.
#
# **Derive `∂L/∂S`.** Take one example with logits `f` (one row of the `(N, K)` logits matrix `S`, `K` entries) and label `y`. Its loss is
#
# `ℓ = −log p_y = −f_y + log Σ_j e^{f_j}`, with `p = softmax(f)`.
#
# On paper, differentiate `ℓ` with respect to one logit `f_k`: the first term contributes only when `k = y`; for the
# second, apply the chain rule to the log and recognise `p_k` in the result. Write both cases as one expression with
# `p_k` and the indicator `[k = y]` (1 when `k = y`, else 0). The batch loss is the **mean** `L = (1/N) Σ_i ℓ_i`:
# what does the mean do to `∂L/∂S[i, k]`?
#
# Turn your result into `cross_entropy_grad(logits, y)`, with your `softmax` and without autograd. The check compares
# it with autograd's gradient of `F.cross_entropy` and prints the largest difference next to the tolerance. A
# self-check for your derivation: every row of `∂L/∂S` sums to 0 — can you see why from your formula?

# %% nbgrader={"grade": false, "grade_id": "logits_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Gradient of L = cross_entropy(logits, y) (the mean over the batch) with respect to the logits, by hand.

    Args:
        logits: (N, K) scores; y: (N,) int64 class ids in [0, K).

    Returns:
        (N, K) tensor, dtype of logits: entry [i, k] is ∂L/∂logits[i, k].
    """
    ### BEGIN SOLUTION
    n = logits.shape[0]
    g = softmax(logits)
    g[torch.arange(n, device=g.device), y] -= 1
    return g / n
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_logits_grad", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
by_hand("logits_grad", [cross_entropy_grad], forbidden=("backward", "grad", "vjp", "jacobian", "requires_grad_"),
        name="gradient at the logits without autograd")
# worked once from the definition: equal logits give p = 1/3 for each of K = 3 classes; N = 2, labels 1 and 0
# (class 2 is never the label: the result must still have K = 3 columns)
g_equal = cross_entropy_grad(torch.zeros(2, 3), torch.tensor([1, 0]))
assert_tensor(g_equal, "∂L/∂S for N=2, K=3", shape=(2, 3))
assert_close(g_equal, torch.tensor([[1 / 6, -1 / 3, 1 / 6], [-1 / 3, 1 / 6, 1 / 6]]), "∂L/∂S at equal logits, N=2, K=3")
# against autograd: torch's cross-entropy, differentiated by torch, on a (5, 4) float64 batch with large logits
logits_ag = 4 * torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(31))
y_ag = torch.tensor([3, 0, 0, 2, 1])
leaf = logits_ag.clone().requires_grad_(True)
F.cross_entropy(leaf, y_ag).backward()
g_mine = cross_entropy_grad(logits_ag.clone(), y_ag)
assert_tensor(g_mine, "∂L/∂S for a (5, 4) float64 batch", shape=(5, 4), dtype=torch.float64)
assert_close(g_mine, leaf.grad, "∂L/∂S against autograd, (5, 4) float64", atol=1e-12, rtol=1e-9)
assert_close(g_mine.sum(dim=1), torch.zeros(5, dtype=torch.float64), "each row of ∂L/∂S sums to 0", atol=1e-12)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2351)
for _n, _k, _scale in [(1, 2, 1.0), (7, 10, 30.0), (16, 3, 2.0)]:
    _f = _scale * torch.randn(_n, _k, generator=_g, dtype=torch.float64)
    _y = torch.randint(0, _k, (_n,), generator=_g)
    expect_close(cross_entropy_grad(_f.clone(), _y.clone()), f"∂L/∂S on random ({_n}, {_k}) x {_scale:g}", atol=1e-12,
                 rtol=1e-9)
expect_close(cross_entropy_grad(torch.tensor([[800.0, 0.0, -800.0]]), torch.tensor([2])), "∂L/∂S with logits ±800 (float32)")
### END HIDDEN TESTS

# %% [markdown]
# **The rest of the chain: derive the rules of a linear layer.** With `G = ∂L/∂S` from your `cross_entropy_grad`, go
# back through the layers. Two rules are needed.
#
# * **A linear layer** `Z = A Wᵀ + b`, with input `A` of shape `(N, n_in)`, `W` of shape `(n_out, n_in)`, and the
#   upstream gradient `G = ∂L/∂Z` of shape `(N, n_out)` already known. Write one entry:
#   `Z[i, o] = Σ_j A[i, j] W[o, j] + b[o]`. The chain rule: the gradient of a variable is the sum, over every entry
#   `Z[i, o]` that the variable appears in, of `G[i, o] · ∂Z[i, o]/∂(the variable)`. On paper, find `∂L/∂W[o, j]`
#   (which entries of `Z` contain `W[o, j]`, and with which factor?), then `∂L/∂b[o]` (the bias is broadcast over the
#   `N` rows) and `∂L/∂A[i, j]`. Then write each sum as a matrix product or a sum over one axis, without Python loops
#   over entries. Self-check: every gradient has the shape of its variable — `∂L/∂W` is `(n_out, n_in)` like `W` and
#   `∂L/∂A` is `(N, n_in)` like `A` — which tells you where the transposes go.
# * **Through the activation** `A = σ(Z)` (elementwise), each `Z[i, o]` appears only in `A[i, o]`:
#   `∂L/∂Z = ∂L/∂A ⊙ σ'(Z)` (elementwise product), with `σ'` from `ACTIVATIONS`.
#
# The check compares your loss and every gradient with autograd's on two small networks and prints, for each tensor,
# the **relative error** — the largest `|mine − autograd| / (|mine| + |autograd|)` over its entries, which does not
# depend on how large the gradients are — next to its tolerance; in section 5 you check them a second way, with a numeric gradient.
#
# Do **not** use autograd: the check runs your function under `torch.no_grad()` and rejects `.backward()` and
# `torch.autograd` in this cell.

# %% nbgrader={"grade": false, "grade_id": "mlp_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mlp_loss_and_grads(x: torch.Tensor, y: torch.Tensor, params: list, activation: str = "relu"):
    """Mean cross-entropy of the MLP and its gradient for every parameter, by hand.

    Args:
        x: (N, n_0) inputs; y: (N,) int64 labels in [0, n_L).
        params: [(W_1, b_1), ..., (W_L, b_L)] as in mlp_forward.
        activation: a key of ACTIVATIONS.

    Returns:
        loss: 0-d tensor, and grads: [(dW_1, db_1), ..., (dW_L, db_L)] with the shapes of params.
    """
    _, d_act = ACTIVATIONS[activation]
    ### BEGIN SOLUTION
    logits, cache = mlp_forward(x, params, activation)
    loss = cross_entropy(logits, y)
    g = cross_entropy_grad(logits, y)
    grads = [None] * len(params)
    for layer in reversed(range(len(params))):
        a_in, z_in = cache[layer]
        W, _ = params[layer]
        grads[layer] = (g.T @ a_in, g.sum(dim=0))
        if layer > 0:
            g = (g @ W) * d_act(z_in)
    return loss, grads
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mlp_backward", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
by_hand("mlp_backward", [mlp_loss_and_grads], forbidden=("backward", "grad", "vjp", "jacobian", "requires_grad_"),
        name="backward pass without autograd")


def _check_backward(x, y, params, activation, name):
    with torch.no_grad():
        loss, grads = mlp_loss_and_grads(x.clone(), y.clone(), [(W.clone(), b.clone()) for W, b in params], activation)
    # autograd, through your own mlp_forward (checked in section 2) and torch's cross-entropy
    leaves = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True)) for W, b in params]
    ref_loss = F.cross_entropy(mlp_forward(x, leaves, activation)[0], y)
    ref_loss.backward()
    assert_scalar(loss, float(ref_loss.detach()), f"{name}: loss", rtol=1e-9)
    assert_equal(type(grads).__name__ in ("list", "tuple") and len(grads) == len(params), True,
                 f"{name}: grads is a list with one (dW, db) pair per layer")
    mine = {f"{n}{i + 1}": t for i, (dW, db) in enumerate(grads) for n, t in (("W", dW), ("b", db))}
    ref = {f"{n}{i + 1}": t.grad for i, (W, b) in enumerate(leaves) for n, t in (("W", W), ("b", b))}
    print(f"{name}: your gradients against autograd's")
    worst = compare_gradients(mine, ref, tol=1e-6)
    print(f"✓ {name}: worst relative error {worst:.1e} ≤ 1e-06")


# float64 and non-zero biases, so that nothing cancels by accident; 6 examples, non-square layers
x_demo = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
y_demo = torch.tensor([0, 1, 2, 0, 2, 1])
_check_backward(x_demo, y_demo, init_mlp([4, 5, 3], seed=4, dtype=torch.float64, bias_scale=0.5), "relu", "4 -> 5 -> 3, relu")
_check_backward(x_demo, y_demo, init_mlp([4, 5, 6, 3], seed=5, dtype=torch.float64, bias_scale=0.5), "sigmoid",
                "4 -> 5 -> 6 -> 3, sigmoid")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2401)
for _sizes, _act in [([3, 2], "relu"), ([6, 8, 7, 5], "tanh"), ([5, 9, 4], "sigmoid"), ([8, 7, 6, 5, 4], "relu")]:
    _n = int(torch.randint(1, 16, (1,), generator=_g))
    _x = torch.randn(_n, _sizes[0], generator=_g, dtype=torch.float64)
    _y = torch.randint(0, _sizes[-1], (_n,), generator=_g)
    _params = init_mlp(_sizes, seed=int(torch.randint(0, 10**6, (1,), generator=_g)), dtype=torch.float64, bias_scale=0.5)
    with torch.no_grad():
        _loss, _grads = mlp_loss_and_grads(_x.clone(), _y.clone(), [(W.clone(), b.clone()) for W, b in _params], _act)
    _name = f"{_sizes} {_act} N={_n}"
    expect_scalar(_loss, f"loss, {_name}", rtol=1e-9)
    expect_equal(len(_grads), f"number of (dW, db) pairs, {_name}")
    for _i, (_dW, _db) in enumerate(_grads):
        expect_close(_dW, f"dW{_i + 1}, {_name}", rtol=1e-7, atol=1e-10)
        expect_close(_db, f"db{_i + 1}, {_name}", rtol=1e-7, atol=1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The same rule on a graph: reused nodes
#
# Backpropagation works on any computation graph, not only on layers. Below is a tiny scalar autograd engine in the
# style of micrograd: every `Value` remembers its inputs and a `_backward` function that passes `out.grad` on to them
# with the local derivative. `backward()` visits the nodes in reverse topological order.
#
# Fill in the three `_backward` functions. The trap: a node can be used **more than once** (`b = a + a`,
# `c = a * a`, or `a` feeding two different operations). Its gradient is the **sum** of what every use sends back,
# so accumulate with `+=`; an `=` silently keeps only the last contribution.

# %% nbgrader={"grade": false, "grade_id": "value_engine", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Value:
    """A scalar that remembers how it was computed."""

    def __init__(self, data: float, children: tuple = ()):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            ### BEGIN SOLUTION
            self.grad += out.grad
            other.grad += out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            ### BEGIN SOLUTION
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            ### BEGIN SOLUTION
            self.grad += (1 - t**2) * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def backward(self):
        """Set d(self)/d(self) = 1 and propagate to every node that self depends on."""
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for child in v._prev:
                    visit(child)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"


# %% nbgrader={"grade": true, "grade_id": "test_value_engine", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
a = Value(3.0)
b = a + a
b.backward()
assert_scalar(a.grad, 2.0, "b = a + a: db/da")
a = Value(-1.5)
c = a * a
c.backward()
assert_scalar(a.grad, -3.0, "c = a * a: dc/da = 2a")
a, w = Value(0.7), Value(-0.4)
d = (a * w + a).tanh()
d.backward()
# worked once: u = a·w + a = 0.42 and dd/du = 1 − tanh²(0.42) = 0.842446, so
# dd/da = 0.842446·(w + 1) (a is used twice) and dd/dw = 0.842446·a
assert_scalar(d.data, math.tanh(0.42), "d = tanh(a*w + a): value", rtol=1e-9)
assert_scalar(a.grad, (1 - math.tanh(0.42) ** 2) * 0.6, "d = tanh(a*w + a): dd/da (a used twice)", rtol=1e-9)
assert_scalar(w.grad, (1 - math.tanh(0.42) ** 2) * 0.7, "d = tanh(a*w + a): dd/dw", rtol=1e-9)
# tanh inside the graph, not at its root: the gradient arriving at tanh's output is y, not 1. Worked once:
# tanh(0.5) = 0.462117 and 1 − tanh²(0.5) = 0.786448, so with y = −2: dL/dx = −1.572895 and dL/dy = 0.462117
xv, yv = Value(0.5), Value(-2.0)
L = xv.tanh() * yv
L.backward()
assert_scalar(xv.grad, -2.0 * (1 - math.tanh(0.5) ** 2), "L = tanh(x) * y: dL/dx = y·(1 − tanh²x)", rtol=1e-9)
assert_scalar(yv.grad, math.tanh(0.5), "L = tanh(x) * y: dL/dy = tanh(x)", rtol=1e-9)
xv = Value(-0.3)
L = 3 * xv.tanh() + xv
L.backward()
assert_scalar(xv.grad, 3 * (1 - math.tanh(-0.3) ** 2) + 1, "L = 3·tanh(x) + x: dL/dx = 3·(1 − tanh²x) + 1", rtol=1e-9)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2501)
for _trial in range(3):
    _vals = (torch.randn(3, generator=_g, dtype=torch.float64) * 1.5).tolist()
    _va, _vb, _vc = (Value(v_) for v_ in _vals)
    _d = _va * _vb + _vc * _va
    _e = _d.tanh() * _d + _vb * _vb
    _out = _e * _vc + (_e + _va).tanh() + 2.0 * _va
    _out.backward()
    expect_scalar(_out.data, f"random expression {_trial}: value", rtol=1e-9)
    for _name, _v in (("a", _va), ("b", _vb), ("c", _vc)):
        expect_scalar(_v.grad, f"random expression {_trial}: d/d{_name}", rtol=1e-7, atol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. A numeric gradient check
#
# How do you know a hand-written gradient is right when there is no autograd to compare with? Perturb one input at a
# time and measure how the loss moves. The **central difference**
#
# `∂f/∂x_j ≈ (f(x + h e_j) − f(x − h e_j)) / (2h)`
#
# has an error of order `h²`; the one-sided `(f(x + h e_j) − f(x)) / h` only of order `h`, too coarse to tell a
# right gradient from a slightly wrong one. Write the central version. `f` takes a tensor shaped like `x` and returns a
# scalar (a 0-d tensor or a float). Leave `x` unchanged when you return (perturb a copy, or restore each entry), and
# return the gradient in `x`'s dtype.
#
# Careful with memory layout: a tensor such as `x.T` is **not contiguous** (its entries are not stored row by row), so
# `x.view(-1)` raises an error on it and `x.reshape(-1)` silently returns a *copy* — writing into that copy does not
# change what `f` sees. The check includes a transposed input.

# %% nbgrader={"grade": false, "grade_id": "numeric_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numeric_gradient(f, x: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """Central-difference estimate of the gradient of a scalar function.

    Args:
        f: callable, f(t) -> scalar for a tensor t shaped like x.
        x: tensor of any shape, contiguous in memory or not (use float64 for accurate checks).
        h: step size.

    Returns:
        tensor shaped like x (same dtype): entry j is (f(x + h e_j) - f(x - h e_j)) / (2h).
    """
    ### BEGIN SOLUTION
    work = x.detach().clone(memory_format=torch.contiguous_format)  # a contiguous copy: x itself never changes
    grad = torch.zeros_like(work)
    flat_x, flat_grad = work.view(-1), grad.view(-1)
    for j in range(flat_x.numel()):
        old = flat_x[j].item()
        flat_x[j] = old + h
        f_plus = float(f(work))
        flat_x[j] = old - h
        f_minus = float(f(work))
        flat_x[j] = old
        flat_grad[j] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_numeric_gradient", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
x_demo = torch.linspace(-2.0, 2.0, 7, dtype=torch.float64).reshape(7, 1) + torch.tensor([[0.1, 0.3]], dtype=torch.float64)
x_before = x_demo.clone()
fn = lambda t: (torch.sin(t) * t**2).sum()  # noqa: E731
analytic = torch.cos(x_demo) * x_demo**2 + 2 * x_demo * torch.sin(x_demo)
numeric = numeric_gradient(fn, x_demo, h=1e-4)
assert_tensor(numeric, "numeric gradient of a (7, 2) float64 input", shape=(7, 2), dtype=torch.float64)
assert_close(x_demo, x_before, "x is unchanged after numeric_gradient")
assert_close(numeric, analytic, "central difference of sum(sin(x) x²), h=1e-4", atol=1e-7, rtol=1e-7)
# the checker must tell a slightly wrong gradient (the chain rule's 2x·sin(x) term forgotten) from the right one
wrong = torch.cos(x_demo) * x_demo**2
print(f"relative error against the right gradient {rel_error(numeric, analytic):.1e} (right: ≤ 1e-6 at this step size)")
assert_at_least(rel_error(numeric, wrong), 1e-2, "relative error against the wrong gradient (should be ≥ 1e-2)")
# A transposed tensor is not contiguous in memory: x.view(-1) raises on it, and x.reshape(-1) silently returns a
# copy, so writing into that copy never changes what f sees. The function couples the entries (logsumexp, products),
# so an entry that is not put back after its step shows up in every later one.
x_t = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]], dtype=torch.float64).T  # shape (3, 2), not contiguous
x_t_before = x_t.clone()
coupled = lambda t: torch.logsumexp(t.reshape(-1), 0) + (t[:, 0] * t[:, 1]).sum()  # noqa: E731
leaf = x_t.clone().requires_grad_(True)
coupled(leaf).backward()
numeric_t = numeric_gradient(coupled, x_t)
assert_tensor(numeric_t, "numeric gradient of a transposed (3, 2) input", shape=(3, 2), dtype=torch.float64)
assert_close(x_t, x_t_before, "the transposed x is unchanged")
assert_close(numeric_t, leaf.grad, "numeric gradient of a transposed (non-contiguous) input against autograd", atol=1e-8,
             rtol=1e-7)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2601)
_A = torch.randn(5, 5, generator=_g, dtype=torch.float64)
for _shape in [(3,), (2, 4), (5, 1, 2)]:
    _x = torch.randn(*_shape, generator=_g, dtype=torch.float64)
    _before = _x.clone()
    _f = lambda t: torch.logsumexp(t.reshape(-1), 0) + (t**3).sum() * 0.1  # noqa: E731
    _num = numeric_gradient(_f, _x, h=1e-4)
    expect_close(_x, f"x unchanged, shape {_shape}")
    expect_close(_num, f"numeric gradient, shape {_shape}", atol=1e-7, rtol=1e-7)
    expect_equal(str(_num.dtype), f"numeric gradient dtype, shape {_shape}")
_xp = torch.randn(4, 3, 2, generator=_g, dtype=torch.float64).permute(2, 0, 1)  # (2, 4, 3), not contiguous
_num = numeric_gradient(lambda t: torch.logsumexp(t.reshape(-1), 0) + (t**3).sum() * 0.1, _xp, h=1e-4)
expect_close(_num, "numeric gradient of a permuted input", atol=1e-7, rtol=1e-7)
_v = torch.randn(5, generator=_g, dtype=torch.float64)
_num = numeric_gradient(lambda t: float(t @ _A @ t), _v, h=1e-3)  # f may return a float
expect_close(_num, "numeric gradient of a quadratic form (f returns a float)", atol=1e-7, rtol=1e-7)
### END HIDDEN TESTS

# %% [markdown]
# Now check your backward pass with it, in float64, on a small network: perturb each weight matrix and bias vector,
# keep the rest fixed. Relative errors (defined in section 3) of `1e-6` or smaller mean your gradients are right;
# `1e-2` or larger means a bug.

# %%
x_gc = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
y_gc = torch.tensor([0, 2, 1, 1, 0])
params_gc = init_mlp([4, 6, 3], seed=8, dtype=torch.float64, bias_scale=0.3)
_, grads_gc = mlp_loss_and_grads(x_gc, y_gc, params_gc, "tanh")


def loss_with(layer, which, t):
    """The loss with params_gc[layer][which] (0 = W, 1 = b) replaced by t."""
    params = [list(pair) for pair in params_gc]
    params[layer][which] = t
    return mlp_loss_and_grads(x_gc, y_gc, params, "tanh")[0]


for layer in range(len(params_gc)):
    for which, name in enumerate("Wb"):
        grad = grads_gc[layer][which]
        num = numeric_gradient(lambda t: loss_with(layer, which, t), params_gc[layer][which].clone())
        err = rel_error(grad, num)
        verdict = "✓ right" if err <= 1e-6 else ("✗ a bug" if err >= 1e-2 else "? look closer")
        print(f"{name}{layer + 1}: relative error between your gradient and the numeric one {err:.1e} "
              f"(≤ 1e-6: right, ≥ 1e-2: a bug) {verdict}")


# %% [markdown]
# ## 6. Training on handwritten digits with your own gradients
#
# Time to learn something real: 28×28 MNIST digits, flattened to 784 inputs (3,500 for training, 500 for validation,
# 1,000 for testing). Write
#
# * `sgd_step(params, grads, lr)`: update every parameter **in place**, `W ← W − lr · dW` (careful: `W = W - …`
#   only rebinds a local name and changes nothing in `params`);
# * `train_by_hand(...)`: mini-batch SGD with `mlp_loss_and_grads`. Start from `init_mlp(sizes, seed=seed,
#   device=device)`, draw batches from `labkit.make_loader(train_set, batch_size, seed=seed)` — made once, before the
#   epoch loop: it shuffles differently every epoch, while a new loader each epoch repeats the first order — move each
#   batch to `device`, and record each epoch's mean training loss as a Python float: each batch's loss weighted by its size
#   (the last batch is smaller when the batch size does not divide the number of examples).

# %% nbgrader={"grade": false, "grade_id": "train_by_hand", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_step(params: list, grads: list, lr: float) -> None:
    """In place: W -= lr * dW and b -= lr * db for every layer. Returns nothing."""
    ### BEGIN SOLUTION
    for (W, b), (dW, db) in zip(params, grads):
        W -= lr * dW
        b -= lr * db
    ### END SOLUTION


def train_by_hand(train_set, sizes: list[int], epochs: int = 8, lr: float = 0.1, batch_size: int = 64,
                  seed: int = 0, activation: str = "relu"):
    """Mini-batch SGD on an MLP using only hand-written gradients.

    Args:
        train_set: a TensorDataset of (x: (784,) float, y: int64) pairs.
        sizes: layer widths, e.g. [784, 128, 10].

    Returns:
        params: the trained [(W, b), ...] (on device), and losses: list of epochs floats (mean training loss).
    """
    ### BEGIN SOLUTION
    params = init_mlp(sizes, seed=seed, device=device)
    loader = labkit.make_loader(train_set, batch_size=batch_size, seed=seed)
    losses = []
    for _ in labkit.training.progress(range(epochs), desc="by hand", unit="epoch"):
        total, count = 0.0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss, grads = mlp_loss_and_grads(x, y, params, activation)
            sgd_step(params, grads, lr)
            total += loss.item() * len(x)
            count += len(x)
        losses.append(total / count)
    return params, losses
    ### END SOLUTION


# %% [markdown]
# Before training, the lecture's sanity check: with small random weights all ten classes look alike, so the loss
# should be close to `ln 10 ≈ 2.30` (the loss of a network that gives every class probability 1/10). After
# training, the goal of this section is a test accuracy of at least 0.90.

# %%
digits = labkit.data.mnist5k_splits(flatten=True)
x_test, y_test = digits.test.tensors
labkit.plotting.show_images(x_test[:10].reshape(-1, 28, 28), [int(v) for v in y_test[:10]], title="test digits")
with torch.no_grad():
    start_loss, _ = mlp_loss_and_grads(x_test.to(device), y_test.to(device), init_mlp([784, 128, 10], device=device))
near_ln10 = abs(float(start_loss) - math.log(10)) <= 0.2
print(f"initial loss {float(start_loss):.3f}, ln 10 = {math.log(10):.3f}: "
      + ("✓ within 0.2 of ln 10" if near_ln10 else "✗ more than 0.2 from ln 10: look at your forward pass and loss"))

params_hand, losses_hand = train_by_hand(digits.train, [784, 128, 10])
with torch.no_grad():
    hand_accuracy = labkit.training.accuracy(mlp_forward(x_test.to(device), params_hand)[0], y_test)
print(f"test accuracy of the hand-trained MLP: {hand_accuracy:.3f} "
      + ("✓ ≥ 0.90" if hand_accuracy >= 0.90 else "✗ below the goal of 0.90: look at your gradients and sgd_step"))

# %% nbgrader={"grade": true, "grade_id": "test_train_by_hand", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
# sgd_step, worked by hand: 1 − 0.25·2 = 0.5 and 1 − 0.25·(−1) = 1.25, written into the same tensors
W_sgd, b_sgd = torch.ones(2, 3), torch.ones(2)
returned = sgd_step([(W_sgd, b_sgd)], [(torch.full((2, 3), 2.0), torch.full((2,), -1.0))], 0.25)
assert_close(W_sgd, torch.full((2, 3), 0.5), "sgd_step changes W in place")
assert_close(b_sgd, torch.full((2,), 1.25), "sgd_step changes b in place")
assert_equal(returned, None, "sgd_step returns nothing")

_digits = labkit.data.mnist5k_splits(flatten=True)
_x_test, _y_test = _digits.test.tensors
# 10 images in batches of 4, 4 and 2, tanh, lr 0.5, seed 3 (not the defaults): numbers worked out once
tiny_set = torch.utils.data.TensorDataset(*(t[:10] for t in _digits.train.tensors))
_, tiny_losses = train_by_hand(tiny_set, [784, 16, 10], epochs=3, lr=0.5, batch_size=4, seed=3, activation="tanh")
assert_equal(type(tiny_losses).__name__, "list", "train_by_hand returns a list of losses")
assert_equal(len(tiny_losses), 3, "one loss per epoch (3 epochs)")
assert_equal(type(tiny_losses[0]).__name__, "float", "each loss is a Python float (use loss.item())")
assert_close(torch.tensor(tiny_losses), torch.tensor([2.739302, 1.535189, 0.830987]),
             "mean training loss per epoch (10 images, batch 4): batches weighted by their size, one loader for all epochs", rtol=1e-4, atol=1e-5)


def _hand_test_logits(seed):
    params, losses = train_by_hand(_digits.train, [784, 128, 10], epochs=8, lr=0.1, batch_size=64, seed=seed)
    assert_equal(len(losses), 8, f"seed {seed}: one loss per epoch")
    assert_equal(losses[-1] < losses[0], True, f"seed {seed}: the training loss went down")
    with torch.no_grad():
        logits, _ = mlp_forward(_x_test.to(device), params)
    assert_tensor(logits, f"seed {seed}: test logits", shape=(1000, 10))
    return logits.cpu()


# the reference reaches 0.924, 0.921, 0.918, 0.911, 0.915 on the 1,000 test digits with seeds 0-4 (0.921 with 23)
assert_accuracy(_hand_test_logits(seed=1), _y_test, 0.90, "test accuracy after 8 epochs (seed 1)")
### BEGIN HIDDEN TESTS
assert_accuracy(_hand_test_logits(seed=23), _y_test, 0.90, "test accuracy after 8 epochs (seed 23)")
_pg = torch.Generator().manual_seed(2701)
_p = [(torch.randn(3, 5, generator=_pg), torch.randn(3, generator=_pg)), (torch.randn(2, 3, generator=_pg), torch.zeros(2))]
_d = [(torch.randn(3, 5, generator=_pg), torch.randn(3, generator=_pg)), (torch.randn(2, 3, generator=_pg), torch.ones(2))]
sgd_step(_p, _d, 0.3)
for _i, (_W, _b) in enumerate(_p):
    expect_close(_W, f"sgd_step: W{_i + 1} after one step")
    expect_close(_b, f"sgd_step: b{_i + 1} after one step")
_, _losses = train_by_hand(tiny_set, [784, 8, 6, 10], epochs=2, lr=0.2, batch_size=3, seed=5, activation="sigmoid")
expect_close(torch.tensor(_losses), "losses of a 784 -> 8 -> 6 -> 10 sigmoid MLP, batch 3", rtol=1e-4, atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. The same network with `nn.Module` and autograd
#
# Write `TorchMLP`: an `nn.Module` built from `nn.Linear` layers with the given widths and the named activation
# between them (none after the last). Its layers must be created in order, so that `copy_params_into` (given) can load
# the hand-trained network's starting point into it. Then the same batches and the same learning rate must give the
# same loss curve: autograd computes exactly the gradients you derived.

# %% nbgrader={"grade": false, "grade_id": "torch_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
class TorchMLP(nn.Module):
    """MLP with nn.Linear layers sizes[0] -> sizes[1] -> ... -> sizes[-1] and an activation between them.

    forward: (N, sizes[0]) -> (N, sizes[-1]) logits.
    """

    def __init__(self, sizes: list[int], activation: str = "relu"):
        super().__init__()
        ### BEGIN SOLUTION
        act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[activation]
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(act())
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.net(x)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "given_copy", "locked": true, "schema_version": 3, "solution": false, "task": false}
def copy_params_into(model: nn.Module, params: list) -> nn.Module:
    """Load [(W, b), ...] into the model's nn.Linear layers, in the order they were created."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == len(params), (f"the model has {len(linears)} nn.Linear layers, params has {len(params)}"
                                         " (layers kept in a plain Python list are invisible to PyTorch: use nn.ModuleList"
                                         " or nn.Sequential)")
    with torch.no_grad():
        for layer, (W, b) in zip(linears, params):
            layer.weight.copy_(W)
            layer.bias.copy_(b)
    return model


# %% nbgrader={"grade": true, "grade_id": "test_torch_mlp", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# the weights and inputs of section 2's checks, copied into your module: the same numbers must come out
x_hand = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
params_hand_demo = [(torch.tensor([[1.0, -1.0], [0.5, 0.5], [-2.0, 1.0]]), torch.tensor([0.0, -1.0, 0.5])),
                    (torch.tensor([[1.0, 2.0, -1.0], [0.0, -1.0, 1.0]]), torch.tensor([0.5, -0.5]))]
model_hand = copy_params_into(TorchMLP([2, 3, 2], "relu"), params_hand_demo)
assert_equal(isinstance(model_hand, nn.Module), True, "TorchMLP is an nn.Module")
assert_equal(sum(p.numel() for p in model_hand.parameters()), 6 + 3 + 6 + 2, "parameters of TorchMLP([2, 3, 2])")
with torch.no_grad():
    assert_close(model_hand(x_hand), torch.tensor([[1.0, -0.5], [-2.5, 2.5]]), "TorchMLP([2, 3, 2], 'relu'), worked example",
                 atol=1e-6)
x_fwd = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
model_demo = copy_params_into(TorchMLP([3, 6, 5, 4], "tanh"), init_mlp([3, 6, 5, 4], seed=2, bias_scale=0.5))
expected_tanh = [[-0.6636, 0.1721, 0.0560, 0.9280], [-0.3820, 0.3614, 0.8022, 0.3317],
                 [-0.6250, -0.1889, -1.2487, 1.5981], [-0.5229, -0.2851, 0.8621, 1.1411]]
with torch.no_grad():
    assert_close(model_demo(x_fwd), torch.tensor(expected_tanh), "TorchMLP([3, 6, 5, 4], 'tanh') with copied weights",
                 atol=1e-4, rtol=0)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(2801)
for _sizes, _act in [([5, 2], "relu"), ([4, 7, 3], "tanh"), ([6, 5, 8, 4, 2], "relu"), ([3, 9, 2], "sigmoid")]:
    _params = init_mlp(_sizes, seed=int(torch.randint(0, 10**6, (1,), generator=_g)), bias_scale=0.5)
    _m = copy_params_into(TorchMLP(_sizes, _act), _params)
    expect_equal(sum(p.numel() for p in _m.parameters()), f"number of parameters of TorchMLP({_sizes})")
    _x = torch.randn(9, _sizes[0], generator=_g)
    with torch.no_grad():
        expect_close(_m(_x), f"TorchMLP({_sizes}, {_act!r})", atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# Train it with `labkit.fit` from the same starting weights, with the same batches and plain SGD:

# %%
torch_model = copy_params_into(TorchMLP([784, 128, 10]), init_mlp([784, 128, 10], seed=0)).to(device)
history_torch = labkit.fit(torch_model, labkit.make_loader(digits.train, batch_size=64, seed=0), nn.CrossEntropyLoss(),
                           torch.optim.SGD(torch_model.parameters(), lr=0.1), epochs=8, device=device, desc="autograd")
gap = max(abs(a - b) for a, b in zip(losses_hand, history_torch.train_loss))
# the same float32 arithmetic in another order: here the curves agree to about 1e-8; the threshold 1e-3 leaves room
# for another machine's rounding, while a wrong gradient moves the curve by 1e-2 or more
print(f"largest difference between the two loss curves: {gap:.1e} (the same computation if ≤ 1e-3): "
      + ("✓" if gap <= 1e-3 else "✗ the curves differ: look at your gradients and at train_by_hand's loop "
                                "(one loader for all epochs, batches weighted by their size)"))
ax = labkit.plotting.plot_curves({"by hand": losses_hand, "nn.Module + autograd": history_torch.train_loss}, start=1,
                                 xlabel="epoch", ylabel="mean training loss (cross-entropy)",
                                 title="Two implementations, one curve")
for line, style in zip(ax.lines, ("o-", "x--")):  # markers, so that the curve underneath stays visible
    line.set_marker(style[0])
    line.set_linestyle(style[1:])
ax.legend();

# %% [markdown]
# ## 8. Vanishing gradients
#
# The sigmoid's derivative is at most 1/4, and nearly 0 when the unit saturates. The backward pass multiplies by
# the activation's derivative `σ'(Z)` (here the sigmoid's) once per layer, so in a deep sigmoid network the gradient
# shrinks on its way down to the first layers. ReLU passes a derivative of exactly 1 for every active unit. Compare the norm of `∂L/∂W_l` per layer (layer 1 is the
# first, next to the input) in two 8-layer networks with identical weights, computed with your `mlp_loss_and_grads`.

# %%
x_batch, y_batch = digits.train.tensors[0][:256].to(device), digits.train.tensors[1][:256].to(device)
deep_sizes = [784] + [64] * 7 + [10]
norms = {}
for act_name in ("sigmoid", "relu"):
    with torch.no_grad():
        _, deep_grads = mlp_loss_and_grads(x_batch, y_batch, init_mlp(deep_sizes, seed=0, device=device), act_name)
    norms[act_name] = [float(dW.norm()) for dW, _ in deep_grads]
    ratio = norms[act_name][0] / norms[act_name][-1]
    print(f"{act_name:>8s}: ‖∂L/∂W‖ for layers 1 to 8:", " ".join(f"{v:.1e}" for v in norms[act_name]),
          f"(layer 1 / layer 8 = {ratio:.0e}: " + ("vanishing, < 1e-2)" if ratio < 1e-2 else "not vanishing, ≥ 1e-2)"))
ax = labkit.plotting.plot_curves(norms, start=1, xlabel="layer (1 = first, next to the input)", ylabel="‖∂L/∂W‖ (log scale)",
                                 title="Gradient norm per layer in an 8-layer MLP", logy=True)
for line in ax.lines:
    line.set_marker("o")
ax.set_xticks(range(1, len(deep_sizes)))
ax.legend();  # again, so that the legend shows the markers


# %% [markdown]
# ## 9. Overfitting and its cures
#
# A large network can memorise a small training set: the training loss keeps falling while the validation loss turns
# around and rises. The **validation set** is data the network never trains on. Its simplest use is **plain
# validation**: train for a fixed number of epochs, *then* measure the finished model on the validation set, to compare
# models or settings (such as the dropout rate or λ below); the measurement never changes how a run trains. Write three
# remedies.
#
# **Inverted dropout.** In training mode, zero each element independently with probability `p` and scale the
# survivors by `1/(1 − p)`, so the **expected value of every element is unchanged**; in evaluation mode
# (`self.training` is False, after `model.eval()`) return the input untouched. Draw a fresh mask on every call with
# `torch.rand_like`.

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
class InvertedDropout(nn.Module):
    """Inverted dropout with drop probability p (0 <= p < 1); output has the input's shape."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        if not self.training or self.p == 0:
            return x
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dropout", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
def _check_dropout(p, shape, seed, name):
    torch.manual_seed(seed)
    layer = InvertedDropout(p)
    x = 0.5 + torch.rand(*shape, generator=torch.Generator().manual_seed(seed))  # values in [0.5, 1.5), never 0
    x_in = x.clone()
    out = layer(x_in)
    assert_tensor(out, f"{name}: output", shape=shape)
    assert_close(x_in, x, f"{name}: the input is left unchanged (no in-place mul_/div_: autograd needs it)")
    kept = out != 0
    dropped = 1 - kept.double().mean().item()
    assert_scalar(dropped, p, f"{name}: fraction of zeros (about p)", atol=0.01)
    # every survivor is x / (1 - p); dropped places are filled with that value too, so the comparison sees every entry
    scale = torch.where(kept, out / x, torch.full_like(x, 1 / (1 - p)))
    assert_close(scale, torch.full_like(x, 1 / (1 - p)), f"{name}: survivors scaled by 1/(1-p)", rtol=1e-5)
    assert_scalar((out / x).mean().item(), 1.0, f"{name}: mean of output/input (inverted dropout keeps it at 1)", atol=0.03)
    assert_equal(torch.equal(out, layer(x.clone())), False,
                 f"{name}: two calls give identical outputs (False: each call draws a fresh mask)")
    layer.eval()
    assert_close(layer(x.clone()), x, f"{name}: eval mode returns the input unchanged")
    layer.train()
    assert_equal(torch.equal(layer(x.clone()), x), False,
                 f"{name}: back in train mode, output equals input (False: it drops again)")


_check_dropout(0.3, (300, 400), seed=0, name="p=0.3")
### BEGIN HIDDEN TESTS
_check_dropout(0.5, (200, 600), seed=11, name="p=0.5")
_check_dropout(0.8, (2, 100, 600), seed=12, name="p=0.8")
_check_dropout(0.1, (120000,), seed=13, name="p=0.1")
_xg = torch.rand(1000, 50, generator=torch.Generator().manual_seed(14)) + 0.5
_xg.requires_grad_(True)
torch.manual_seed(14)
_layer = InvertedDropout(0.4)
_out = _layer(_xg)
_out.sum().backward()
# the gradient is mask / (1 - p) = output / input, whatever mask was drawn
expect_close(_xg.grad - _out.detach() / _xg.detach(), "gradient through dropout = mask / (1 - p)", atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# **L2 weight decay** adds `(λ/2) Σ_l ‖W_l‖²` to the loss: the sum of squares of every **weight** tensor (parameters
# with 2 or more dimensions), **not the biases**. Its gradient is `λ W`, which pulls every weight towards 0.
# Return a 0-d tensor that autograd can differentiate.

# %% nbgrader={"grade": false, "grade_id": "l2_penalty", "locked": false, "schema_version": 3, "solution": true, "task": false}
def l2_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """(lam / 2) * sum of squared entries of every parameter with ndim >= 2 (0-d tensor)."""
    ### BEGIN SOLUTION
    return lam / 2 * sum((p**2).sum() for p in model.parameters() if p.ndim >= 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_l2_penalty", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
def _pinned_model(sizes, seed):
    """nn.Linear layers with fixed weights and biases from a private generator (the global RNG plays no part)."""
    g = torch.Generator().manual_seed(seed)
    layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    with torch.no_grad():
        for layer in layers:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g))
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g))
    return nn.Sequential(*layers)


def _check_l2(model, lam, expected, name):
    model.zero_grad()
    penalty = l2_penalty(model, lam)
    assert_tensor(penalty, f"{name}: penalty", shape=())
    assert_scalar(penalty, expected, f"{name}: penalty value", rtol=1e-5)
    assert_equal(penalty.requires_grad, True,
                 f"{name}: the penalty is connected to the weights (requires_grad; not through .data or .detach())")
    penalty.backward()
    for pname, p in model.named_parameters():  # the gradient of (λ/2)‖W‖² is λW, and 0 for a bias
        grad = p.grad if p.grad is not None else torch.zeros_like(p)
        assert_close(grad, lam * p.detach() if p.ndim >= 2 else torch.zeros_like(p), f"{name}: gradient of {pname}",
                     atol=1e-6, rtol=1e-5)


# worked by hand: weights W1 = [[1, 2], [0, -1], [3, 0]] (Σw² = 15) and W2 = [[2, -2, 1]] (Σw² = 9), biases 5;
# the biases are not penalised, so the penalty is 0.1 / 2 · (15 + 9) = 1.2
model_l2 = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
with torch.no_grad():
    model_l2[0].weight.copy_(torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.0]]))
    model_l2[2].weight.copy_(torch.tensor([[2.0, -2.0, 1.0]]))
    model_l2[0].bias.fill_(5.0)
    model_l2[2].bias.fill_(5.0)
_check_l2(model_l2, 0.1, 1.2, "two Linear layers, λ=0.1")
### BEGIN HIDDEN TESTS
for _sizes, _lam, _seed in [((7, 9, 5, 1), 0.37, 2901), ((4, 4), 2.0, 2902)]:
    _m = _pinned_model(_sizes, _seed)
    _m.zero_grad()
    _pen = l2_penalty(_m, _lam)
    expect_scalar(_pen, f"penalty for Linear layers {_sizes}, λ={_lam}", rtol=1e-5)
    _pen.backward()
    for _pname, _p in _m.named_parameters():
        expect_close(_p.grad if _p.grad is not None else torch.zeros_like(_p), f"gradient of {_pname}, layers {_sizes}",
                     atol=1e-6, rtol=1e-5)
_conv = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(12, 2))
with torch.no_grad():
    _gc = torch.Generator().manual_seed(2903)
    for _p in _conv.parameters():
        _p.copy_(torch.randn(_p.shape, generator=_gc))
expect_scalar(l2_penalty(_conv, 1.5), "penalty for Conv2d + Linear, λ=1.5", rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# **Early stopping** uses the validation set *during* training: it watches the validation loss after every epoch,
# remembers the **best** one and a copy of the model's weights at that point, and stops when the validation loss has
# not improved (strictly decreased) for `patience` epochs in a row. The training loop then loads the best weights back.
#
# `step` is called once per epoch; the first call is epoch 1, so `best_epoch` counts from 1 (0 before any call).
# Careful: `model.state_dict()` returns references to the live tensors, which the optimizer keeps changing — store a
# real copy (`copy.deepcopy`).

# %% nbgrader={"grade": false, "grade_id": "early_stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` consecutive epochs.

    Attributes:
        best_loss: lowest validation loss seen so far (float, inf at the start).
        best_epoch: the epoch of that loss, counted from 1 (the first call of step is epoch 1); 0 at the start.
        best_state: a copy of model.state_dict() taken at that epoch (None at the start).
    """

    def __init__(self, patience: int = 5):
        self.patience = patience
        self.best_loss = math.inf
        self.best_epoch = 0
        self.best_state = None
        # add any counters you need
        ### BEGIN SOLUTION
        self.epoch = 0
        self.bad_epochs = 0
        ### END SOLUTION

    def step(self, val_loss: float, model: nn.Module) -> bool:
        """Record one epoch's validation loss; return True when training should stop."""
        ### BEGIN SOLUTION
        self.epoch += 1
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_early_stopping", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
def _run_stopper(losses, patience):
    """Feed the losses to a fresh EarlyStopping (epochs 1, 2, ...); the probe's weights equal the epoch number."""
    stopper, probe = EarlyStopping(patience), nn.Linear(2, 2)
    stopped_at = None
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            probe.weight.fill_(float(epoch))  # the weights change every epoch, like training does
        if stopper.step(loss, probe):
            stopped_at = epoch
            break
    with torch.no_grad():
        probe.weight.fill_(-99.0)  # training goes on changing the live weights
    return stopper, stopped_at


# worked by hand (epochs from 1). Patience 3: best 0.8 at epoch 2; epochs 3, 4 and 5 do not improve on it (0.8 at
# epoch 5 only ties: no strict improvement), so step returns True at epoch 5 and the 0.5 of epoch 7 is never seen.
# Patience 2: 1.1 is worse (1 bad epoch), 0.9 improves (the count starts again), then 1.0, 0.95: stop at epoch 5.
for losses, patience, stop, best, name in [
    ([1.0, 0.8, 0.9, 0.85, 0.8, 0.95, 0.5], 3, 5, 2, "patience 3, a tie at epoch 5"),
    ([1.0, 1.1, 0.9, 1.0, 0.95, 0.7], 2, 5, 3, "patience 2, the count restarts after an improvement"),
    ([3.0, 2.0, 1.0, 0.5], 2, None, 4, "patience 2, never stops"),
]:
    stopper, stopped_at = _run_stopper(losses, patience)
    assert_equal(stopped_at, stop, f"{name}: epoch at which step returned True")
    assert_equal(stopper.best_epoch, best, f"{name}: best_epoch (counted from 1)")
    assert_scalar(stopper.best_loss, losses[best - 1], f"{name}: best_loss")
    assert_equal(stopper.best_state is not None, True, f"{name}: best_state was set")
    assert_equal(isinstance(stopper.best_state, dict), True,
                 f"{name}: best_state is a dict of tensors (a copy of model.state_dict(), not of the model)")
    assert_close(stopper.best_state["weight"], torch.full((2, 2), float(best)),
                 f"{name}: best_state holds the weights of epoch {best}, not the live ones")
assert_equal((EarlyStopping(4).best_epoch, EarlyStopping(4).best_loss, EarlyStopping(4).best_state), (0, math.inf, None),
             "a fresh EarlyStopping: best_epoch 0, best_loss inf, best_state None")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(3001)
for _patience in (1, 2, 4):
    _losses = (1.0 + 0.3 * torch.randn(12, generator=_g)).tolist()
    _stopper, _stopped_at = _run_stopper(_losses, _patience)
    expect_equal(_stopped_at, f"random losses, patience {_patience}: stop epoch")
    expect_equal(_stopper.best_epoch, f"random losses, patience {_patience}: best_epoch")
    expect_scalar(_stopper.best_loss, f"random losses, patience {_patience}: best_loss")
    expect_close(_stopper.best_state["weight"], f"random losses, patience {_patience}: best_state")
_stopper, _stopped_at = _run_stopper([2.0, 2.0, 2.0, 1.0], 3)
expect_equal((_stopped_at, _stopper.best_epoch), "constant losses, patience 3")
### END HIDDEN TESTS

# %% [markdown]
# Now the experiment. A 784 → 128 → 128 → 10 network (about 118,000 parameters) gets only **300** training images and
# 60 epochs of Adam (an optimizer that adapts SGD's step size for every parameter; Lab 3 writes it by hand). The
# training loop is given; it optionally adds your L2 penalty to the loss, and consults your
# early-stopping object after every epoch. Each run prints its final training and validation loss, the validation and
# **test** accuracy of the model it ends with (for early stopping: the restored best epoch), and the threshold that
# tells overfitting apart: a validation loss that ends more than 0.1 above its best value. The plots mark each run's best validation epoch
# (dashed) and that threshold (dotted); the last two lines compare the spread of the four accuracies with 0.03 and
# check that early stopping stopped `patience` epochs after its best one.
#
# Read the numbers honestly: compare what each cure does to the **validation loss** with what it does to the
# **accuracies**. A difference of 0.02 in accuracy is ten of the 500 validation images, about what two random seeds
# differ by, so the spread line below says whether the accuracies moved more than that. Section 11 asks you to explain
# what you see.

# %% nbgrader={"grade": false, "grade_id": "given_train_loop", "locked": true, "schema_version": 3, "solution": false, "task": false}
def train_regularised(model, train_set, val_set, epochs=30, lam=0.0, stopper=None, lr=1e-3, seed=0):
    """Adam on cross-entropy (+ l2_penalty(model, lam)); returns a labkit History (train loss without the penalty)."""
    model.to(device)
    loader = labkit.make_loader(train_set, batch_size=50, seed=seed)
    x_val, y_val = (t.to(device) for t in val_set.tensors)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = labkit.History()
    for _ in labkit.training.progress(range(epochs), desc="training", unit="epoch"):
        model.train()
        total, count = 0.0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            (loss + l2_penalty(model, lam) if lam else loss).backward()
            optimizer.step()
            total, count = total + loss.item() * len(x), count + len(x)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
        history.train_loss.append(total / count)
        history.val_loss.append(F.cross_entropy(logits, y_val).item())
        history.val_acc.append(labkit.training.accuracy(logits, y_val))
        if stopper is not None and stopper.step(history.val_loss[-1], model):
            break
    if stopper is not None:
        model.load_state_dict(stopper.best_state)
    return history


def big_mlp(dropout=0.0):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), InvertedDropout(dropout), nn.Linear(128, 128), nn.ReLU(),
                         InvertedDropout(dropout), nn.Linear(128, 10))


# %%
small_train = torch.utils.data.TensorDataset(*(t[:300] for t in digits.train.tensors))
x_val, y_val = digits.val.tensors
models = {"no regularisation": big_mlp(), "dropout p=0.5": big_mlp(dropout=0.5), "L2 λ=0.01": big_mlp(),
          "early stopping": big_mlp()}
stopper = EarlyStopping(patience=5)
runs = {name: train_regularised(model, small_train, digits.val, epochs=60, lam=0.01 if name.startswith("L2") else 0.0,
                                stopper=stopper if name == "early stopping" else None)
        for name, model in models.items()}
fig, axes = plt.subplots(1, 4, figsize=(16, 5.2), sharey=True)
print("validation loss: overfitting if the final one is more than 0.1 above the best one")
val_accs, test_accs = {}, {}
for ax, (name, hist) in zip(axes, runs.items()):
    model = models[name].eval()
    with torch.no_grad():
        val_accs[name] = labkit.training.accuracy(model(x_val.to(device)), y_val)
        test_accs[name] = labkit.training.accuracy(model(x_test.to(device)), y_test)
    best = min(range(hist.epochs), key=hist.val_loss.__getitem__)  # index from 0: epoch best + 1
    end = stopper.best_epoch if name == "early stopping" else hist.epochs  # the epoch whose weights the model holds
    rise = hist.val_loss[end - 1] - hist.val_loss[best]
    print(f"{name:>18s}: epoch {end:2d} | train loss {hist.train_loss[end - 1]:.3f} | val loss {hist.val_loss[end - 1]:.3f}"
          f" (best {hist.val_loss[best]:.3f} at epoch {best + 1}; {'✗ overfits' if rise > 0.1 else '✓ within 0.1'})"
          f" | val accuracy {val_accs[name]:.3f} | test accuracy {test_accs[name]:.3f}")
    labkit.plotting.plot_history(hist, title=name, ax=ax)  # epochs from 1
    restored = " = restored" if name == "early stopping" else ""
    ax.axvline(best + 1, color="gray", linestyle="--", label=f"best val loss: epoch {best + 1}{restored}")
    ax.axhline(hist.val_loss[best] + 0.1, color="red", linestyle=":", label="best val loss + 0.1 (overfitting above)")
    ax.set(ylabel="cross-entropy loss", xlim=(1, 60))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
fig.suptitle("784 → 128 → 128 → 10 MLP trained on 300 images: loss per epoch")
fig.tight_layout()
spread_val, spread_test = (max(a.values()) - min(a.values()) for a in (val_accs, test_accs))
print(f"accuracy spread over the four runs: validation {spread_val:.3f}, test {spread_test:.3f} "
      + ("(≤ 0.03: ✓ the cures change the loss far more than the accuracy)" if max(spread_val, spread_test) <= 0.03
         else "(> 0.03: the cures change the accuracy too)"))
ran = runs["early stopping"].epochs
print(f"early stopping ran {ran} epochs and restored the weights of epoch {stopper.best_epoch}: "
      + ("✓ it stopped patience = 5 epochs after its best (or at the last epoch)" if ran == min(stopper.best_epoch + 5, 60)
         else "✗ it should stop 5 epochs (the patience) after its best epoch"))

# %% [markdown]
# ## 10. Check your understanding (multiple choice)
#
# Answer each question with one letter, e.g. `answers["q1"] = "a"`.
#
# **q1.** Before any training, an MLP with small random weights sorts images into **4** classes. Its mean
# cross-entropy (natural log) is about
# (a) 0.25  (b) 1.39  (c) 2.30  (d) 4
#
# **q2.** The sigmoid's derivative is at most 1/4. In an 8-layer sigmoid network (7 hidden layers, then the logits)
# whose weight matrices neither grow nor shrink vectors, the activations' derivatives multiply the first layer's
# weight gradient, relative to the last layer's, by at most
# (a) 1/4  (b) 8 · 1/4 = 2  (c) (1/4)⁷ ≈ 6·10⁻⁵  (d) 1
#
# **q3.** A unit of a network trained with *inverted* dropout, `p = 0.2`, outputs 3.0 in a training step in which
# it was kept. In evaluation mode, on the same input, it outputs
# (a) 2.4  (b) 3.0  (c) 3.75  (d) 0 or 3.0, at random

# %% nbgrader={"grade": false, "grade_id": "mcq_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answers = {}
### BEGIN SOLUTION
answers = {"q1": "b", "q2": "c", "q3": "a"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q1 = assert_choice(answers.get("q1"), "abcd", "q1")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q2 = assert_choice(answers.get("q2"), "abcd", "q2")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q3 = assert_choice(answers.get("q3"), "abcd", "q3")

# %% [markdown]
# ## 11. Written answer (3 points, graded by your TA)
#
# In 4–6 sentences: both plain validation and early stopping (section 9) use a validation set. How do they differ —
# what does each use the validation loss *for*, and when? Use your curves and numbers from section 9: at which epoch
# would you stop, and why does the validation loss eventually rise while the training loss keeps falling? Finally, why
# should the **test** accuracy you report not be the validation accuracy that early stopping selected?

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_early_stopping", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Plain validation trains a model to the end and only *measures* it on held-out data afterwards, e.g. to compare
# finished models or hyperparameter settings; the validation loss never changes how one run trains. Early stopping
# uses the validation loss *during* training, after every epoch, as a signal to decide when to stop and which weights
# to keep: it treats the number of epochs as a hyperparameter tuned on the fly. In section 9 the unregularised model's
# validation loss bottoms out after roughly 15–20 epochs (where early stopping restored its weights) and then rises,
# because the network has started to memorise the 300 training images — the training loss keeps falling towards 0 —
# and grows over-confident on the validation digits it gets wrong, while its accuracy barely moves. Because the
# stopping epoch was chosen to minimise the validation loss, the validation score is optimistically biased; an unbiased
# estimate needs data that played no part in any choice, the test set, which section 9 reports separately.
# ### END SOLUTION
