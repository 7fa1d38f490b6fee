from mutants import Alternative, Mutant

_RNN_LOOP = ("    s = s0\n    for t in range(x.shape[1]):\n        a = b + s @ W.T + x[:, t] @ U.T\n        s = torch.tanh(a)\n"
             "        states.append(s)\n")
_CLIP_BODY = ("    grads = [p.grad for p in parameters if p.grad is not None]\n"
              "    total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)).item() if grads else 0.0\n"
              "    if total > max_norm:\n        for g in grads:\n            g.mul_(max_norm / (total + 1e-6))\n")
_CLASSIFIER_FORWARD = (
    "        lengths = (tokens != 0).sum(dim=1)\n"
    "        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(), batch_first=True,\n"
    "                                                   enforce_sorted=False)\n"
    "        _, h_n = self.rnn(packed)\n"
    "        if isinstance(h_n, tuple):  # the LSTM returns (h_n, c_n)\n"
    "            h_n = h_n[0]\n"
    "        return self.head(h_n[-1])\n")

MUTANTS = [
    # --- rnn_forward
    Mutant("rnn_forward", "a = b + s @ W.T + x[:, t] @ U.T", "a = b + s0 @ W.T + x[:, t] @ U.T", ("test_rnn_forward",),
           "recurrence always reads the initial state instead of s_{t-1} (state not carried across steps)"),
    Mutant("rnn_forward", "return c + s_all @ V.T, s_all", "return torch.tanh(c + s_all @ V.T), s_all",
           ("test_rnn_forward",), "tanh applied to the output o_t as well"),
    Mutant("rnn_forward", "a = b + s @ W.T + x[:, t] @ U.T", "a = b + s @ U.T + x[:, t] @ W.T", ("test_rnn_forward",),
           "U and W swapped (only runs when D = H: a square-shapes-only mistake)"),
    Mutant("rnn_forward", "a = b + s @ W.T + x[:, t] @ U.T", "a = s @ W.T + x[:, t] @ U.T", ("test_rnn_forward",),
           "bias b forgotten (invisible with bias=False)"),
    Mutant("rnn_forward", "s_all = torch.stack(states, dim=1)", "s_all = torch.stack(states, dim=0)", ("test_rnn_forward",),
           "states stacked time-first (T, B, H) instead of batch-first"),
    Mutant("rnn_forward", _RNN_LOOP,
           _RNN_LOOP.replace("    s = s0\n", "    s = rnn_forward.__dict__.get(\"last_state\", s0)\n") + "    rnn_forward.last_state = s\n",
           ("test_rnn_forward",), "state kept from the previous call instead of restarting from s0 (not reset between batches)"),
    Mutant("rnn_forward", "        a = b + s @ W.T + x[:, t] @ U.T\n        s = torch.tanh(a)\n",
           "        s = torch.rnn_tanh_cell(x[:, t], s, U, W, b, torch.zeros_like(b))\n", ("test_rnn_forward",),
           "calls the library's RNN cell instead of writing the recurrence by hand"),
    # --- lstm_cell
    Mutant("lstm_cell", "torch.tanh(z_g)", "torch.sigmoid(z_g)", ("test_lstm_cell",),
           "candidate g squashed with a sigmoid instead of tanh"),
    Mutant("lstm_cell", "c_new = f * c + i * g", "c_new = f * c + g", ("test_lstm_cell",),
           "input gate not applied to the candidate"),
    Mutant("lstm_cell", "z_i, z_f, z_g, z_o = z.chunk(4, dim=1)", "z_i, z_f, z_o, z_g = z.chunk(4, dim=1)", ("test_lstm_cell",),
           "gates in the wrong order (i, f, o, g instead of PyTorch's i, f, g, o)"),
    Mutant("lstm_cell", "c_new = f * c + i * g", "c_new = f * h + i * g", ("test_lstm_cell",),
           "forget gate applied to the hidden state, ignoring the previous cell state"),
    Mutant("lstm_cell", "torch.sigmoid(z_f)", "torch.tanh(z_f)", ("test_lstm_cell",),
           "wrong gate activation: tanh on the forget gate"),
    Mutant("lstm_cell", "z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh", "z = x @ W_ih.T + b_ih + h @ W_hh.T", ("test_lstm_cell",),
           "second bias b_hh forgotten (invisible with bias=False)"),
    Mutant("lstm_cell", "h_new = o * torch.tanh(c_new)", "h_new = o * torch.tanh(c)", ("test_lstm_cell",),
           "h computed from the previous cell state"),
    # --- state_jacobian
    Mutant("state_jacobian", "J = ((1 - s[k] ** 2)[:, None] * W) @ J", "J = J @ ((1 - s[k] ** 2)[:, None] * W)",
           ("test_state_jacobian",), "Jacobians multiplied in the wrong order (the earliest step on the left)"),
    Mutant("state_jacobian", "(1 - s[k] ** 2)[:, None] * W", "(1 - s[k] ** 2)[None, :] * W", ("test_state_jacobian",),
           "tanh' factor on the wrong side: W diag(1 - s_k^2) instead of diag(1 - s_k^2) W"),
    Mutant("state_jacobian", "(1 - s[k] ** 2)[:, None] * W", "(1 - s[k] ** 2)[:, None] * W.T", ("test_state_jacobian",),
           "transposed Jacobian (entry (i, j) taken as ds_{k-1}[i] / ds_k[j])"),
    Mutant("state_jacobian", "(1 - s[k] ** 2)", "(1 - torch.tanh(s[k]) ** 2)", ("test_state_jacobian",),
           "tanh' evaluated at the state s_k instead of at a_k (tanh applied twice)"),
    Mutant("state_jacobian", "(1 - s[k] ** 2)", "(1 - s[k - 1] ** 2)", ("test_state_jacobian",),
           "derivative taken at the previous state s_{k-1} instead of s_k"),
    Mutant("state_jacobian", "J = ((1 - s[k] ** 2)[:, None] * W) @ J", "J = W @ J", ("test_state_jacobian",),
           "tanh' forgotten: a product of W alone, as if the RNN were linear"),
    # --- state_gradient_norms
    Mutant("state_gradient_norms", "torch.stack([g.norm() for g in grads])", "torch.stack([g.norm() for g in grads[::-1]])",
           ("test_state_gradient_norms",), "norms listed from the loss backwards"),
    Mutant("state_gradient_norms", "grads = torch.autograd.grad(hs[-1].sum(), hs)",
           "grads = torch.autograd.grad(hs[-1].mean(), hs)", ("test_state_gradient_norms",),
           "mean instead of the sum the instructions fix"),
    Mutant("state_gradient_norms",
           "        state = step(x[:, t], state)\n        hs.append(state[0] if isinstance(state, tuple) else state)\n",
           "        hs.append(state[0] if isinstance(state, tuple) else state)\n        state = step(x[:, t], state)\n",
           ("test_state_gradient_norms",), "measured on the wrong time steps: h_0 .. h_(T-1) instead of h_1 .. h_T"),
    Mutant("state_gradient_norms", "hs.append(state[0] if isinstance(state, tuple) else state)",
           "hs.append(state[-1] if isinstance(state, tuple) else state)", ("test_state_gradient_norms",),
           "LSTM: gradient with respect to the cell state c instead of h"),
    Mutant("state_gradient_norms", "torch.stack([g.norm() for g in grads])", "torch.stack([g.abs().sum() for g in grads])",
           ("test_state_gradient_norms",), "L1 norm instead of the Frobenius norm"),
    Mutant("state_gradient_norms", "return torch.stack([g.norm() for g in grads])", "return [g.norm().item() for g in grads]",
           ("test_state_gradient_norms",), "returns a list of floats where a (T,) tensor is asked"),
    # --- clip_gradients
    Mutant("clip_gradients", "g.mul_(max_norm / (total + 1e-6))", "g.mul_(max_norm / (g.norm() + 1e-6))",
           ("test_clip_gradients",), "each tensor clipped by its own norm, not the total norm"),
    Mutant("clip_gradients", "g.mul_(max_norm / (total + 1e-6))", "g.clamp_(-max_norm, max_norm)",
           ("test_clip_gradients",), "clipping by value instead of by norm"),
    Mutant("clip_gradients", _CLIP_BODY,
           "    grads = [p.grad for p in parameters if p.grad is not None]\n"
           "    total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)).item() if grads else 0.0\n"
           "    if total > max_norm:\n        for p in parameters:\n            if p.grad is not None:\n"
           "                p.grad.mul_(max_norm / (total + 1e-6))\n",
           ("test_clip_gradients",), "reads the parameters twice: a generator (model.parameters()) is empty the second time"),
    Mutant("clip_gradients", "total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)).item() if grads else 0.0",
           "total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)) if grads else 0.0", ("test_clip_gradients",),
           "returns a 0-d tensor where a Python float is promised"),
    Mutant("clip_gradients", "if total > max_norm:", "if total > 0:", ("test_clip_gradients",),
           "rescales every gradient to max_norm, also the small ones"),
    Mutant("clip_gradients", "    return total\n", "    return min(total, max_norm)\n", ("test_clip_gradients",),
           "returns the norm after clipping"),
    Mutant("clip_gradients", _CLIP_BODY, "    return float(torch.nn.utils.clip_grad_norm_(list(parameters), max_norm))\n",
           ("test_clip_gradients",), "calls clip_grad_norm_ instead of writing the clipping by hand"),
    # --- pad_batch / length_mask
    Mutant("pad_batch", "padded[i, : len(s)] = s", "padded[i, padded.shape[1] - len(s):] = s", ("test_pad_batch",),
           "pads on the left"),
    Mutant("pad_batch", "torch.arange(max_len)[None, :] < lengths[:, None]",
           "torch.arange(max_len)[None, :] <= lengths[:, None]", ("test_length_mask",), "off by one in the mask"),
    Mutant("pad_batch", "torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.int64)",
           "torch.zeros((len(seqs), int(lengths.max())), dtype=torch.int64)", ("test_pad_batch",),
           "pads with 0 whatever pad_id says"),
    Mutant("pad_batch", "torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.int64)",
           "torch.full((len(seqs), len(seqs[0])), pad_id, dtype=torch.int64)", ("test_pad_batch",),
           "assumes the first sequence is the longest"),
    Mutant("pad_batch", "return torch.arange(max_len)[None, :] < lengths[:, None]",
           "return torch.arange(int(lengths.max()))[None, :] < lengths[:, None]", ("test_length_mask",),
           "mask as wide as the longest length, ignoring max_len"),
    Mutant("pad_batch", "return torch.arange(max_len)[None, :] < lengths[:, None]",
           "return (torch.arange(max_len)[None, :] < lengths[:, None]).long()", ("test_length_mask",),
           "mask of 0/1 integers where a bool tensor is asked"),
    Mutant("pad_batch", "    return padded, lengths\n",
           "    return torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad_id), lengths\n",
           ("test_pad_batch",), "calls pad_sequence instead of padding by hand"),
    # --- bag_of_words / subset_accuracies
    Mutant("bag_of_words", "    counts[:, 0] = 0\n", "", ("test_bag_of_words",), "padding counted as a word"),
    Mutant("bag_of_words", "result[name] = float(correct[mask].mean())",
           "result[name] = float(correct[mask].sum() / len(subsets))", ("test_subset_accuracies",),
           "subset accuracy divided by the size of the whole set"),
    Mutant("bag_of_words", "counts.scatter_add_(1, tokens,", "counts.scatter_(1, tokens,", ("test_bag_of_words",),
           "records presence (0/1) instead of counts"),
    Mutant("bag_of_words", "counts = torch.zeros(tokens.shape[0], vocab_size)",
           "counts = torch.zeros(tokens.shape[0], vocab_size, dtype=torch.float64)", ("test_bag_of_words",),
           "float64 counts where float32 is asked"),
    Mutant("bag_of_words", "result[name] = float(correct[mask].mean())", "result[name] = correct[mask].mean()",
           ("test_subset_accuracies",), "0-d tensors where Python floats are promised"),
    Mutant("bag_of_words", 'result = {"overall": float(correct.mean())}', "result = {}", ("test_subset_accuracies",),
           "forgets the overall accuracy"),
    Mutant("bag_of_words", "for name in sorted(set(subsets)):", 'for name in ("plain", "negated"):', ("test_subset_accuracies",),
           "hard-codes the subset names of the reviews"),
    # --- sequence_classifier
    Mutant("sequence_classifier",
           "packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(), batch_first=True,\n"
           "                                                   enforce_sorted=False)",
           "packed = self.embed(tokens)", ("test_sequence_classifier",),
           "classifies from the state after the padding, not at each review's end"),
    Mutant("sequence_classifier", "        _, h_n = self.rnn(packed)\n",
           "        _, h_n = self.rnn(packed, self.__dict__.get(\"last_state\"))\n        self.last_state = h_n\n",
           ("test_sequence_classifier",), "state carried over from the previous batch instead of starting from zero"),
    Mutant("sequence_classifier", "(nn.LSTM if cell == \"lstm\" else nn.RNN)(embed_dim", "nn.LSTM(embed_dim",
           ("test_sequence_classifier",), "ignores cell= and always builds an LSTM"),
    Mutant("sequence_classifier", "lengths = (tokens != 0).sum(dim=1)", "lengths = (tokens != 0).sum(dim=1) - 1",
           ("test_sequence_classifier",), "off by one: stops before each review's last token"),
    Mutant("sequence_classifier", "            h_n = h_n[0]\n", "            h_n = h_n[1]\n", ("test_sequence_classifier",),
           "LSTM: classifies from the cell state c_n instead of the hidden state h_n"),
    # --- temperature_softmax
    Mutant("sequence_classifier",
           "        _, h_n = self.rnn(packed)\n        if isinstance(h_n, tuple):  # the LSTM returns (h_n, c_n)\n"
           "            h_n = h_n[0]\n        return self.head(h_n[-1])",
           "        out, _ = self.rnn(packed)\n        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)\n"
           "        return self.head(out.sum(dim=1) / lengths[:, None].to(out.device))",
           ("test_sequence_classifier",), "mean of the states over the real tokens instead of the last one"),
    Mutant("temperature_softmax", "z = z - z.max(dim=-1, keepdim=True).values", "z = z - z.max()",
           ("test_temperature_softmax",), "subtracts the batch's largest logit instead of each row's"),
    Mutant("temperature_softmax", "    z = z - z.max(dim=-1, keepdim=True).values\n", "",
           ("test_temperature_softmax",), "softmax without max-subtraction overflows"),
    Mutant("temperature_softmax", "z = logits / temperature", "z = logits * temperature",
           ("test_temperature_softmax",), "multiplies by the temperature"),
    Mutant("temperature_softmax", "return e / e.sum(dim=-1, keepdim=True)", "return e / e.sum()", ("test_temperature_softmax",),
           "normalises over the whole tensor instead of each row"),
    Mutant("temperature_softmax", "    e = torch.exp(z)\n    return e / e.sum(dim=-1, keepdim=True)\n",
           "    return torch.softmax(z, dim=-1)\n", ("test_temperature_softmax",),
           "calls torch.softmax instead of writing it by hand"),
    # --- multiple choice (the judge holds the answer)
    Mutant("mcq_answers", '"q1": "b"', '"q1": "a"', ("test_mcq_q1",), "wrong multiple-choice answer", hidden_only=True),
]

ALTERNATIVES = [
    Alternative("rnn_forward", "        a = b + s @ W.T + x[:, t] @ U.T\n",
                "        a = torch.einsum('bh,kh->bk', s, W) + torch.einsum('bd,kd->bk', x[:, t], U) + b\n", "einsum"),
    Alternative("rnn_forward", "    s = s0\n    for t in range(x.shape[1]):\n        a = b + s @ W.T + x[:, t] @ U.T\n",
                "    s = s0\n    xu = x @ U.T + b  # every input projection at once, (B, T, H)\n"
                "    for t in range(x.shape[1]):\n        a = xu[:, t] + s @ W.T\n",
                "input projections computed for all steps before the loop"),
    Alternative("lstm_cell", "    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh\n    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)\n",
                "    H = h.shape[1]\n\n    def gate(k):\n        rows = slice(k * H, (k + 1) * H)\n"
                "        return x @ W_ih[rows].T + b_ih[rows] + h @ W_hh[rows].T + b_hh[rows]\n\n"
                "    z_i, z_f, z_g, z_o = gate(0), gate(1), gate(2), gate(3)\n",
                "one matrix product per gate with sliced weights"),
    Alternative("lstm_cell", "i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)",
                "i, f, o = (1 / (1 + torch.exp(-z_)) for z_ in (z_i, z_f, z_o))\n    g = 2 / (1 + torch.exp(-2 * z_g)) - 1",
                "sigmoid and tanh written out"),
    Alternative("state_gradient_norms", "    grads = torch.autograd.grad(hs[-1].sum(), hs)\n    return torch.stack([g.norm() for g in grads])\n",
                "    for h_ in hs:\n        h_.retain_grad()\n    hs[-1].sum().backward()\n"
                "    return torch.stack([h_.grad.norm() for h_ in hs])\n", "backward() with retain_grad instead of autograd.grad"),
    Alternative("state_gradient_norms", "torch.stack([g.norm() for g in grads])",
                "torch.stack([torch.linalg.vector_norm(g.flatten()) for g in grads])", "linalg.vector_norm on the flattened gradient"),
    Alternative("state_gradient_norms", "    grads = torch.autograd.grad(hs[-1].sum(), hs)\n",
                "    grads = [torch.autograd.grad(hs[-1].sum(), h_, retain_graph=True)[0] for h_ in hs]\n",
                "T separate autograd.grad calls, one per state (same numbers, T backward passes)"),
    Alternative("state_jacobian", "    J = torch.eye(W.shape[0], dtype=W.dtype)\n    for k in range(s.shape[0]):\n"
                "        J = ((1 - s[k] ** 2)[:, None] * W) @ J\n",
                "    J = torch.eye(W.shape[0], dtype=W.dtype)\n    for k in reversed(range(s.shape[0])):\n"
                "        J = J @ torch.diag(1 - s[k] ** 2) @ W\n",
                "backwards from the last step, as backpropagation does, with an explicit diag matrix"),
    Alternative("state_jacobian", "    J = torch.eye(W.shape[0], dtype=W.dtype)\n    for k in range(s.shape[0]):\n"
                "        J = ((1 - s[k] ** 2)[:, None] * W) @ J\n",
                "    steps = [torch.einsum('i,ij->ij', 1 - s_k ** 2, W) for s_k in s]\n"
                "    J = torch.linalg.multi_dot(steps[::-1]) if len(steps) > 1 else steps[0]\n",
                "every step's Jacobian with einsum, multiplied with multi_dot"),
    Alternative("clip_gradients", _CLIP_BODY,
                "    grads = [p.grad for p in parameters if p.grad is not None]\n"
                "    total = float(torch.cat([g.flatten() for g in grads]).norm()) if grads else 0.0\n"
                "    scale = min(1.0, max_norm / (total + 1e-6))\n    for g in grads:\n        g *= scale\n",
                "one concatenated vector, scale factor capped at 1"),
    Alternative("pad_batch", "    for i, s in enumerate(seqs):\n        padded[i, : len(s)] = s\n",
                "    padded[torch.arange(padded.shape[1])[None, :] < lengths[:, None]] = torch.cat(list(seqs))\n",
                "vectorised: scatter the concatenated tokens through the mask"),
    Alternative("pad_batch", "    return torch.arange(max_len)[None, :] < lengths[:, None]\n",
                "    return torch.stack([torch.arange(max_len) < n for n in lengths])\n", "mask row by row"),
    Alternative("bag_of_words", "    counts = torch.zeros(tokens.shape[0], vocab_size)\n"
                "    counts.scatter_add_(1, tokens, torch.ones(tokens.shape, dtype=counts.dtype))\n",
                "    counts = nn.functional.one_hot(tokens, vocab_size).sum(dim=1).float()\n", "one_hot and sum"),
    Alternative("bag_of_words", "        mask = torch.tensor([s == name for s in subsets])\n"
                "        result[name] = float(correct[mask].mean())\n",
                "        picked = [c for c, s in zip(correct.tolist(), subsets) if s == name]\n"
                "        result[name] = sum(picked) / len(picked)\n", "plain Python lists"),
    Alternative("sequence_classifier", _CLASSIFIER_FORWARD,
                "        lengths = (tokens != 0).sum(dim=1)\n        out, _ = self.rnn(self.embed(tokens))\n"
                "        return self.head(out[torch.arange(tokens.shape[0]), lengths - 1])\n",
                "no packing: gather each review's output at its last real token"),
    Alternative("temperature_softmax", "    z = logits / temperature\n    z = z - z.max(dim=-1, keepdim=True).values\n",
                "    z = (logits - logits.amax(dim=-1, keepdim=True)) / temperature\n",
                "subtract the max before dividing by the temperature"),
]
