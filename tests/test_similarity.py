"""`make similarity`: planted copies among independent solutions are flagged, independent ones are not.

No notebook is executed. The class is built from the committed release (labs/), the reference
solutions, the mutants of tests/mutants (wrong answers: near-copies of the reference), and
independent implementations written here for a few exercises (loops against vectorised code,
other helpers and structure). The independent ones are checked against the reference on random
inputs, so they are real solutions, not strawmen.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import re
import time
import tokenize

import nbformat
import pytest
from conftest import load_mutants

from autograde import __main__ as cli
from autograde import report, samples, similarity, similarity_html
from autograde.course import Course

LAB1, LAB6 = "lab1_perceptron", "lab6_attention"
STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)", re.MULTILINE)

# --- independent answers: grade_id -> bodies, one per stub of the released cell, in order ---------

LAB1_ALT1 = {
    "perceptron_predict": ["""
z = torch.matmul(x, w) + b
out = torch.zeros(z.shape[0])
out[z > 0] = 1.0
return out
"""],
    "perceptron_train": ["""
n, d = x.shape
weights = torch.zeros(d, dtype=x.dtype)
bias = 0.0
history = []
epoch = 0
while epoch < max_epochs:
    wrong = 0
    for i in range(n):
        pred = 1.0 if torch.dot(weights, x[i]).item() + bias > 0 else 0.0
        err = y[i].item() - pred
        if err:
            weights += lr * err * x[i]
            bias += lr * err
            wrong += 1
    history.append(wrong)
    epoch += 1
    if wrong == 0:
        break
return weights, bias, history
"""],
    "best_linear_accuracy": ["""
values = torch.linspace(-2, 2, steps)
target = y.float()
best = 0.0
for w1 in values:
    for w2 in values:
        for bias in values:
            pred = ((x[:, 0] * w1 + x[:, 1] * w2 + bias) > 0).float()
            acc = (pred == target).float().mean().item()
            best = max(best, acc)
return best
"""],
    "xor_network": ["""
h1 = ((x[:, 0] - x[:, 1]) > 0.5).float()
h2 = ((x[:, 1] - x[:, 0]) > 0.5).float()
return ((h1 + h2) > 0.5).float()
"""],
    "activations": [
        """
out = torch.empty_like(z)
pos = z >= 0
out[pos] = 1.0 / (1.0 + torch.exp(-z[pos]))
e = torch.exp(z[~pos])
out[~pos] = e / (1.0 + e)
return out
""",
        "return sigmoid(z) * sigmoid(-z)",
        """
e2 = torch.exp(-2 * z.abs())
t = (1 - e2) / (1 + e2)
return torch.sign(z) * t
""",
        "t = tanh(z)\nreturn 1 - t * t",
        "return z.clamp(min=0)",
        "return torch.gt(z, 0).to(z.dtype)",
        "return torch.maximum(z, alpha * z)",
        "g = torch.full_like(z, alpha)\ng[z > 0] = 1.0\nreturn g",
        "return z.clamp(min=0) + torch.log1p(torch.exp(-z.abs()))",
        "return 1 / (1 + torch.exp(-z))",
    ],
    "collapse_linear": ["""
W = torch.eye(layers[0].in_features)
b = torch.zeros(layers[0].in_features)
for layer in layers:
    W = layer.weight.detach() @ W
    b = layer.weight.detach() @ b + layer.bias.detach()
return W, b
"""],
    "xor_mlp": [
        """
model = nn.Sequential()
model.add_module("hidden", nn.Linear(2, hidden))
model.add_module("act", nn.ReLU())
model.add_module("out", nn.Linear(hidden, 1))
return model
""",
        """
opt = torch.optim.SGD(model.parameters(), lr=lr * 10, momentum=0.9)
history = []
for step in range(epochs):
    logits = model(x).view(-1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float())
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append(float(loss))
return history
""",
    ],
    "mcq_answers": ['answers = {"q1": "b", "q2": "c", "q3": "b", "q4": "b"}'],
}

LAB1_ALT2 = {  # a partial answer: half the exercises
    "perceptron_predict": ["""
outputs = []
for row in x:
    activation = float(b)
    for xi, wi in zip(row, w):
        activation += float(xi) * float(wi)
    outputs.append(1.0 if activation > 0 else 0.0)
return torch.tensor(outputs)
"""],
    "perceptron_train": ["""
def _step(value):
    return 1.0 if value > 0 else 0.0

w = x.new_zeros(x.shape[1])
b = torch.tensor(0.0)
per_epoch = []
for _ in range(max_epochs):
    count = 0
    for features, target in zip(x, y):
        update = lr * (float(target) - _step(float(features @ w + b)))
        count += int(update != 0)
        w, b = w + update * features, b + update
    per_epoch.append(count)
    if not count:
        break
return w, b, per_epoch
"""],
    "best_linear_accuracy": ["""
import itertools

g = torch.linspace(-2, 2, steps).tolist()
xs = x.float()
labels = y.bool()
top = 0.0
for a, c, d in itertools.product(g, g, g):
    hits = ((xs[:, 0] * a + xs[:, 1] * c + d > 0) == labels).sum().item()
    top = max(top, hits / len(labels))
return float(top)
"""],
    "collapse_linear": ["""
n_in = layers[0].in_features
with torch.no_grad():
    out = torch.eye(n_in)
    zero = torch.zeros(1, n_in)
    for lin in layers:
        out, zero = lin(out), lin(zero)
return (out - zero).T, zero[0]
"""],
    "mcq_answers": ['answers = {"q1": "b", "q2": "c", "q3": "a", "q4": "b"}'],
}

LAB1_ALT3 = {  # the author whose one exercise is copied in the class: only "copy-one" hands it in
    "perceptron_predict": ["return torch.heaviside(x.mv(w) + b, torch.tensor(0.0))"],
    "perceptron_train": ["""
w = torch.zeros(x.size(1), dtype=x.dtype)
b = 0.0
errs = []
converged = False
epoch = 0
while not converged and epoch < max_epochs:
    errs.append(0)
    for k in range(len(y)):
        guess = int((x[k] * w).sum() + b > 0)
        if guess != int(y[k]):
            sign = 1 if y[k] > guess else -1
            w = w + sign * lr * x[k]
            b = b + sign * lr
            errs[-1] += 1
    converged = errs[-1] == 0
    epoch += 1
return w, b, errs
"""],
    "best_linear_accuracy": ["""
grid = torch.linspace(-2, 2, steps)
xf = x.float()
z = (xf[:, 0].view(-1, 1, 1, 1) * grid.view(1, -1, 1, 1)
     + xf[:, 1].view(-1, 1, 1, 1) * grid.view(1, 1, -1, 1)
     + grid.view(1, 1, 1, -1))
acc = ((z > 0) == y.view(-1, 1, 1, 1).bool()).float().mean(0)
return acc.max().item()
"""],
    "xor_network": ["""
a = x[:, 0] - x[:, 1] - 0.5
c = x[:, 1] - x[:, 0] - 0.5
return torch.logical_or(a > 0, c > 0).float()
"""],
    "mcq_answers": ['answers = {"q1": "b", "q2": "c", "q3": "b", "q4": "b"}'],
}

LAB6_ALT1 = {
    "attention": ["""
d = q.size(-1)
scores = torch.matmul(q, k.transpose(-1, -2)) * d ** -0.5
if mask is not None:
    scores = torch.where(mask, scores, torch.full_like(scores, float("-inf")))
scores = scores - scores.amax(dim=-1, keepdim=True)
e = scores.exp()
weights = e / e.sum(dim=-1, keepdim=True)
return torch.matmul(weights, v), weights
"""],
    "positional_encoding": ["""
pe = torch.zeros(length, dim, dtype=torch.float32)
for pos in range(length):
    for i in range(0, dim, 2):
        angle = pos / (10000 ** (i / dim))
        pe[pos, i] = math.sin(angle)
        pe[pos, i + 1] = math.cos(angle)
return pe
"""],
    "permutation_gap": ["""
with torch.no_grad():
    a = f(x.index_select(1, perm))
    b = f(x).index_select(1, perm)
return float(torch.max(torch.abs(a - b)))
"""],
    "causal_mask": ["i = torch.arange(length)\nreturn i[None, :] <= i[:, None]"],
    "mcq_answers": ['answers = {"q1": "c", "q2": "c", "q3": "b"}'],
}

LAB6_ALT2 = {
    "attention": ["""
scale = 1.0 / math.sqrt(k.shape[-1])
logits = torch.einsum("...qd,...kd->...qk", q, k) * scale
if mask is not None:
    logits = logits.masked_fill(mask.logical_not(), -float("inf"))
attn = logits.softmax(-1)
out = torch.einsum("...qk,...kv->...qv", attn, v)
return out, attn
"""],
    "positional_encoding": ["""
freqs = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2).float() / dim)
angles = torch.outer(torch.arange(length).float(), freqs)
return torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(length, dim)
"""],
    "permutation_gap": ["""
with torch.no_grad():
    expected = f(x)[:, perm]
    got = f(x[:, perm])
    gap = (got - expected).abs()
    return gap.max().item()
"""],
    "causal_mask": ["return ~torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)"],
    "mcq_answers": ['answers = {"q1": "c", "q2": "c", "q3": "b"}'],
}


# --- building a class --------------------------------------------------------------------------


def fill(stub_cell: str, bodies: list[str]) -> str:
    """The released cell with its stubs replaced, in order, by ``bodies`` (indented to fit)."""
    parts = iter(bodies)

    def put(m: re.Match) -> str:
        indent = m.group(1)
        return "\n".join(indent + line if line else "" for line in next(parts).strip("\n").split("\n"))

    return STUB.sub(put, stub_cell)


def release_cells(course, lab: str) -> dict[str, str]:
    return similarity.release_cells(course, lab)[0]


def reference(course, lab: str) -> dict[str, str]:
    source = nbformat.read(course.source_notebook(lab), as_version=4)
    solutions = samples._solution_sources(source)
    return {gid: solutions[gid] for gid in release_cells(course, lab)}


def answers(course, lab: str, alt: dict[str, list[str]]) -> dict[str, str]:
    """A student's solution cells: ``alt`` where it answers, the untouched release elsewhere."""
    stubs = release_cells(course, lab)
    return {gid: fill(stub, alt[gid]) if gid in alt else stub for gid, stub in stubs.items()}


def rename(source: str, stub: str) -> str:
    """Every local name renamed (not keywords, builtins, attributes, or names the release uses)."""
    fixed = set(re.findall(r"[A-Za-z_]\w*", stub)) | set(keyword.kwlist) | set(dir(__builtins__))
    lines = source.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    edits, prev = [], ""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and prev != "." and tok.string not in fixed:
            at = starts[tok.start[0] - 1] + tok.start[1]
            edits.append((at, at + len(tok.string), f"my_{tok.string[::-1]}"))
        prev = tok.string
    for start, end, new in reversed(edits):
        source = source[:start] + new + source[end:]
    return source


def reorder(source: str) -> str:
    """Top-level functions in reverse order."""
    blocks = re.split(r"\n+(?=(?:def|class) )", source.strip("\n"))
    return "\n\n\n".join(reversed(blocks)) + "\n"


def recomment(source: str) -> str:
    """Comments removed, others and blank lines added."""
    out = []
    for i, line in enumerate(source.split("\n")):
        code = re.sub(r"\s+#(?![^\"']*[\"']).*$", "", line) if "#" in line else line
        if code.strip().startswith("#"):
            continue
        out.append(code)
        if i % 3 == 0 and code.strip():
            out.append("")
            out.append(f"    # step {i}: see the lecture notes")
    return "\n".join(out)


DISGUISES = {
    "renamed": lambda src, stub: rename(src, stub),
    "reordered": lambda src, stub: reorder(src),
    "recommented": lambda src, stub: recomment(src),
    "all": lambda src, stub: recomment(reorder(rename(src, stub))),
}


def disguise(cells: dict[str, str], stubs: dict[str, str], how: str) -> dict[str, str]:
    return {gid: src if src == stubs[gid] else DISGUISES[how](src, stubs[gid]) for gid, src in cells.items()}


def mutant_cells(course, lab: str) -> dict[str, str]:
    """The reference with every plausible bug of tests/mutants/<lab>.py that still applies put in."""
    cells = reference(course, lab)
    for m in load_mutants(lab):
        if m.cell in cells and m.old in cells[m.cell]:
            cells[m.cell] = cells[m.cell].replace(m.old, m.new)
    return cells


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A workspace in a temp folder; the release is the committed labs/ (only read)."""
    return Course(workspace=tmp_path_factory.mktemp("similarity") / "autograde")


def lab1_class(course, how: str = "all") -> tuple[dict[str, dict[str, str]], set[frozenset[str]]]:
    """Lab 1's class and the pairs that must be flagged (the planted ones)."""
    stubs = release_cells(course, LAB1)
    ref = reference(course, LAB1)
    alt1 = answers(course, LAB1, LAB1_ALT1)
    copy_one = answers(course, LAB1, LAB1_ALT3)
    copy_one["xor_mlp"] = rename(alt1["xor_mlp"], stubs["xor_mlp"])  # one exercise, disguised
    subs = {
        "ref": ref, "alt1": alt1, "alt2-partial": answers(course, LAB1, LAB1_ALT2), "blank": dict(stubs),
        "copy-disguised": disguise(ref, stubs, how), "copy-one": copy_one,
    }
    planted = {frozenset(p) for p in [("ref", "copy-disguised"), ("alt1", "copy-one")]}
    if load_mutants(LAB1):  # the reference with plausible bugs put in: a copy too
        subs["mutant"] = mutant_cells(course, LAB1)
        planted |= {frozenset(("ref", "mutant")), frozenset(("copy-disguised", "mutant"))}
    return subs, planted


def flagged(result) -> set[frozenset[str]]:
    return {frozenset((p.a, p.b)) for p in result.pairs}


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", sorted(DISGUISES))
def test_planted_copies_flagged_independent_not(course, how):
    subs, planted = lab1_class(course, how)
    stubs = release_cells(course, LAB1)
    answered = [g for g in stubs if subs["ref"][g] != stubs[g]]
    changed = [g for g in answered if subs["copy-disguised"][g] != subs["ref"][g]]
    assert len(changed) >= len(answered) // 2, changed  # one-liners may have nothing to rename
    keep = similarity.release_cells(course, LAB1)[1]
    result = similarity.compare(LAB1, stubs, subs, keep)
    assert flagged(result) == planted, similarity.summary([result])
    by_pair = {frozenset((p.a, p.b)): p for p in result.pairs}
    copy = by_pair[frozenset(("ref", "copy-disguised"))]
    assert copy.similarity > 0.95 and min(copy.shares) > 0.95  # everything of the copy matches
    assert result.pairs[0] is copy or result.pairs[0].similarity >= copy.similarity  # ranked
    one = by_pair[frozenset(("alt1", "copy-one"))]
    assert [e.grade_id for e in one.exercises if e.flagged] == ["xor_mlp"]
    assert one.similarity < similarity.LAB_THRESHOLD  # flagged for one exercise, not the lab
    assert "blank" not in {s for p in flagged(result) for s in p}


def test_lab6_independent_solutions_not_flagged_copy_is(course):
    stubs, keep = similarity.release_cells(course, LAB6)
    alt2 = answers(course, LAB6, LAB6_ALT2)
    subs = {"ref": reference(course, LAB6), "alt1": answers(course, LAB6, LAB6_ALT1), "alt2": alt2,
            "copy": disguise(alt2, stubs, "all"), "blank": dict(stubs)}
    result = similarity.compare(LAB6, stubs, subs, keep)
    assert flagged(result) == {frozenset(("alt2", "copy"))}, similarity.summary([result])


def test_normalisation_ignores_names_literals_comments_layout():
    a = 'def f(x, n=3):\n    """Doc."""\n    total = 0  # sum\n    for i in range(n):\n        total += x[i] * 2.5\n    return total\n'
    b = 'def g(values, count=7):\n    "Other doc."\n\n    # loop\n    acc = 0\n    for j in range(count):\n\n        acc += values[j] * 10\n    return acc\n'
    ta, sa = similarity.normalise(a)
    tb, _ = similarity.normalise(b)
    assert ta == tb
    assert "range" in ta and "V" in ta and "N" in ta and "S" not in ta  # docstring gone
    assert sa.shape == (len(ta), 2) and a[sa[ta.index("range"), 0]:sa[ta.index("range"), 1]] == "range"
    # structure and API still count
    assert similarity.normalise("y = x.sum()")[0] != similarity.normalise("y = x.mean()")[0]
    assert similarity.normalise("self.w = 1")[0] == similarity.normalise("self.weight = 2")[0]


def _tokenize_reference(source: str) -> list[str]:
    """What :func:`similarity.normalise` must produce, computed with Python's tokenize."""
    out, raw, line = [], [], []  # line: (kind, text) of the current logical line
    keep = similarity._KEEP
    for tok in tokenize.generate_tokens(io.StringIO(similarity._blank_magics(source)).readline):
        kind, s = tok.type, tok.string
        if kind == tokenize.NAME:
            after = bool(raw) and raw[-1] == "."
            text = ("V" if len(raw) > 1 and raw[-2] == "self" else s) if after else (s if s in keep else "V")
        elif kind == tokenize.NUMBER:
            text = "N"
        elif kind == tokenize.STRING:
            text = "S"
        elif kind == tokenize.OP:
            text = s
        elif kind in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            if line and any(k != tokenize.STRING for k, _ in line):  # a string alone is a docstring
                out += [t for _, t in line] + [";"]
            line = []
            if kind != tokenize.NEWLINE:
                out.append(">" if kind == tokenize.INDENT else "<")
            continue
        else:
            continue
        line.append((kind, text))
        raw.append(s)
    return out


def test_lexer_agrees_with_python_tokenize_on_every_code_cell(course):
    """The fast lexer gives the tokens Python's own tokenize gives, on all the course's code."""
    checked = 0
    for lab in course.labs():
        for path in (course.source_notebook(lab), course.release_notebook(lab)):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "code" and cell.source.strip():
                    assert similarity.normalise(cell.source)[0] == _tokenize_reference(cell.source), cell.source[:200]
                    checked += 1
    for src in [*(b for alt in (LAB1_ALT1, LAB1_ALT2, LAB6_ALT2) for v in alt.values() for b in v),
                "x = f'{a!r:>10}' + rb'\\x00' + '''multi\nline'''\n", "if a:\n\tb = (1,\n  2)\nelse:\n    c = 3j\n",
                "%matplotlib inline\n!ls\ny = x[::2] ** -1.5e-3 @ z  # c\n", "x = 0x1F_FF + 1_000.5\n"]:
        assert similarity.normalise(src)[0] == _tokenize_reference(src), src
        checked += 1
    assert checked > 100


def test_broken_code_does_not_crash():
    for src in ['s = "unterminated\nx = 1\n', "def f(:\n  return [1, 2\n", "if x:\n    a = 1\n  b = 2\n", "'''open", ""]:
        tokens, spans = similarity.normalise(src)
        assert spans.shape == (len(tokens), 2)


def test_release_and_common_code_are_ignored(course):
    """Blank notebooks and code most of the class writes alike flag nobody; rarer shared code does."""
    stubs, keep = similarity.release_cells(course, LAB1)
    gid = "perceptron_train"
    common = fill(stubs[gid], LAB1_ALT1[gid])  # 15 of 40 students write this (e.g. from the lecture)
    rare = fill(stubs[gid], LAB1_ALT2[gid])  # 2 of 40 write this
    subs = {f"s{i:02d}": dict(stubs) for i in range(40)}  # blank
    for i in range(15):
        subs[f"s{i:02d}"][gid] = common
    subs["s30"][gid] = subs["s31"][gid] = rare
    result = similarity.compare(LAB1, stubs, subs, keep)
    assert flagged(result) == {frozenset(("s30", "s31"))}, similarity.summary([result])
    # in a small class the floor applies: COMMON_MIN students with the same code are all listed
    n = similarity.COMMON_MIN
    small = {s: subs[s] for s in list(subs)[:n]}
    assert len(flagged(similarity.compare(LAB1, stubs, small, keep))) == n * (n - 1) // 2


def _tree_digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def workspace(course):
    """Lab 1 and lab 6 classes on disk as nbgrader collects them, plus broken submissions."""
    release = nbformat.read(course.release_notebook(LAB1), as_version=4)
    subs, planted = lab1_class(course)
    for student, cells in subs.items():
        nb = nbformat.from_dict(release)
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in cells and cell.cell_type == "code":
                cell.source = cells[gid]
        samples.write_submission(course, LAB1, student, nb)
    samples.write_submission(course, LAB1, "broken-json", '{"cells": [ not JSON')
    samples.write_submission(course, LAB1, "empty", "")
    stripped = nbformat.from_dict(release)
    for cell in stripped.cells:
        cell.metadata.pop("nbgrader", None)
    samples.write_submission(course, LAB1, "no-metadata", stripped)
    renamed = samples.write_submission(course, LAB1, "renamed", release)
    renamed.rename(renamed.with_name("my_lab1.ipynb"))
    samples.make_samples(course, [LAB6], students=["demo-reference", "demo-blank"])
    return course, planted


def test_reads_what_nbgrader_collected_and_lists_broken(workspace):
    course, planted = workspace
    before = _tree_digest(course.submitted_dir)
    result = similarity.compare_lab(course, LAB1)
    assert _tree_digest(course.submitted_dir) == before  # submissions are only read
    assert flagged(result) == planted
    reasons = dict(result.not_compared)
    assert set(reasons) == {"broken-json", "empty", "no-metadata", "renamed"}
    assert "invalid JSON" in reasons["broken-json"] and "empty" in reasons["empty"]
    assert "solution cells" in reasons["no-metadata"] and "renamed" in reasons["renamed"]
    assert "broken-json" not in result.compared


def test_cli_and_report_section(workspace, capsys):
    course, planted = workspace
    assert cli.main(["--workspace", str(course.workspace), "similarity", "--lab", f"{LAB1},{LAB6}"]) == 0
    out = capsys.readouterr().out
    assert "copy-disguised" in out and "not compared: broken-json" in out
    rows = list(csvreader(course.exports_dir / "similarity.csv"))
    assert {frozenset((r["student_a"], r["student_b"])) for r in rows if r["lab"] == LAB1} == planted
    assert all(float(r["similarity"]) > 0 for r in rows)
    index = report.build(course, [LAB1, LAB6])
    page = index.read_text()
    for text in (page, (course.exports_dir / "similarity.html").read_text()):
        assert 'id=similarity' in text and "Similar submissions" in text
        assert "<mark>" in text and "side by side" in text and "broken-json" in text
        assert "for a person to look at" in text
        low = text.lower()
        for word in ("cheat", "plagiar", "guilty", "suspect", "dishonest", "accus"):
            assert word not in low, word
    section = page[page.index("id=similarity"):]
    table = section[section.index(f'data-lab="{LAB1}"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == len(planted) + 1
    assert section.index("copy-disguised") < section.index("copy-one")  # ranked, whole copy first


def csvreader(path):
    import csv

    with open(path, newline="") as fh:
        yield from csv.DictReader(fh)


def test_highlight_escapes_and_marks():
    out = similarity_html.highlight("a<b> = 1\nc = 2", [(0, 4)], [(9, 10)], [(11, 12)])
    assert out == "<mark>a&lt;b&gt;</mark> = 1\n<span class=given>c</span> <span class=common>=</span> 2"


@pytest.mark.parametrize("alt", ["LAB1_ALT1", "LAB1_ALT2", "LAB1_ALT3", "LAB6_ALT1", "LAB6_ALT2"])
def test_independent_answers_are_correct(course, alt):
    """The hand-written alternatives agree with the reference solution on random inputs."""
    import math

    import torch
    from torch import nn

    lab = LAB1 if alt.startswith("LAB1") else LAB6
    mine: dict = {"torch": torch, "nn": nn, "math": math}
    ref: dict = {"torch": torch, "nn": nn, "math": math}
    for cells, space in ((answers(course, lab, globals()[alt]), mine), (reference(course, lab), ref)):
        for source in cells.values():
            if "NotImplementedError()" not in source:
                exec(source, space)
    torch.manual_seed(0)
    x, w = torch.randn(12, 2), torch.randn(2)
    y = (torch.rand(12) > 0.5).float()
    checks = {
        "perceptron_predict": lambda f: f(x, w, 0.3),
        "perceptron_train": lambda f: f(x, y, 0.5, 20),
        "best_linear_accuracy": lambda f: f(x, y, 5),
        "xor_network": lambda f: f(torch.tensor([[0.0, 0], [0, 1], [1, 0], [1, 1], [0.3, -2.0]])),
        "sigmoid": lambda f: f(torch.linspace(-50, 50, 11)),
        "d_tanh": lambda f: f(torch.linspace(-5, 5, 11)),
        "softplus": lambda f: f(torch.linspace(-50, 50, 11)),
        "d_leaky_relu": lambda f: f(torch.linspace(-5, 5, 11)),
        "scaled_dot_product_attention": lambda f: f(*torch.randn(3, 2, 4, 3).unbind(0), torch.ones(4, 4).tril().bool()),
        "sinusoidal_encoding": lambda f: f(5, 6),
        "causal_mask": lambda f: f(4),
        "permutation_gap": lambda f: f(lambda t: t.cumsum(1), torch.randn(2, 4, 3), torch.tensor([2, 0, 3, 1])),
    }
    compared = 0
    for name, call in checks.items():
        if name in mine and name in ref:
            results = []
            for space in (mine, ref):
                torch.manual_seed(1)  # the same random inputs for both
                results.append(call(space[name]))
            got, want = results
            for g, e in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
                torch.testing.assert_close(torch.as_tensor(g, dtype=torch.float64), torch.as_tensor(e, dtype=torch.float64),
                                           atol=1e-5, rtol=1e-5, msg=f"{alt}.{name}")
            compared += 1
    if "collapse_linear" in mine:
        torch.manual_seed(2)
        layers = [nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(2, 5)]
        for f in (mine["collapse_linear"], ref["collapse_linear"]):
            W, b = f(layers)
            probe = torch.randn(6, 3)
            torch.testing.assert_close(probe @ W.T + b, layers[2](layers[1](layers[0](probe))).detach())
        compared += 1
    assert compared >= 3


def test_cost_grows_gently_with_class_size(course):
    """100 synthetic students per lab, every lab that exists: compared in seconds, copies found.

    (The 500-student measurement is ``python -m autograde.similarity --bench``; see docs/benchmarks.md.)
    """
    import random

    rng = random.Random(0)
    total_cpu, found, planted_all = 0.0, 0, 0
    labs = [lab for lab in course.labs() if course.release_notebook(lab).is_file()]  # labs that exist
    for lab in labs:
        notebooks, planted = similarity.synthetic_class(course, lab, 100, rng, planted=3)
        subs = {s: similarity.solution_cells([dict(c) for c in nb.cells]) for s, nb in notebooks.items()}
        stubs, keep = similarity.release_cells(course, lab)
        start = time.process_time()
        result = similarity.compare(lab, stubs, subs, keep)
        total_cpu += time.process_time() - start
        pairs = flagged(result)
        found += sum(frozenset(p) in pairs for p in planted)
        planted_all += len(planted)
        assert result.candidates < 100 * 99 / 2 * len(stubs) / 10  # the index prunes most pairs
    assert found == planted_all
    assert total_cpu < 30, f"{total_cpu:.1f} CPU s for 100 students x {len(labs)} labs"
