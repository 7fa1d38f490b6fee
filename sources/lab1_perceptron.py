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
# # Lab 1 — The perceptron, XOR, and why we need hidden layers
#
# **Total: 26 points** — 23 autograded (visible checks + hidden tests) and 3 for one written answer graded by your TA.
#
# This lab follows the first lectures. You will
#
# 1. implement the perceptron's score `w0 + Σ wᵢ xᵢ` with a step activation, and the **perceptron learning rule**;
# 2. watch it learn **AND** and **OR** — and fail on **XOR**, because XOR is not *linearly separable*;
# 3. build the lecture's **two-layer XOR network** by hand;
# 4. implement the common **activation functions** and their derivatives;
# 5. prove by code that **stacked linear layers collapse to one** ("Linear ≡ 1-layer NN");
# 6. train a small PyTorch MLP on **noisy, continuous XOR** to 100% test accuracy and look at its decision boundary.
#
# **How to work.** Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
# The cell after each exercise is a *visible check*: run it; it prints `✓ ...` lines when you are right, and a
# specific message when something differs. Hidden tests with fresh random inputs are added when your TA grades:
# the course's grader (the *judge*) then compares the values your functions return with the solution's, outside
# your notebook, so make your code correct in general, not just for the visible examples. Do not rename, copy or delete cells.
# The whole notebook runs in well under a minute on a laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
import torch
from torch import nn

import labkit
from labkit.checks import (assert_accuracy, assert_choice, assert_close, assert_equal, assert_scalar, assert_tensor,
                           by_hand, expect_close, expect_equal, expect_scalar)

device = labkit.setup_lab(seed=0)


# %% [markdown]
# ## 1. The perceptron
#
# The lecture's perceptron computes a score `z = w0 + w1 x1 + … + wd xd` and fires when it is positive:
# `ŷ = g(z)` with the step function `g(z) = 1 if z > 0 else 0`. We write the bias `w0` as `b`, and process
# a whole batch at once: with `x` of shape `(N, d)`, the scores are `x @ w + b`, of shape `(N,)`.

# %% nbgrader={"grade": false, "grade_id": "perceptron_predict", "locked": false, "schema_version": 3, "solution": true, "task": false}
def perceptron_predict(x: torch.Tensor, w: torch.Tensor, b) -> torch.Tensor:
    """Perceptron outputs for a batch.

    Args:
        x: (N, d) inputs.
        w: (d,) weights.
        b: the bias w0 (a float or a 0-d tensor).

    Returns:
        (N,) float tensor of 0.0 / 1.0: step(b + x @ w), with step(z) = 1 only for z > 0.
    """
    ### BEGIN SOLUTION
    return (x @ w + b > 0).float()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_perceptron_predict", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
x_gate, _ = labkit.data.logic_gate("AND")
# AND: both inputs needed -> weights 1, 1 and bias -1.5 (the lecture's example)
assert_close(perceptron_predict(x_gate, torch.tensor([1.0, 1.0]), -1.5), torch.tensor([0.0, 0.0, 0.0, 1.0]), "AND outputs")
# OR: one input is enough -> bias -0.5
assert_close(perceptron_predict(x_gate, torch.tensor([1.0, 1.0]), -0.5), torch.tensor([0.0, 1.0, 1.0, 1.0]), "OR outputs")
# the step is strict: a score of exactly 0 gives 0
assert_close(perceptron_predict(torch.zeros(2, 3), torch.ones(3), 0.0), torch.zeros(2), "step(0) = 0 (2 inputs, 3 features)")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(1101)
for _n, _d in [(7, 3), (50, 5), (1, 9)]:
    _x, _w, _b = torch.randn(_n, _d, generator=_g), torch.randn(_d, generator=_g), float(torch.randn(1, generator=_g))
    expect_close(perceptron_predict(_x.clone(), _w.clone(), _b), f"perceptron on random ({_n}, {_d})")
expect_close(perceptron_predict(torch.zeros(3, 4), torch.ones(4), torch.tensor(0.0)), "step(0) = 0 with a tensor bias")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The perceptron learning rule
#
# From the lecture: start from all-zero weights and visit the examples one after another. For each example
# `(xᵢ, yᵢ)`, predict `ŷᵢ`, then nudge the weights by the error:
#
# `w ← w + η (yᵢ − ŷᵢ) xᵢ`,   `b ← b + η (yᵢ − ŷᵢ)`.
#
# A correct prediction changes nothing. One pass over all examples is an *epoch*; stop after the first epoch
# with no mistakes (or after `max_epochs`). If the data are linearly separable, the *perceptron convergence
# theorem* guarantees this loop stops.

# %% nbgrader={"grade": false, "grade_id": "perceptron_train", "locked": false, "schema_version": 3, "solution": true, "task": false}
def perceptron_train(x: torch.Tensor, y: torch.Tensor, lr: float = 1.0, max_epochs: int = 100):
    """Train a perceptron with the perceptron rule.

    Args:
        x: (N, d) inputs; y: (N,) targets in {0, 1}.
        lr: the learning rate η.
        max_epochs: give up after this many epochs.

    Returns:
        w: (d,) float tensor, b: the bias (float or 0-d tensor),
        errors: list with the number of mistakes made in each epoch (ends with 0 if it converged).
    Start from w = 0, b = 0 and visit examples in their given order.
    """
    ### BEGIN SOLUTION
    w = torch.zeros(x.shape[1], dtype=x.dtype)
    b = 0.0
    errors = []
    for _ in range(max_epochs):
        mistakes = 0
        for xi, yi in zip(x, y):
            y_hat = float(xi @ w + b > 0)
            delta = float(yi) - y_hat
            if delta != 0:
                w = w + lr * delta * xi
                b = b + lr * delta
                mistakes += 1
        errors.append(mistakes)
        if mistakes == 0:
            break
    return w, b, errors
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_perceptron_train_gates", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# Worked by hand from the rule (w = 0, b = 0, examples in the order (0,0), (0,1), (1,0), (1,1)):
for gate, lr, mistakes, w_end, b_end in [
    ("AND", 1.0, [1, 3, 3, 2, 1, 0], [2.0, 1.0], -2.0),
    ("AND", 0.5, [1, 3, 3, 2, 1, 0], [1.0, 0.5], -1.0),  # η scales every step: same mistakes, w and b halved
    ("OR", 1.0, [1, 2, 1, 0], [1.0, 1.0], 0.0),
]:
    x_gate, y_gate = labkit.data.logic_gate(gate)
    w, b, errors = perceptron_train(x_gate, y_gate, lr=lr)
    assert_equal(list(errors), mistakes, f"{gate} (lr={lr}): mistakes per epoch")
    assert_close(w, torch.tensor(w_end), f"{gate} (lr={lr}): learned w", atol=1e-5)
    assert_scalar(b, b_end, f"{gate} (lr={lr}): learned b", atol=1e-5)
### BEGIN HIDDEN TESTS
for _gate, _lr, _epochs in [("OR", 0.25, 100), ("AND", 2.0, 100), ("XOR", 1.0, 9)]:
    _x, _y = labkit.data.logic_gate(_gate)
    _w, _b, _errors = perceptron_train(_x.clone(), _y.clone(), lr=_lr, max_epochs=_epochs)
    expect_equal(list(_errors), f"{_gate} (lr={_lr}): mistakes per epoch")
    expect_close(_w, f"{_gate} (lr={_lr}): learned w", atol=1e-5)
    expect_scalar(_b, f"{_gate} (lr={_lr}): learned b", atol=1e-5)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_perceptron_train_random", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# Visible part: a random linearly separable set must be learned perfectly (an epoch without mistakes).
x_sep, y_sep, _ = labkit.data.linearly_separable(n=40, dim=3, margin=0.1, seed=3)
w, b, errors = perceptron_train(x_sep, y_sep, max_epochs=500)
assert_equal(errors[-1], 0, "mistakes in the last epoch on separable data")
# (this check does not call your perceptron_predict: a mistake there costs that exercise's points, not these)
### BEGIN HIDDEN TESTS
# learning rates are powers of two, so every correct implementation does the same float updates
for _seed, _dim, _lr in [(11, 2, 1.0), (12, 4, 0.5), (13, 5, 0.25)]:
    _x, _y, _ = labkit.data.linearly_separable(n=60, dim=_dim, margin=0.05, seed=_seed)
    _w, _b, _errors = perceptron_train(_x.clone(), _y.clone(), lr=_lr, max_epochs=1000)
    expect_equal(list(_errors), f"mistakes per epoch (dim {_dim}, lr {_lr})")
    expect_close(_w, f"learned w (dim {_dim}, lr {_lr})", atol=1e-4, rtol=1e-4)
    expect_scalar(_b, f"learned b (dim {_dim}, lr {_lr})", atol=1e-4, rtol=1e-4)
# max_epochs is respected on data that is not separable
_x, _y = labkit.data.logic_gate("XOR")
_w, _b, _errors = perceptron_train(_x, _y, max_epochs=7)
expect_equal(len(_errors), "number of epochs on XOR with max_epochs=7")
### END HIDDEN TESTS

# %% [markdown]
# ### XOR defeats the perceptron
#
# Run the rule on XOR for 100 epochs, and AND beside it for comparison. Look at the mistakes per epoch: does XOR's
# count ever reach zero, the only way the rule stops on its own?

# %%
x_xor, y_xor = labkit.data.logic_gate("XOR")
_, _, xor_errors = perceptron_train(x_xor, y_xor, max_epochs=100)
print("mistakes in the last 10 epochs on XOR:", xor_errors[-10:])
labkit.plotting.plot_curves({"XOR": xor_errors, "AND": perceptron_train(*labkit.data.logic_gate("AND"))[2]},
                            xlabel="epoch", ylabel="mistakes", title="Perceptron rule: mistakes per epoch", start=1);


# %% [markdown]
# Is that just bad luck with the rule? Let us search *every* line on a grid. For each combination of
# `w1, w2, b` in `linspace(-2, 2, steps)` compute the perceptron's accuracy (predict 1 where `w·x + b > 0`, strictly,
# as in section 1) and keep the best.
# If even the best line gets XOR wrong somewhere, no perceptron can represent it.

# %% nbgrader={"grade": false, "grade_id": "best_linear_accuracy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def best_linear_accuracy(x: torch.Tensor, y: torch.Tensor, steps: int = 21) -> float:
    """Best accuracy any 2-D perceptron on a grid reaches.

    Args:
        x: (N, 2) inputs; y: (N,) targets in {0, 1}.
        steps: number of grid values for each of w1, w2 and b, all in torch.linspace(-2, 2, steps).

    Returns:
        the highest accuracy (a Python float in [0, 1]) over all steps**3 grid points.
    """
    ### BEGIN SOLUTION
    grid = torch.linspace(-2, 2, steps)
    w1, w2, b = torch.meshgrid(grid, grid, grid, indexing="ij")
    weights = torch.stack([w1.reshape(-1), w2.reshape(-1)], dim=1)  # (steps**3, 2)
    scores = x.float() @ weights.T + b.reshape(-1)  # (N, steps**3)
    correct = ((scores > 0).float() == y.float().reshape(-1, 1)).float().mean(dim=0)
    return float(correct.max())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_best_linear_accuracy", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
acc_and = best_linear_accuracy(*labkit.data.logic_gate("AND"))
acc_xor = best_linear_accuracy(*labkit.data.logic_gate("XOR"))
assert_scalar(acc_and, 1.0, "best accuracy on AND")
assert_scalar(acc_xor, 0.75, "best accuracy on XOR (3 of 4 at most: not linearly separable)")
assert_equal(type(acc_xor).__name__, "float", "best_linear_accuracy returns a Python float")
# worked once: six points with coordinates in {−1, −½, 0, ½, 1}; on the grid {−2, −1, 0, 1, 2} (steps=5) one line
# separates them all, counting w·x + b = 0 as class 0 and using both ends of the grid
x_six = torch.tensor([[-1.0, 1.0], [1.0, 0.5], [0.5, 0.5], [-0.5, -0.5], [1.0, 0.0], [0.5, 1.0]])
y_six = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
assert_scalar(best_linear_accuracy(x_six, y_six, steps=5), 1.0,
              "six points, steps=5: grid linspace(-2, 2, 5) including ±2, class 1 only where w·x + b > 0")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(1301)
for _steps in (5, 11):
    _x = torch.randn(12, 2, generator=_g)
    _y = (torch.rand(12, generator=_g) > 0.5).float()
    expect_scalar(best_linear_accuracy(_x.clone(), _y.clone(), steps=_steps),
                  f"best accuracy on random data with steps={_steps}", atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Two layers solve XOR
#
# The lecture builds XOR from two hidden perceptrons, each detecting one of the "exactly one input on" cases,
# and an output perceptron that ORs them:
#
# `v1 = g(−0.5 + x1 − x2)`,  `v2 = g(−0.5 − x1 + x2)`,  `y = g(−0.5 + v1 + v2)`, with `g` the step function.
#
# Implement it for a batch (you may reuse `perceptron_predict`).

# %% nbgrader={"grade": false, "grade_id": "xor_network", "locked": false, "schema_version": 3, "solution": true, "task": false}
def xor_network(x: torch.Tensor) -> torch.Tensor:
    """The lecture's hand-wired two-layer XOR network.

    Args:
        x: (N, 2) inputs (any real values, not only 0/1).

    Returns:
        (N,) float tensor of 0.0 / 1.0 outputs y.
    """
    ### BEGIN SOLUTION
    v1 = perceptron_predict(x, torch.tensor([1.0, -1.0]), -0.5)
    v2 = perceptron_predict(x, torch.tensor([-1.0, 1.0]), -0.5)
    return perceptron_predict(torch.stack([v1, v2], dim=1), torch.tensor([1.0, 1.0]), -0.5)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_xor_network", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
x_xor, y_xor = labkit.data.logic_gate("XOR")
assert_close(xor_network(x_xor), y_xor, "XOR truth table")
# any real inputs: the hidden units fire only where exactly one coordinate leads by more than 0.5
assert_close(xor_network(torch.tensor([[2.0, 0.0], [0.3, 0.1], [-1.0, 1.0], [5.0, 5.0]])),
             torch.tensor([1.0, 0.0, 1.0, 0.0]), "XOR network off the corners")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(1401)
_x = 2 * torch.rand(40, 2, generator=_g) - 0.5
expect_close(xor_network(_x.clone()), "XOR network on continuous inputs")
### END HIDDEN TESTS

# %% [markdown]
# Look at what the network computes over the whole plane: the two hidden units cut off the two corners
# where exactly one input is on, and the output unit joins them. This is a region that no single line bounds.

# %%
labkit.plotting.plot_decision_boundary(xor_network, x_xor, y_xor, title="Hand-wired XOR network");


# %% [markdown]
# ## 4. Activation functions and their derivatives
#
# The step function has zero derivative almost everywhere, so gradient descent cannot train it. Networks use
# smooth (or piecewise linear) activations instead. Implement each function and its derivative **with
# elementwise tensor operations** (`torch.exp`, `torch.where`, …). Two of them need care with large inputs:
#
# * `sigmoid(z) = 1 / (1 + e^(−z))`: for very negative `z`, `e^(−z)` overflows to `inf`. In floating point
#   `1 / (1 + inf)` is still the right limit, 0, so this form passes; the form `e^z / (1 + e^z)` would give
#   `inf / inf = nan` for large positive `z`. Whatever you write, it must stay finite (the check tries ±1000).
# * `softplus(z) = log(1 + e^z)` overflows for large `z`; for `z > 20` it equals `z` to float precision.
#
# `leaky_relu(z) = z` for `z > 0`, `alpha · z` otherwise. Use the derivative value at exactly `z = 0` that you
# like — the tests avoid that point.

# %% nbgrader={"grade": false, "grade_id": "activations", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(z: torch.Tensor) -> torch.Tensor:
    """σ(z) = 1 / (1 + e^−z), elementwise, finite for every finite z. Same shape as z."""
    ### BEGIN SOLUTION
    ez = torch.exp(-z.abs())  # never overflows
    return torch.where(z >= 0, 1 / (1 + ez), ez / (1 + ez))
    ### END SOLUTION


def d_sigmoid(z: torch.Tensor) -> torch.Tensor:
    """dσ/dz = σ(z)(1 − σ(z)). Same shape as z."""
    ### BEGIN SOLUTION
    s = sigmoid(z)
    return s * (1 - s)
    ### END SOLUTION


def tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh(z) = (e^z − e^−z) / (e^z + e^−z) = 2σ(2z) − 1. Same shape as z."""
    ### BEGIN SOLUTION
    return 2 * sigmoid(2 * z) - 1
    ### END SOLUTION


def d_tanh(z: torch.Tensor) -> torch.Tensor:
    """d tanh/dz = 1 − tanh(z)². Same shape as z."""
    ### BEGIN SOLUTION
    return 1 - tanh(z) ** 2
    ### END SOLUTION


def relu(z: torch.Tensor) -> torch.Tensor:
    """max(0, z). Same shape as z."""
    ### BEGIN SOLUTION
    return torch.where(z > 0, z, torch.zeros_like(z))
    ### END SOLUTION


def d_relu(z: torch.Tensor) -> torch.Tensor:
    """1 for z > 0, 0 for z < 0. Same shape as z."""
    ### BEGIN SOLUTION
    return (z > 0).to(z.dtype)
    ### END SOLUTION


def leaky_relu(z: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """z for z > 0, alpha·z otherwise. Same shape as z."""
    ### BEGIN SOLUTION
    return torch.where(z > 0, z, alpha * z)
    ### END SOLUTION


def d_leaky_relu(z: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """1 for z > 0, alpha for z < 0. Same shape as z."""
    ### BEGIN SOLUTION
    return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, alpha))
    ### END SOLUTION


def softplus(z: torch.Tensor) -> torch.Tensor:
    """log(1 + e^z), finite for every finite z (≈ z for large z). Same shape as z."""
    ### BEGIN SOLUTION
    return torch.where(z > 20, z, torch.log1p(torch.exp(torch.clamp(z, max=20))))
    ### END SOLUTION


def d_softplus(z: torch.Tensor) -> torch.Tensor:
    """d softplus/dz = σ(z). Same shape as z."""
    ### BEGIN SOLUTION
    return sigmoid(z)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_activations", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
import torch.nn.functional as F

by_hand("activations", [sigmoid, tanh, relu, leaky_relu, softplus],
        forbidden=("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "expit", "Sigmoid", "Tanh", "ReLU",
                   "LeakyReLU", "Softplus", "clamp_min", "hardtanh", "logsigmoid"),
        name="activations by hand")
z = torch.linspace(-6, 6, 25, dtype=torch.float64)
assert_close(sigmoid(z), torch.sigmoid(z), "sigmoid")
assert_close(tanh(z), torch.tanh(z), "tanh")
assert_close(relu(z), torch.relu(z), "relu")
assert_close(leaky_relu(z, 0.1), F.leaky_relu(z, 0.1), "leaky_relu(alpha=0.1)")
assert_close(softplus(z), F.softplus(z), "softplus")
extreme = torch.tensor([-1000.0, -50.0, 50.0, 1000.0])
assert_close(sigmoid(extreme), torch.sigmoid(extreme), "sigmoid at ±50 and ±1000 (no overflow, no nan)")
assert_close(softplus(extreme), F.softplus(extreme), "softplus at ±50 and ±1000 (no overflow)")
assert_close(tanh(torch.tensor([-500.0, 500.0])), torch.tensor([-1.0, 1.0]), "tanh at ±500 (no nan)")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(1501)
for _shape in [(3, 4), (2, 3, 5), (17,)]:
    _z = 8 * torch.randn(*_shape, generator=_g)
    _alpha = float(torch.rand(1, generator=_g)) * 0.3
    expect_close(sigmoid(_z.clone()), f"sigmoid on random {_shape}")
    expect_close(tanh(_z.clone()), f"tanh on random {_shape}")
    expect_close(relu(_z.clone()), f"relu on random {_shape}")
    expect_close(leaky_relu(_z.clone(), _alpha), f"leaky_relu on random {_shape}")
    expect_close(softplus(_z.clone()), f"softplus on random {_shape}")
expect_close(sigmoid(torch.tensor([-3000.0, 3000.0])), "sigmoid at ±3000")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_activation_derivatives", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
def autograd_derivative(fn, z):
    z = z.clone().requires_grad_(True)
    fn(z).sum().backward()
    return z.grad

by_hand("activations", [d_sigmoid, d_tanh, d_relu, d_leaky_relu, d_softplus],
        forbidden=("backward", "grad", "jacobian", "vjp"), name="derivatives without autograd")
z = torch.linspace(-5.05, 5.05, 32, dtype=torch.float64)  # never exactly 0
assert_close(d_sigmoid(z), autograd_derivative(torch.sigmoid, z), "d_sigmoid")
assert_close(d_tanh(z), autograd_derivative(torch.tanh, z), "d_tanh")
assert_close(d_relu(z), autograd_derivative(torch.relu, z), "d_relu")
assert_close(d_leaky_relu(z, 0.2), autograd_derivative(lambda t: F.leaky_relu(t, 0.2), z), "d_leaky_relu(alpha=0.2)")
assert_close(d_softplus(z), autograd_derivative(F.softplus, z), "d_softplus")
for fn in (d_sigmoid, d_tanh, d_relu, d_leaky_relu, d_softplus):  # same shape and dtype as z
    assert_tensor(fn(z.reshape(4, 8)), f"{fn.__name__} of a (4, 8) float64 input", shape=(4, 8), dtype=torch.float64)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(1601)
for _shape in [(4, 6), (3, 2, 2)]:
    _z = 6 * torch.randn(*_shape, generator=_g, dtype=torch.float64)
    _z = torch.where(_z.abs() < 1e-3, _z + 0.01, _z)
    _alpha = float(torch.rand(1, generator=_g)) * 0.3
    expect_close(d_sigmoid(_z.clone()), f"d_sigmoid on random {_shape}")
    expect_close(d_tanh(_z.clone()), f"d_tanh on random {_shape}")
    expect_close(d_relu(_z.clone()), f"d_relu on random {_shape}")
    expect_close(d_leaky_relu(_z.clone(), _alpha), f"d_leaky_relu on random {_shape}")
    expect_close(d_softplus(_z.clone()), f"d_softplus on random {_shape}")
### END HIDDEN TESTS

# %% [markdown]
# Here they are. Note where each derivative is close to zero: a sigmoid or tanh unit with a large |z| passes
# almost no gradient back (it *saturates*); ReLU passes gradient 1 for every positive input. Lab 2 comes back
# to this as the *vanishing gradient* problem.

# %%
z_plot = torch.linspace(-5, 5, 201)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, fn, dfn in [("sigmoid", sigmoid, d_sigmoid), ("tanh", tanh, d_tanh), ("relu", relu, d_relu),
                      ("leaky_relu", lambda t: leaky_relu(t, 0.1), lambda t: d_leaky_relu(t, 0.1)),
                      ("softplus", softplus, d_softplus)]:
    axes[0].plot(z_plot, fn(z_plot), label=name)
    axes[1].plot(z_plot, dfn(z_plot), label=name)
axes[0].set(title="activation g(z)", xlabel="z", ylim=(-1.5, 3))
axes[1].set(title="derivative g'(z)", xlabel="z")
axes[0].legend();


# %% [markdown]
# ## 5. Linear ≡ 1-layer NN
#
# Why do hidden layers need a non-linear activation? Because a stack of linear layers is itself one linear
# layer: `L2(L1(x)) = W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2)`.
#
# Given a list of `nn.Linear` layers applied in order, return the weight and bias of the single equivalent
# `nn.Linear`. (PyTorch stores `weight` with shape `(out_features, in_features)` and computes `x @ W.T + b`.)

# %% nbgrader={"grade": false, "grade_id": "collapse_linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
def collapse_linear(layers: list[nn.Linear]) -> tuple[torch.Tensor, torch.Tensor]:
    """Single linear layer equivalent to applying ``layers`` in order.

    Args:
        layers: nn.Linear modules; layer k maps n_k features to n_{k+1}.

    Returns:
        W: (n_last, n_first) weight and b: (n_last,) bias such that
        x @ W.T + b == layers[-1](...layers[0](x)) for every x of shape (N, n_first).
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        W = layers[0].weight.clone()
        b = layers[0].bias.clone()
        for layer in layers[1:]:
            W = layer.weight @ W
            b = layer.weight @ b + layer.bias
    return W, b
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_collapse_linear", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
torch.manual_seed(4)
stack = [nn.Linear(3, 5), nn.Linear(5, 4), nn.Linear(4, 2)]
W, b = collapse_linear(stack)
x_probe = torch.randn(10, 3, generator=torch.Generator().manual_seed(40))
assert_tensor(W, "collapsed W", shape=(2, 3))
assert_tensor(b, "collapsed b", shape=(2,))
with torch.no_grad():
    assert_close(x_probe @ W.T + b, stack[2](stack[1](stack[0](x_probe))), "one layer == the stack", atol=1e-5)
    assert_close(W @ torch.ones(3) + b, stack[2](stack[1](stack[0](torch.ones(1, 3))))[0], "one layer == the stack at x = 1", atol=1e-5)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(1701)
for _sizes in [(6, 2), (2, 7, 3, 8, 1), (4, 4, 4, 4)]:
    _layers = [nn.Linear(a_, b_) for a_, b_ in zip(_sizes[:-1], _sizes[1:])]
    with torch.no_grad():
        for _layer in _layers:
            _layer.weight.copy_(torch.randn(_layer.weight.shape, generator=_g))
            _layer.bias.copy_(torch.randn(_layer.bias.shape, generator=_g))
        _W, _b = collapse_linear(_layers)
        expect_close(_W, f"collapsed W for sizes {_sizes}", atol=1e-4, rtol=1e-4)
        expect_close(_b, f"collapsed b for sizes {_sizes}", atol=1e-4, rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. A small MLP learns noisy XOR
#
# Now the continuous version: points scattered around the four corners of the unit square (Gaussian noise,
# σ = 0.1), labelled by XOR of their corner. Write
#
# * `make_xor_model(hidden)`: an `nn.Module` mapping `(N, 2)` inputs to `(N, 1)` **logits** (raw scores, no sigmoid
#   at the end: `BCEWithLogitsLoss` applies it) through one hidden layer of `hidden` units with a **non-linear**
#   activation (section 5 shows why it must be non-linear);
# * `train_xor_model(model, x, y, epochs, lr)`: full-batch training with `nn.BCEWithLogitsLoss` and an optimizer
#   of your choice from `torch.optim`; return the list of losses (Python floats: `loss.item()`), one per epoch.
#   The default `lr=0.05` suits Adam; plain SGD needs a learning rate about ten times larger, so if you pick SGD,
#   change the default in the signature too (the check calls `train_xor_model(model, x, y)`). The model returns
#   `(N, 1)` logits while the labels are `(N,)`: make the shapes match before the loss.
#
# The check trains your model from a fresh initialisation and needs **100% test accuracy** on new points.

# %% nbgrader={"grade": false, "grade_id": "xor_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_xor_model(hidden: int = 8) -> nn.Module:
    """MLP (N, 2) -> (N, 1) logits with one hidden layer of ``hidden`` units and a non-linearity."""
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    ### END SOLUTION


def train_xor_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 300, lr: float = 0.05) -> list[float]:
    """Full-batch training on x: (N, 2), y: (N,) in {0, 1}; returns the loss of each epoch."""
    ### BEGIN SOLUTION
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(x).squeeze(1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


# %% [markdown]
# Train it and look at the loss curve and the decision boundary it found.

# %%
x_train, y_train = labkit.data.noisy_xor(n=200, noise=0.1, seed=0)
x_test, y_test = labkit.data.noisy_xor(n=200, noise=0.1, seed=1)
torch.manual_seed(0)
xor_model = make_xor_model(hidden=8)
xor_losses = train_xor_model(xor_model, x_train, y_train)
with torch.no_grad():
    test_accuracy = labkit.training.accuracy(xor_model(x_test), y_test)
print(f"final training loss {xor_losses[-1]:.4f}; test accuracy {test_accuracy:.3f} "
      f"({'✓' if test_accuracy >= 1.0 else '✗'} the check below needs 1.000)")
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
labkit.plotting.plot_curves({"train loss": xor_losses}, xlabel="epoch", ylabel="BCE loss", ax=axes[0], logy=True,
                            start=1)
labkit.plotting.plot_decision_boundary(lambda g: torch.sigmoid(xor_model(g)).squeeze(1), x_test, y_test,
                                       title="MLP on noisy XOR (test points)", ax=axes[1]);


# %% nbgrader={"grade": true, "grade_id": "test_xor_mlp", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
def fresh_xor_logits(seed, n_test=400):
    """Build and train a fresh model with the global seed `seed`; logits on new test points."""
    torch.manual_seed(seed)
    model = make_xor_model(hidden=8)
    assert_equal(isinstance(model, nn.Module), True, "make_xor_model returns an nn.Module")
    x_tr, y_tr = labkit.data.noisy_xor(n=200, noise=0.1, seed=seed)
    x_te, y_te = labkit.data.noisy_xor(n=n_test, noise=0.1, seed=seed + 1000)
    losses = train_xor_model(model, x_tr, y_tr)
    assert_equal(type(losses).__name__, "list", "train_xor_model returns a list")
    assert_equal(len(losses), 300, "one loss per epoch (300 epochs by default)")
    assert_equal(type(losses[-1]).__name__, "float", "each loss is a Python float (use loss.item())")
    with torch.no_grad():
        logits = model(x_te)
    assert_tensor(logits, "model output", shape=(n_test, 1))
    assert_equal(bool((logits > 0).any() and (logits < 0).any()), True,
                 "the outputs take both signs (logits: no sigmoid at the end, BCEWithLogitsLoss applies it)")
    return logits, y_te

logits, y_te = fresh_xor_logits(seed=0)
assert_accuracy(logits, y_te, 1.0, "test accuracy on noisy XOR (seed 0)")
### BEGIN HIDDEN TESTS
for _seed in (17, 29):
    _logits, _y = fresh_xor_logits(seed=_seed)
    assert_accuracy(_logits, _y, 0.99, f"test accuracy on noisy XOR (seed {_seed})")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Check your understanding (multiple choice)
#
# Answer each question with one letter, e.g. `answers["q1"] = "a"`.
#
# **q1.** How many trainable parameters does a perceptron with 10 inputs have?
# (a) 10  (b) 11  (c) 20  (d) 100
#
# **q2.** Which of these functions of two binary inputs can **no** perceptron compute?
# (a) NAND  (b) `x1 AND NOT x2`  (c) XNOR (1 when `x1 == x2`)  (d) the constant 1
#
# **q3.** A 2 → 16 → 16 → 1 network of `nn.Linear` layers with **no** activation between them is trained to
# convergence on section 6's noisy XOR. Its test accuracy is
# (a) 1.0, like section 6's MLP  (b) at most about 0.75, no better than the best single line  (c) higher the wider its
# hidden layers  (d) higher the more such layers it has
#
# **q4.** In the lecture's XOR network, for which inputs `(x1, x2)` do **both** hidden units fire at once?
# (a) (0, 0) only  (b) (1, 0) and (0, 1)  (c) none of the four  (d) (1, 1) only

# %% nbgrader={"grade": false, "grade_id": "mcq_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answers = {}
### BEGIN SOLUTION
answers = {"q1": "b", "q2": "c", "q3": "b", "q4": "c"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q1 = assert_choice(answers.get("q1"), "abcd", "q1")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q2 = assert_choice(answers.get("q2"), "abcd", "q2")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q3 = assert_choice(answers.get("q3"), "abcd", "q3")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q4", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q4 = assert_choice(answers.get("q4"), "abcd", "q4")

# %% [markdown]
# ## 8. Written answer (3 points, graded by your TA)
#
# In 4–6 sentences: why can no single perceptron learn XOR, and how do the two hidden units of the lecture's
# network get around it? Refer to what you saw above (the mistakes on XOR, the grid search, the decision boundaries). Then say why the MLP in section 6 would
# fail if you removed its activation function.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_xor", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# A perceptron's decision boundary is a single line `b + w·x = 0`; XOR puts (0,1) and (1,0) on one side and
# (0,0) and (1,1) on the other, and no line does that (the grid search never beats 3/4). Each hidden unit of
# the hand-wired network draws one line that isolates one of the two positive corners; in the space of
# hidden activations (v1, v2) the classes become linearly separable, and the output unit draws a line (an OR)
# there. Without the activation the MLP collapses to a single linear layer (section 5), which has one linear
# boundary again and cannot exceed 75% on XOR.
# ### END SOLUTION
