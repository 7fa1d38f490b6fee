from mutants import Alternative, Mutant

MUTANTS = [
    # attention
    Mutant("attention", "/ math.sqrt(q.shape[-1])", "", ("test_attention", "test_attention_masks"),
           "missing the 1/sqrt(d) scaling"),
    Mutant("attention", "scores.masked_fill(~mask, float(\"-inf\"))", "scores.masked_fill(mask, float(\"-inf\"))",
           ("test_attention_masks",), "mask polarity inverted (True = hide)"),
    Mutant("attention", "torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)", ("test_attention",),
           "softmax over the queries instead of the keys"),
    Mutant("attention", "/ math.sqrt(q.shape[-1])", "/ q.shape[-1]", ("test_attention",),
           "divides by d instead of sqrt(d)"),
    Mutant("attention", "/ math.sqrt(q.shape[-1])", "/ math.sqrt(v.shape[-1])", ("test_attention",),
           "scales by the size of the values instead of the queries/keys"),
    Mutant("attention", "float(\"-inf\")", "0.0", ("test_attention_masks",),
           "masked scores set to 0 instead of -inf (they still get weight)"),
    Mutant("attention", "q @ k.transpose(-2, -1)", "q @ k.transpose(1, 2)", ("test_attention_masks",),
           "transposes fixed axes 1, 2: right only for 3-D inputs"),
    Mutant("attention", "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n    if mask is not None:\n"
           "        scores = scores.masked_fill(~mask, float(\"-inf\"))\n    weights = torch.softmax(scores, dim=-1)\n"
           "    return weights @ v, weights",
           "    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)\n"
           "    eye = torch.eye(k.shape[-2]).expand(*k.shape[:-1], k.shape[-2])\n"
           "    return out, F.scaled_dot_product_attention(q, k, eye, attn_mask=mask)",
           ("test_attention",), "calls the library's scaled_dot_product_attention instead of writing it by hand"),
    Mutant("attention", "    weights = torch.softmax(scores, dim=-1)\n    return weights @ v, weights",
           "    weights = torch.softmax(scores, dim=-1)\n    return weights @ v, torch.softmax(q @ k.transpose(-2, -1) "
           "/ math.sqrt(q.shape[-1]), dim=-1)", ("test_attention_masks",),
           "returns the weights computed before masking"),
    Mutant("attention", "    return weights @ v, weights", "    return weights @ v", ("test_attention",),
           "returns only the output, not the pair (out, weights)"),
    Mutant("attention", "scores.masked_fill(~mask, float(\"-inf\"))", "scores * mask", ("test_attention_masks",),
           "multiplies the scores by the mask (masked scores become 0, not -inf)"),
    # multi-head attention
    Mutant("multihead", "t.reshape(n, length, h, e // h).transpose(1, 2)", "t.reshape(n, h, length, e // h)",
           ("test_multihead",), "heads split by reshaping straight to (N, H, L, E/H), mixing positions"),
    Mutant("multihead", "return self.out_proj(merged), weights", "return merged, weights", ("test_multihead",),
           "forgets the output projection"),
    Mutant("multihead", "split(self.v_proj(x)), mask)", "split(self.v_proj(x)))", ("test_multihead",),
           "ignores the mask"),
    Mutant("multihead", "split(self.v_proj(x)), mask)", "split(self.v_proj(x)), None if mask is None else mask[:, None])",
           ("test_multihead",), "adds a head axis to a mask that already broadcasts (treats it as (N, 1, Lk))"),
    Mutant("multihead", "out.transpose(1, 2).reshape(n, length, e)", "out.reshape(n, length, e)", ("test_multihead",),
           "merges the heads without moving the head axis back"),
    Mutant("multihead", "self.q_proj = nn.Linear(embed_dim, embed_dim)", "self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)",
           ("test_multihead",), "projection without bias"),
    Mutant("multihead", "split(self.k_proj(x))", "split(self.q_proj(x))", ("test_multihead",),
           "uses the query projection for the keys"),
    Mutant("multihead", "        self.q_proj = nn.Linear(embed_dim, embed_dim)\n",
           "        self.q_proj = nn.Linear(embed_dim, embed_dim)\n        self.lib = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)\n",
           ("test_multihead",), "builds nn.MultiheadAttention inside the module (library ban)"),
    Mutant("multihead", "return self.out_proj(merged), weights", "return self.out_proj(merged), weights.mean(1)",
           ("test_multihead",), "returns the weights averaged over the heads instead of every head's"),
    Mutant("multihead", "self.out_proj = nn.Linear(embed_dim, embed_dim)", "self.o_proj = nn.Linear(embed_dim, embed_dim)",
           ("test_multihead",), "output projection stored under another name than out_proj"),
    # positional encoding
    Mutant("positional_encoding", "10000 ** (two_i / dim)", "10000 ** (two_i / 2 / dim)",
           ("test_positional_encoding",), "exponent uses i instead of 2i"),
    Mutant("positional_encoding", "pe[:, 1::2] = torch.cos(angle)", "pe[:, 1::2] = torch.sin(angle)",
           ("test_positional_encoding",), "sine in the odd dimensions too"),
    Mutant("positional_encoding", "pe = torch.zeros(length, dim)", "pe = torch.zeros(length, dim, dtype=torch.float64)",
           ("test_positional_encoding",), "returns float64 where float32 is asked"),
    Mutant("positional_encoding", "    pe[:, 0::2] = torch.sin(angle)\n    pe[:, 1::2] = torch.cos(angle)",
           "    pe[:, : dim // 2] = torch.sin(angle)\n    pe[:, dim // 2:] = torch.cos(angle)",
           ("test_positional_encoding",), "all sines first, then all cosines (not interleaved)"),
    Mutant("positional_encoding", "torch.arange(length, dtype=torch.float32)", "torch.arange(1, length + 1, dtype=torch.float32)",
           ("test_positional_encoding",), "positions counted from 1"),
    Mutant("positional_encoding", "10000 ** (two_i / dim)", "1000 ** (two_i / dim)", ("test_positional_encoding",),
           "base 1000 instead of 10000"),
    # permutation gap
    Mutant("permutation_gap", "f(x)[:, perm]", "f(x)[:, perm.argsort()]", ("test_permutation_gap",),
           "permutes the output with the inverse permutation"),
    Mutant("permutation_gap", ".abs().max().item()", ".abs().max()", ("test_permutation_gap",),
           "returns a 0-d tensor where the docstring promises a Python float"),
    Mutant("permutation_gap", ".abs().max().item()", ".max().item()", ("test_permutation_gap",),
           "largest signed difference instead of the largest absolute difference"),
    Mutant("permutation_gap", ".abs().max().item()", ".abs().mean().item()", ("test_permutation_gap",),
           "mean instead of max"),
    # transformer block
    Mutant("transformer_block", "return h + self.ff(self.norm2(h)), weights", "return self.ff(self.norm2(h)), weights",
           ("test_transformer_block",), "missing the residual connection around the feed-forward network"),
    Mutant("transformer_block", "self.attn(self.norm1(x), mask)", "self.attn(x, mask)", ("test_transformer_block",),
           "no layer norm before the attention"),
    Mutant("transformer_block", "self.attn(self.norm1(x), mask)", "self.attn(self.norm1(x))", ("test_transformer_block",),
           "does not pass the mask to the attention"),
    Mutant("transformer_block", "return h + self.ff(self.norm2(h)), weights", "return self.norm2(h + self.ff(h)), weights",
           ("test_transformer_block",), "post-norm instead of the pre-norm arrangement asked for"),
    Mutant("transformer_block", "nn.ReLU()", "nn.GELU()", ("test_transformer_block",), "GELU instead of ReLU"),
    Mutant("transformer_block", "nn.Linear(d_model, d_ff)", "nn.Linear(d_model, d_ff, bias=False)",
           ("test_transformer_block",), "feed-forward layer without bias"),
    Mutant("transformer_block", "self.attn(self.norm1(x), mask)", "self.attn(self.norm2(x), mask)",
           ("test_transformer_block",), "reuses norm2 before the attention"),
    Mutant("transformer_block", "self.ff = nn.Sequential(", "self.mlp = nn.Sequential(", ("test_transformer_block",),
           "feed-forward network stored under another name than ff"),
    Mutant("transformer_block", "return h + self.ff(self.norm2(h)), weights", "return h + self.ff(self.norm2(h))",
           ("test_transformer_block",), "returns only the output, not the pair (out, weights)"),
    # causal mask
    Mutant("causal_mask", "dtype=torch.bool).tril()", "dtype=torch.bool).triu()", ("test_causal_mask",),
           "upper triangle: every position sees the future instead of the past"),
    Mutant("causal_mask", "dtype=torch.bool).tril()", "dtype=torch.bool).tril(-1)", ("test_causal_mask",),
           "strictly lower triangle: a position cannot see itself"),
    Mutant("causal_mask", "torch.ones(length, length, dtype=torch.bool).tril()", "torch.ones(length, length).tril()",
           ("test_causal_mask",), "float mask where a bool mask is asked"),
    # multiple choice
    Mutant("mcq_answers", '"q1": "b"', '"q1": "a"', ("test_mcq_q1",), "wrong multiple-choice answer", hidden_only=True),
    Mutant("mcq_answers", '"q3": "b"', '"q3": "a"', ("test_mcq_q3",), "wrong multiple-choice answer", hidden_only=True),
]

ALTERNATIVES = [
    Alternative("attention",
                "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n    if mask is not None:\n"
                "        scores = scores.masked_fill(~mask, float(\"-inf\"))\n    weights = torch.softmax(scores, dim=-1)\n"
                "    return weights @ v, weights",
                "    scores = torch.einsum('...id,...jd->...ij', q / q.shape[-1] ** 0.5, k)\n    if mask is not None:\n"
                "        scores = torch.where(mask, scores, torch.tensor(float('-inf')))\n"
                "    scores = scores - scores.amax(-1, keepdim=True)\n    e = scores.exp()\n"
                "    weights = e / e.sum(-1, keepdim=True)\n    return torch.einsum('...ij,...jd->...id', weights, v), weights",
                "einsum, torch.where and a softmax written out with the max subtracted"),
    Alternative("multihead",
                "        def split(t):  # (N, L, E) -> (N, H, L, E // H)\n            return t.reshape(n, length, h, e // h).transpose(1, 2)",
                "        def split(t):  # (N, L, E) -> (N, H, L, E // H)\n            return torch.stack(t.chunk(h, dim=-1), dim=1)",
                "heads split with chunk and stack"),
    Alternative("positional_encoding",
                "    position = torch.arange(length, dtype=torch.float32)[:, None]  # (L, 1)\n"
                "    two_i = torch.arange(0, dim, 2, dtype=torch.float32)  # (D/2,)\n"
                "    angle = position / 10000 ** (two_i / dim)  # (L, D/2)",
                "    position = torch.arange(length, dtype=torch.float32)[:, None]  # (L, 1)\n"
                "    two_i = torch.arange(0, dim, 2, dtype=torch.float32)  # (D/2,)\n"
                "    angle = position * torch.exp(-math.log(10000.0) * two_i / dim)  # (L, D/2)",
                "the exp(-log(10000) 2i/D) form of the frequencies"),
    Alternative("permutation_gap", "        return (f(x[:, perm]) - f(x)[:, perm]).abs().max().item()",
                "        return float(torch.max(torch.abs(f(x[:, perm]) - f(x).index_select(1, perm))))",
                "index_select and float()"),
    Alternative("transformer_block",
                "        attended, weights = self.attn(self.norm1(x), mask)\n        h = x + attended",
                "        h, weights = self.attn(self.norm1(x), mask)\n        h = h + x", "residual added the other way round"),
    Alternative("causal_mask", "return torch.ones(length, length, dtype=torch.bool).tril()",
                "i = torch.arange(length)\n    return i[None, :] <= i[:, None]", "comparison of position indices"),
    Alternative("attention", "scores.masked_fill(~mask, float(\"-inf\"))", "scores.masked_fill(mask == 0, -1e4)",
                "a large negative number instead of -inf for the masked scores (exp(-1e4) is exactly 0 in float32)"),
    Alternative("causal_mask", "return torch.ones(length, length, dtype=torch.bool).tril()",
                "return torch.tril(torch.ones(length, length)) == 1", "tril of a float matrix, compared with 1"),
]
