from mutants import Mutant

MUTANTS = [
    Mutant("perceptron_predict", "x @ w + b > 0", "x @ w + b >= 0", ("test_perceptron_predict",),
           "step(0) = 1 instead of the lecture's strict step"),
    Mutant("perceptron_train", "b = b + lr * delta", "b = b + delta", ("test_perceptron_train_random",),
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
    Mutant("mcq_answers", '"q2": "c"', '"q2": "a"', ("test_mcq_q2",), "wrong multiple-choice answer"),
]
