from mutants import Alternative, Mutant

MUTANTS = [
    # 1. the step size on x²
    Mutant("quadratic_gd", "abs(1 - 2 * lr * curvature) < 1", "abs(1 - 2 * lr * curvature) <= 1", ("test_quadratic_gd",),
           "η = 1/a counted as converging (it bounces forever)"),
    Mutant("quadratic_gd", "abs(1 - 2 * lr * curvature) < 1", "lr < 1 / curvature", ("test_quadratic_gd",),
           "only the upper bound: a negative step size counted as converging"),
    Mutant("quadratic_gd", "abs(1 - 2 * lr * curvature) < 1", "abs(1 - 2 * lr) < 1", ("test_quadratic_gd",),
           "converges ignores the curvature (right only for a = 1)"),
    Mutant("quadratic_gd", "xs[-1] - lr * 2 * curvature * xs[-1]", "xs[-1] - lr * 2 * xs[-1]", ("test_quadratic_gd",),
           "gd_quadratic ignores the curvature (right only for a = 1)"),
    Mutant("quadratic_gd", "return torch.tensor(xs, dtype=torch.float64)", "return torch.tensor(xs)", ("test_quadratic_gd",),
           "float32 iterates where float64 is asked"),
    Mutant("quadratic_gd", "return torch.tensor(xs, dtype=torch.float64)", "return torch.tensor(xs[1:], dtype=torch.float64)",
           ("test_quadratic_gd",), "x_0 left out of the iterates"),
    Mutant("quadratic_gd", "abs(1 - 2 * lr * curvature) < 1", "0 < lr < 2 / curvature", ("test_quadratic_gd",),
           "the bound η < 2/a (the factor 2 of the gradient forgotten): 1/a ≤ η < 2/a counted as converging"),
    # 2a. SGD and momentum
    Mutant("sgd", 'state["v"] = self.momentum * state["v"] - self.lr * g',
           'state["v"] = self.momentum * state["v"] - (1 - self.momentum) * self.lr * g', ("test_sgd",),
           "momentum with dampening (1 − β): not the lecture's or PyTorch's rule"),
    Mutant("sgd", '        state["v"] = self.momentum * state["v"] - self.lr * g\n        p += state["v"]',
           '        v = self.momentum * state["v"] - self.lr * g\n        p += v', ("test_sgd",),
           "velocity not stored back in state: momentum never builds up"),
    Mutant("sgd", 'p += state["v"]', 'p = p + state["v"]', ("test_sgd",),
           "p = p + v rebinds the local name: the parameter never moves"),
    Mutant("sgd", 'state["v"] = self.momentum * state["v"] - self.lr * g', 'state["v"] = 0.9 * state["v"] - self.lr * g',
           ("test_sgd",), "momentum hard-coded to 0.9"),
    Mutant("sgd", '        if "v" not in state:\n            state["v"] = torch.zeros_like(p)\n'
           '        state["v"] = self.momentum * state["v"] - self.lr * g\n        p += state["v"]',
           '        if "opt" not in state:\n            state["opt"] = torch.optim.SGD([p], lr=self.lr, momentum=self.momentum)\n'
           '        state["opt"].step()', ("test_sgd",), "torch.optim.SGD inside the update: right numbers, not by hand"),
    # 2b. AdaGrad
    Mutant("adagrad", 'state["G"] += g * g', 'state["G"] = g * g', ("test_adagrad",),
           "`=` instead of `+=`: the squared-gradient sum is not accumulated"),
    Mutant("adagrad", 'state["G"] += g * g', 'state["G"] += g.abs()', ("test_adagrad",),
           "accumulates |g| instead of g²"),
    Mutant("adagrad", 'p -= self.lr * g / (state["G"].sqrt() + self.eps)',
           'p -= self.lr * g / (state["G"] + self.eps).sqrt()', ("test_adagrad",), "ε inside the square root"),
    Mutant("adagrad", '        if "G" not in state:\n            state["G"] = torch.zeros_like(p)\n        state["G"] += g * g\n'
           '        p -= self.lr * g / (state["G"].sqrt() + self.eps)',
           '        if not hasattr(AdaGrad, "sums"):\n            AdaGrad.sums = {}\n'
           '        G = AdaGrad.sums.setdefault(tuple(p.shape), torch.zeros_like(p))\n        G += g * g\n'
           '        p -= self.lr * g / (G.sqrt() + self.eps)', ("test_adagrad",),
           "sums kept on the class, keyed by shape: a fresh optimizer does not start from zero"),
    Mutant("adagrad", 'state["G"] = torch.zeros_like(p)', 'state["G"] = torch.zeros(p.shape)', ("test_adagrad",),
           "state created in float32 (torch.zeros(p.shape)) and summed in place: digits lost, still within 1e-5 of torch.optim"),
    # 2c. RMSProp
    Mutant("rmsprop", 'p -= self.lr * g / (state["E"].sqrt() + self.eps)',
           'p -= self.lr * g / (state["E"] + self.eps).sqrt()', ("test_rmsprop",), "ε inside the square root"),
    Mutant("rmsprop", 'state["E"] = self.rho * state["E"] + (1 - self.rho) * g * g',
           'state["E"] = state["E"] + (1 - self.rho) * g * g', ("test_rmsprop",), "no decay of the running average"),
    Mutant("rmsprop", 'state["E"] = self.rho * state["E"] + (1 - self.rho) * g * g',
           'state["E"] = (1 - self.rho) * state["E"] + self.rho * g * g', ("test_rmsprop",), "ρ and 1 − ρ swapped"),
    Mutant("rmsprop", 'state["E"] = self.rho * state["E"] + (1 - self.rho) * g * g',
           'state["E"] = 0.99 * state["E"] + 0.01 * g * g', ("test_rmsprop",), "ρ hard-coded to the default 0.99"),
    # 2d. AdaDelta
    Mutant("adadelta", 'delta = (state["Edw2"] + self.eps).sqrt() / (state["Eg2"] + self.eps).sqrt() * g',
           'delta = (state["Edw2"] + self.eps).sqrt() / (state["Eg2"].sqrt() + self.eps) * g', ("test_adadelta",),
           "ε outside the root of E[g²] (Adam's habit, not AdaDelta's)"),
    Mutant("adadelta", 'delta = (state["Edw2"] + self.eps).sqrt() / (state["Eg2"] + self.eps).sqrt() * g',
           'delta = g / (state["Eg2"] + self.eps).sqrt()', ("test_adadelta",),
           "unit correction √(E[Δw²] + ε) missing: RMSProp with lr"),
    Mutant("adadelta", 'p -= self.lr * delta', 'p -= delta', ("test_adadelta",),
           "lr ignored (right only for PyTorch's default lr = 1)"),
    Mutant("adadelta", '        state["Eg2"] = self.rho * state["Eg2"] + (1 - self.rho) * g * g\n'
           '        delta = (state["Edw2"] + self.eps).sqrt() / (state["Eg2"] + self.eps).sqrt() * g',
           '        delta = (state["Edw2"] + self.eps).sqrt() / (state["Eg2"] + self.eps).sqrt() * g\n'
           '        state["Eg2"] = self.rho * state["Eg2"] + (1 - self.rho) * g * g', ("test_adadelta",),
           "E[g²] updated after Δw is computed"),
    Mutant("adadelta", "self.rho * state", "0.9 * state", ("test_adadelta",), "ρ hard-coded to the default 0.9"),
    # 2e. Adam
    Mutant("adam", "m_hat = m_hat / (1 - self.beta1 ** self.t)", "m_hat = m_hat", ("test_adam",),
           "bias correction of the first moment missing"),
    Mutant("adam", "if self.bias_correction:", "if True:", ("test_adam_bias_correction",),
           "bias_correction flag ignored"),
    Mutant("adam", "m_hat = m_hat / (1 - self.beta1 ** self.t)\n            v_hat = v_hat / (1 - self.beta2 ** self.t)",
           "m_hat = m_hat / (1 - self.beta1 ** (self.t + 1))\n            v_hat = v_hat / (1 - self.beta2 ** (self.t + 1))",
           ("test_adam",), "bias correction one step ahead (t + 1)"),
    Mutant("adam", "p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)", "p -= self.lr * m_hat / (v_hat + self.eps).sqrt()",
           ("test_adam",), "ε inside the square root"),
    Mutant("adam", '        state["m"] = self.beta1 * state["m"] + (1 - self.beta1) * g\n',
           '        state["m"] = 0.9 * state["m"] + 0.1 * g\n', ("test_adam",), "β1 hard-coded to the default 0.9"),
    Mutant("adam", '        state["m"] = self.beta1 * state["m"] + (1 - self.beta1) * g\n'
           '        state["v"] = self.beta2 * state["v"] + (1 - self.beta2) * g * g\n        m_hat, v_hat = state["m"], state["v"]',
           '        m_hat = self.beta1 * state["m"] + (1 - self.beta1) * g\n'
           '        v_hat = self.beta2 * state["v"] + (1 - self.beta2) * g * g', ("test_adam", "test_adam_bias_correction"),
           "moments not stored back in state"),
    Mutant("adam", '            state["m"] = torch.zeros_like(p)\n            state["v"] = torch.zeros_like(p)\n'
           '        state["m"] = self.beta1 * state["m"] + (1 - self.beta1) * g\n'
           '        state["v"] = self.beta2 * state["v"] + (1 - self.beta2) * g * g',
           '            state["m"] = torch.zeros(p.shape)\n            state["v"] = torch.zeros(p.shape)\n'
           '        state["m"].mul_(self.beta1).add_((1 - self.beta1) * g)\n'
           '        state["v"].mul_(self.beta2).add_((1 - self.beta2) * g * g)', ("test_adam",),
           "moments kept in float32 (torch.zeros(p.shape), updated in place): still within 1e-5 of torch.optim"),
    # 5. gradient noise
    Mutant("gradient_noise", "    model.zero_grad()\n", "", ("test_flat_gradient",),
           "forgot to zero the gradients: they accumulate across calls"),
    Mutant("gradient_noise", "loss_fn(model(x), y).backward()", "nn.functional.cross_entropy(model(x), y).backward()",
           ("test_flat_gradient",), "cross-entropy hard-coded instead of the given loss_fn"),
    Mutant("gradient_noise", "for p in model.parameters()]).detach().clone()",
           "for p in reversed(list(model.parameters()))]).detach().clone()", ("test_flat_gradient",),
           "parameters concatenated in reverse order"),
    Mutant("gradient_noise", "total += float(((g_batch - g_full) ** 2).sum())",
           "total += float((g_batch - g_full).norm())", ("test_gradient_variance",), "norm instead of squared norm"),
    Mutant("gradient_noise", "return total / len(batch_indices)", "return total / batch_indices.shape[1]",
           ("test_gradient_variance",), "divides by the batch size B instead of the number of batches K"),
    Mutant("gradient_noise", "total += float(((g_batch - g_full) ** 2).sum())", "total += ((g_batch - g_full) ** 2).sum()",
           ("test_gradient_variance",), "returns a 0-d tensor where a Python float is promised"),
    Mutant("gradient_noise", "    g_full = flat_gradient(model, loss_fn, x, y)\n",
           "    g_full = torch.stack([flat_gradient(model, loss_fn, x[i], y[i]) for i in batch_indices]).mean(0)\n",
           ("test_gradient_variance",), "spread around the mean of the minibatch gradients, not the full gradient"),
    # 6. schedule
    Mutant("schedule", "base_lr * (step + 1) / warmup_steps", "base_lr * step / warmup_steps", ("test_schedule",),
           "off-by-one warm-up: step 0 has learning rate 0"),
    Mutant("schedule", "(step - warmup_steps) / (total_steps - warmup_steps)", "(step - warmup_steps) / (total_steps - warmup_steps - 1)",
           ("test_schedule",), "cosine reaches 0 one step early (divides by the steps left minus one)"),
    Mutant("schedule", "    if step < warmup_steps:\n        return base_lr * (step + 1) / warmup_steps\n",
           "    warm = base_lr * (step + 1) / warmup_steps\n    if step < warmup_steps:\n        return warm\n",
           ("test_schedule",), "divides by warmup_steps even without warm-up (ZeroDivisionError for warmup_steps = 0)"),
    Mutant("schedule", "return base_lr * 0.5 * (1 + math.cos(math.pi * progress))",
           "return base_lr * 0.5 * (1 + torch.cos(torch.tensor(math.pi * progress)))", ("test_schedule",),
           "returns a 0-d tensor where a Python float is promised"),
    Mutant("schedule", "return base_lr * 0.5 * (1 + math.cos(math.pi * progress))",
           "return torch.tensor(base_lr * 0.5 * (1 + math.cos(math.pi * progress)), dtype=torch.float64)", ("test_schedule",),
           "a float64 tensor in the cosine branch (right values; the warm-up branch returns floats)"),
    # 8. searches
    Mutant("grid_random_search", "for values in itertools.product(*(grid[n] for n in names)):",
           "for values in zip(*(grid[n] for n in names)):", ("test_grid_search",),
           "zip instead of product: only the grid's diagonal is tried"),
    Mutant("grid_random_search", "    best_config, best_value = min(trials, key=lambda t: t[1])\n    return best_config, best_value, trials\n"
           "    ### END SOLUTION\n\n\ndef random_search",
           "    best_config, best_value = max(trials, key=lambda t: t[1])\n    return best_config, best_value, trials\n"
           "    ### END SOLUTION\n\n\ndef random_search", ("test_grid_search",), "grid search keeps the highest score (lower is better)"),
    Mutant("grid_random_search", "float(10 ** rng.uniform(math.log10(lo), math.log10(hi)))",
           "float(rng.uniform(lo, hi))", ("test_random_search",), "uniform instead of log-uniform sampling"),
    Mutant("grid_random_search", "rng = np.random.default_rng(seed)\n    trials = []\n    for _ in range(budget):",
           "rng = np.random.default_rng()\n    trials = []\n    for _ in range(budget):", ("test_random_search",),
           "seed ignored: not reproducible"),
    Mutant("grid_random_search", "float(10 ** rng.uniform(math.log10(lo), math.log10(hi)))",
           "np.power(10.0, rng.uniform(math.log10(lo), math.log10(hi)))", ("test_random_search",),
           "numpy floats (np.float64) where Python floats are promised"),
    Mutant("grid_random_search",
           "        config = {n: float(10 ** rng.uniform(math.log10(lo), math.log10(hi))) for n, (lo, hi) in bounds.items()}",
           "        u = rng.uniform()\n"
           "        config = {n: float(10 ** (math.log10(lo) + u * math.log10(hi / lo))) for n, (lo, hi) in bounds.items()}",
           ("test_random_search",), "one random number shared by all parameters: samples on a diagonal"),
    Mutant("bayes_opt", "improvement = best - mu", "improvement = mu - best", ("test_expected_improvement",),
           "EI for maximisation: improvement sign flipped"),
    Mutant("bayes_opt",
           "    safe = sigma.clamp(min=1e-300)\n    z = improvement / safe\n    normal = torch.distributions.Normal("
           "torch.zeros((), dtype=mu.dtype), torch.ones((), dtype=mu.dtype))\n"
           "    ei = improvement * normal.cdf(z) + sigma * normal.log_prob(z).exp()\n"
           "    return torch.where(sigma > 0, ei, improvement.clamp(min=0))",
           "    z = improvement / sigma\n    normal = torch.distributions.Normal("
           "torch.zeros((), dtype=mu.dtype), torch.ones((), dtype=mu.dtype))\n"
           "    return improvement * normal.cdf(z) + sigma * normal.log_prob(z).exp()",
           ("test_expected_improvement",), "σ = 0 not handled: where μ = f* the formula gives 0/0"),
    Mutant("bayes_opt", "for k in range(budget):", "for k in range(budget + n_init):", ("test_bayes_opt",),
           "random initial points not counted in the budget"),
    Mutant("bayes_opt", "gp = fit_gp(np.array(points), np.array(values), seed)\n"
           "            candidates = rng.uniform(lo, hi, size=(n_candidates, len(names)))\n"
           "            mu, sd = gp.predict(candidates, return_std=True)",
           "gp = fit_gp(10 ** np.array(points), np.array(values), seed)\n"
           "            candidates = rng.uniform(lo, hi, size=(n_candidates, len(names)))\n"
           "            mu, sd = gp.predict(10 ** candidates, return_std=True)", ("test_bayes_opt",),
           "GP fitted in linear coordinates instead of log10: the bowl is squeezed into a corner"),
    Mutant("bayes_opt", "u = candidates[int(ei.argmax())]", "u = candidates[int(ei.argmin())]", ("test_bayes_opt",),
           "evaluates the candidate with the lowest expected improvement"),
    Mutant("mcq_answers", '"q1": "b"', '"q1": "a"', ("test_mcq_q1",), "q1: 1/B without the (N − B)/(N − 1) factor",
           hidden_only=True),
    Mutant("mcq_answers", '"q3": "b"', '"q3": "a"', ("test_mcq_q3",), "q3: the constant-η equivalence applied to a schedule",
           hidden_only=True),
    Mutant("mcq_answers", '"q2": "c"', '"q2": "a"', ("test_mcq_q2",), "wrong multiple-choice answer", hidden_only=True),
]

ALTERNATIVES = [
    Alternative("quadratic_gd", "    xs = [float(x0)]\n    for _ in range(steps):\n        xs.append(xs[-1] - lr * 2 * curvature * xs[-1])\n"
                "    return torch.tensor(xs, dtype=torch.float64)",
                "    return x0 * (1 - 2 * lr * curvature) ** torch.arange(steps + 1, dtype=torch.float64)",
                "closed form x_k = (1 − 2aη)^k · x_0"),
    Alternative("quadratic_gd", "return abs(1 - 2 * lr * curvature) < 1", "return 0 < lr < 1 / curvature", "0 < η < 1/a"),
    Alternative("sgd", '        if "v" not in state:\n            state["v"] = torch.zeros_like(p)\n'
                '        state["v"] = self.momentum * state["v"] - self.lr * g\n        p += state["v"]',
                '        buf = state.get("buf")\n        buf = g.clone() if buf is None else buf.mul_(self.momentum).add_(g)\n'
                '        state["buf"] = buf\n        p.add_(buf, alpha=-self.lr)',
                "PyTorch's buffer form b ← μb + g, w ← w − ηb (same iterates at a constant lr)"),
    Alternative("adagrad", '        state["G"] += g * g\n        p -= self.lr * g / (state["G"].sqrt() + self.eps)',
                '        state["G"].addcmul_(g, g)\n        p.addcdiv_(g, state["G"].sqrt().add_(self.eps), value=-self.lr)',
                "in-place addcmul_/addcdiv_"),
    Alternative("rmsprop", '        state["E"] = self.rho * state["E"] + (1 - self.rho) * g * g\n'
                '        p -= self.lr * g / (state["E"].sqrt() + self.eps)',
                '        state["E"].mul_(self.rho).add_((1 - self.rho) * g.pow(2))\n'
                '        p.sub_(self.lr * g / (torch.sqrt(state["E"]) + self.eps))', "in-place running average, torch.sqrt"),
    Alternative("adadelta", 'delta = (state["Edw2"] + self.eps).sqrt() / (state["Eg2"] + self.eps).sqrt() * g',
                'delta = g * torch.sqrt((state["Edw2"] + self.eps) / (state["Eg2"] + self.eps))', "one root of the ratio"),
    Alternative("adam", '        m_hat, v_hat = state["m"], state["v"]\n        if self.bias_correction:\n'
                '            m_hat = m_hat / (1 - self.beta1 ** self.t)\n            v_hat = v_hat / (1 - self.beta2 ** self.t)\n'
                '        p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)',
                '        bc1 = 1 - self.beta1 ** self.t if self.bias_correction else 1.0\n'
                '        bc2 = 1 - self.beta2 ** self.t if self.bias_correction else 1.0\n'
                '        p.addcdiv_(state["m"], state["v"].sqrt() / math.sqrt(bc2) + self.eps, value=-self.lr / bc1)',
                "PyTorch's arrangement: step size η/(1 − β1^t), denominator √v/√(1 − β2^t) + ε"),
    Alternative("gradient_noise", "    model.zero_grad()\n    loss_fn(model(x), y).backward()\n"
                "    return torch.cat([p.grad.reshape(-1) for p in model.parameters()]).detach().clone()",
                "    params = list(model.parameters())\n    grads = torch.autograd.grad(loss_fn(model(x), y), params)\n"
                "    return torch.cat([g.flatten() for g in grads])", "torch.autograd.grad instead of backward"),
    Alternative("gradient_noise", "    total = 0.0\n    for idx in batch_indices:\n"
                "        g_batch = flat_gradient(model, loss_fn, x[idx], y[idx])\n"
                "        total += float(((g_batch - g_full) ** 2).sum())\n    return total / len(batch_indices)",
                "    g_batches = torch.stack([flat_gradient(model, loss_fn, x[idx], y[idx]) for idx in batch_indices])\n"
                "    return ((g_batches - g_full) ** 2).sum(dim=1).mean().item()", "stacked minibatch gradients, one mean"),
    Alternative("schedule", "    progress = (step - warmup_steps) / (total_steps - warmup_steps)\n"
                "    return base_lr * 0.5 * (1 + math.cos(math.pi * progress))",
                "    angle = math.pi * (step - warmup_steps) / (total_steps - warmup_steps)\n"
                "    return base_lr * math.cos(angle / 2) ** 2", "cos²(θ/2) = (1 + cos θ)/2"),
    Alternative("grid_random_search", "    rng = np.random.default_rng(seed)\n    trials = []\n    for _ in range(budget):\n"
                "        config = {n: float(10 ** rng.uniform(math.log10(lo), math.log10(hi))) for n, (lo, hi) in bounds.items()}\n"
                "        trials.append((config, float(objective(config))))",
                "    gen = torch.Generator().manual_seed(seed)\n    names = list(bounds)\n"
                "    lo = torch.tensor([math.log10(bounds[n][0]) for n in names], dtype=torch.float64)\n"
                "    hi = torch.tensor([math.log10(bounds[n][1]) for n in names], dtype=torch.float64)\n"
                "    u = lo + (hi - lo) * torch.rand(budget, len(names), generator=gen, dtype=torch.float64)\n"
                "    trials = []\n    for row in u:\n"
                "        config = {n: min(max(float(10 ** row[i]), bounds[n][0]), bounds[n][1]) for i, n in enumerate(names)}\n"
                "        trials.append((config, float(objective(config))))",
                "all samples drawn at once with a torch generator (other random numbers, still log-uniform)"),
    Alternative("bayes_opt", "candidates = rng.uniform(lo, hi, size=(n_candidates, len(names)))",
                "candidates = lo + (hi - lo) * np.random.default_rng(seed + 1000 * k).random((n_candidates, len(names)))",
                "candidates from a fresh generator per step (other random points; the best-value check must allow them)"),
    Alternative("bayes_opt", "    normal = torch.distributions.Normal(torch.zeros((), dtype=mu.dtype), torch.ones((), dtype=mu.dtype))\n"
                "    ei = improvement * normal.cdf(z) + sigma * normal.log_prob(z).exp()",
                "    cdf = 0.5 * torch.erfc(-z / math.sqrt(2))\n    pdf = torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)\n"
                "    ei = improvement * cdf + sigma * pdf", "Φ and φ written with erfc and exp"),
]
