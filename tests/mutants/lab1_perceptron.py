from mutants import Alternative, Mutant

MUTANTS = [
    Mutant("perceptron_predict", "x @ w + b > 0", "x @ w + b >= 0", ("test_perceptron_predict",),
           "step(0) = 1 instead of the lecture's strict step"),
    Mutant("perceptron_train", "b = b + lr * delta", "b = b + delta", ("test_perceptron_train_gates", "test_perceptron_train_random"),
           "bias update ignores the learning rate"),
    Mutant("best_linear_accuracy", "return float(correct.max())", "return float(correct.mean())",
           ("test_best_linear_accuracy",), "averages instead of maximising over the grid"),
    Mutant("xor_network", "torch.tensor([1.0, 1.0]), -0.5)", "torch.tensor([1.0, 1.0]), -1.5)",
           ("test_xor_network",), "output unit computes AND instead of OR"),
    Mutant("activations", "torch.where(z > 20, z, torch.log1p(torch.exp(torch.clamp(z, max=20))))",
           "torch.log1p(torch.exp(z))", ("test_activations",), "softplus overflows for large z"),
    Mutant("activations", "return 1 - tanh(z) ** 2", "return 1 - tanh(z)", ("test_activation_derivatives",),
           "tanh derivative missing the square"),
    Mutant("collapse_linear", "b = layer.weight @ b + layer.bias", "b = b + layer.bias", ("test_collapse_linear",),
           "bias not carried through the later weights"),
    Mutant("xor_mlp", "nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1)", "nn.Linear(2, hidden), nn.Linear(hidden, 1)",
           ("test_xor_mlp",), "no activation: the MLP collapses to a linear model"),
    Mutant("mcq_answers", '"q2": "c"', '"q2": "a"', ("test_mcq_q2",), "wrong multiple-choice answer",
           hidden_only=True),
    Mutant("perceptron_predict", "return (x @ w + b > 0).float()", "return (x @ w + b > 0)", ("test_perceptron_predict",),
           "returns a bool tensor where the docstring asks for floats"),
    Mutant("perceptron_predict", "return (x @ w + b > 0).float()", "return (x @ w + b > 0).long()", ("test_perceptron_predict",),
           "returns an int tensor where the docstring asks for floats"),
    Mutant("perceptron_train", "w = w + lr * delta * xi", "w = w + delta * xi", ("test_perceptron_train_gates",),
           "weight update ignores the learning rate"),
    Mutant("perceptron_train", "        errors.append(mistakes)\n        if mistakes == 0:\n            break",
           "        if mistakes == 0:\n            break\n        errors.append(mistakes)",
           ("test_perceptron_train_gates",), "stops before recording the epoch without mistakes"),
    Mutant("best_linear_accuracy", "return float(correct.max())", "return correct.max()", ("test_best_linear_accuracy",),
           "returns a 0-d tensor where the docstring promises a Python float"),
    Mutant("activations", "return torch.where(z > 0, z, alpha * z)", "return torch.where(z > 0, z, 0.01 * z)",
           ("test_activations",), "leaky_relu ignores alpha (uses the default)"),
    Mutant("activations", "return 2 * sigmoid(2 * z) - 1", "return torch.tanh(z)", ("test_activations",),
           "calls the library's tanh instead of writing it by hand"),
    Mutant("xor_mlp", "        losses.append(loss.item())", "        losses.append(loss)", ("test_xor_mlp",),
           "keeps loss tensors (with their graphs) instead of floats"),
]

ALTERNATIVES = [
    Alternative("perceptron_predict", "return (x @ w + b > 0).float()",
                "return torch.where(torch.einsum('nd,d->n', x, w) + b > 0, 1.0, 0.0)", "einsum and torch.where"),
    Alternative("perceptron_train", "            y_hat = float(xi @ w + b > 0)", "            y_hat = 1.0 if float((xi * w).sum()) + b > 0 else 0.0",
                "an explicit sum in plain Python"),
    Alternative("best_linear_accuracy", "    grid = torch.linspace(-2, 2, steps)\n    w1, w2, b = torch.meshgrid(grid, grid, grid, indexing=\"ij\")",
                "    grid = torch.linspace(-2, 2, steps)\n    best = 0.0\n    for w1_ in grid:\n        for w2_ in grid:\n            for b_ in grid:\n"
                "                pred = (x.float() @ torch.stack([w1_, w2_]) + b_ > 0).float()\n"
                "                best = max(best, float((pred == y.float()).float().mean()))\n    return best\n"
                "    w1, w2, b = torch.meshgrid(grid, grid, grid, indexing=\"ij\")", "three nested loops"),
    Alternative("activations", "return torch.where(z > 0, z, torch.zeros_like(z))", "return z * (z > 0)", "relu by masking"),
    Alternative("activations", "    ez = torch.exp(-z.abs())  # never overflows\n    return torch.where(z >= 0, 1 / (1 + ez), ez / (1 + ez))",
                "    return 1 / (1 + torch.exp(-z))", "the textbook sigmoid: exp(-z) overflows to inf, 1/inf = 0 is still right"),
    Alternative("activations", "return torch.where(z > 20, z, torch.log1p(torch.exp(torch.clamp(z, max=20))))",
                "return torch.clamp(z, min=0) + torch.log1p(torch.exp(-z.abs()))", "the max(z, 0) + log1p(e^-|z|) form"),
    Alternative("collapse_linear", "            W = layer.weight @ W\n            b = layer.weight @ b + layer.bias",
                "            W = torch.einsum('ij,jk->ik', layer.weight, W)\n            b = torch.mv(layer.weight, b) + layer.bias",
                "einsum and mv"),
    Alternative("xor_mlp", "nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1)", "nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1)",
                "ReLU instead of tanh"),
]

MUTANTS += [
    Mutant("activations", "return (z > 0).to(z.dtype)", "return (z > 0).float()", ("test_activation_derivatives",),
           "d_relu returns float32 for a float64 input"),
]
