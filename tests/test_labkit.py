"""Unit tests for labkit: device choice, seeding, datasets, training loop, checks, plots."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from torch import nn

import labkit
from labkit import checks, data
from labkit.checks import CheckError


# ---------------------------------------------------------------- device and seeding
def test_get_device_auto_falls_back_to_cpu_and_says_so(capsys, monkeypatch):
    monkeypatch.delenv("LABKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("labkit.device._mps_available", lambda: False)
    assert labkit.get_device() == torch.device("cpu")
    assert "cpu" in capsys.readouterr().out


def test_get_device_prefers_cuda_when_present(monkeypatch):
    monkeypatch.delenv("LABKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Fake GPU")
    assert labkit.get_device(verbose=False).type == "cuda"


def test_get_device_env_override_and_errors(monkeypatch):
    monkeypatch.setenv("LABKIT_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert labkit.get_device(verbose=False).type == "cpu"
    monkeypatch.setenv("LABKIT_DEVICE", "tpu")
    with pytest.raises(ValueError, match="LABKIT_DEVICE"):
        labkit.get_device(verbose=False)
    monkeypatch.setenv("LABKIT_DEVICE", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no such device"):
        labkit.get_device(verbose=False)


def test_seed_everything_makes_all_generators_repeat():
    import random

    def draw():
        labkit.seed_everything(123)
        return random.random(), np.random.rand(), torch.rand(3)

    (a1, b1, c1), (a2, b2, c2) = draw(), draw()
    assert a1 == a2 and b1 == b2 and torch.equal(c1, c2)


def test_seed_everything_turns_on_deterministic_algorithms_without_loading_the_compiler():
    # a fresh interpreter: the public torch call imports torch.compile's config (2.5 s a kernel)
    code = ("import sys, torch, labkit; labkit.seed_everything(0); "
            "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(), "
            "'torch._inductor.config' in sys.modules or torch.cuda.is_available())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == ["True", "True"]
    assert out[2] == "False" or torch.cuda.is_available()


def test_setup_lab_sends_warnings_to_stdout(capsys):
    import warnings

    labkit.setup_lab(seed=1)
    warnings.warn("careful", UserWarning, stacklevel=1)
    out = capsys.readouterr()
    assert "careful" in out.out and "careful" not in out.err


# ---------------------------------------------------------------- datasets
def test_mnist5k_shapes_range_balance_and_speed():
    data.load_mnist5k()  # build the cache if needed
    start = time.perf_counter()
    x, y = data.load_mnist5k()
    assert time.perf_counter() - start < 1.0, "cached load must take under a second"
    assert x.shape == (5000, 1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.equal(torch.bincount(y), torch.full((10,), 500))
    assert data.load_mnist5k(flatten=True)[0].shape == (5000, 784)


def test_splits_are_stratified_disjoint_and_seeded():
    s = data.mnist5k_splits(train=3500, val=500, test=1000, seed=0)
    assert s.sizes() == (3500, 500, 1000)
    assert torch.equal(torch.bincount(s.train.tensors[1]), torch.full((10,), 350))
    again = data.mnist5k_splits(seed=0)
    assert torch.equal(s.test.tensors[0], again.test.tensors[0])
    other = data.mnist5k_splits(seed=1)
    assert not torch.equal(s.test.tensors[0], other.test.tensors[0])
    # disjoint: no image appears in both train and test
    train_keys = {hash(t.numpy().tobytes()) for t in s.train.tensors[0][:500]}
    test_keys = {hash(t.numpy().tobytes()) for t in s.test.tensors[0]}
    assert not train_keys & test_keys


def test_corrupt_cache_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    data.load_mnist5k()
    images = tmp_path / "mnist5k_images.npy"
    raw = bytearray(images.read_bytes())
    raw[-10] ^= 0xFF
    images.write_bytes(bytes(raw))
    with pytest.raises(data.DatasetError, match=r"mnist5k_images\.npy.*checksum mismatch.*delete the file"):
        data.load_mnist5k()
    images.write_bytes(b"garbage")
    with pytest.raises(data.DatasetError, match=r"mnist5k_images\.npy: cannot read"):
        data.load_mnist5k()
    images.unlink()  # a missing cache is rebuilt from the package
    assert data.load_mnist5k()[0].shape[0] == 5000


def test_missing_or_modified_source_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "MNIST_SOURCE_SHA256", "0" * 64)
    with pytest.raises(data.DatasetError, match="mnist_5k.csv.gz: checksum mismatch"):
        data.load_mnist5k()


def test_sklearn_digits_checksummed():
    x, y = data.load_sklearn_digits()
    assert x.shape == (1797, 1, 8, 8) and float(x.max()) == 1.0
    assert data.sklearn_digits_splits().sizes() == (1200, 297, 300)


def test_toy_generators_are_deterministic():
    x, y = data.logic_gate("xor")
    assert y.tolist() == [0, 1, 1, 0]
    with pytest.raises(ValueError, match="unknown gate"):
        data.logic_gate("maybe")
    a, b = data.noisy_xor(50, seed=3), data.noisy_xor(50, seed=3)
    assert torch.equal(a[0], b[0]) and a[0].shape == (50, 2)
    xs, ys, w = data.linearly_separable(80, dim=3, margin=0.1, seed=2)
    margin = (xs @ w[1:] + w[0]).abs()
    assert float(margin.min()) >= 0.1 and set(ys.tolist()) == {0.0, 1.0}
    assert data.spirals(20, 3)[0].shape == (60, 2) and data.two_moons(30)[1].shape == (30,)


def test_memory_probe_label_is_the_first_token():
    from labkit.sequences import memory_probe

    tokens, labels = memory_probe(64, distance=9, n_classes=4, vocab_size=10, seed=0)
    assert tokens.shape == (64, 10) and torch.equal(tokens[:, 0], labels)
    assert int(tokens[:, 1:].min()) >= 4
    with pytest.raises(ValueError):
        memory_probe(4, distance=0)


# ---------------------------------------------------------------- training loop
def _tiny_problem():
    x, y = data.noisy_xor(256, seed=0)
    loader = labkit.make_loader(torch.utils.data.TensorDataset(x, y), batch_size=32, seed=0)
    return loader


def test_fit_learns_and_records_history():
    torch.manual_seed(0)
    loader = _tiny_problem()
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    hist = labkit.fit(model, loader, nn.BCEWithLogitsLoss(), torch.optim.Adam(model.parameters(), 0.05), 30,
                      val_loader=loader)
    assert hist.epochs == 30 and len(hist.val_acc) == 30
    assert hist.train_loss[-1] < hist.train_loss[0] / 4
    assert hist.val_acc[-1] >= 0.98
    assert 0 <= hist.best_epoch() < 30


def test_fit_is_reproducible_with_the_same_seed():
    def run():
        labkit.seed_everything(5)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        return labkit.fit(model, _tiny_problem(), nn.BCEWithLogitsLoss(),
                          torch.optim.SGD(model.parameters(), 0.1), 3).train_loss

    assert run() == run()


def test_progress_bar_is_silent_under_nbgrader(monkeypatch, capsys):
    x, y = labkit.data.noisy_xor(64)
    model = nn.Linear(2, 1)
    loader = labkit.make_loader(torch.utils.data.TensorDataset(x, y), 16)

    def training_stderr() -> str:
        """What two epochs of labkit.fit write to stderr (tqdm's bar goes there)."""
        capsys.readouterr()
        labkit.fit(model, loader, nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), 0.1), 2)
        return capsys.readouterr().err

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert training_stderr() == ""
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.delenv("LABKIT_QUIET", raising=False)
    assert "epoch" in training_stderr()


# ---------------------------------------------------------------- checks
def test_assert_close_passes_and_prints(capsys):
    checks.assert_close(torch.ones(2, 3), torch.ones(2, 3), "ones")
    assert "✓ ones" in capsys.readouterr().out


def test_assert_close_message_names_shape_difference_and_index():
    expected = torch.zeros(3, 4)
    actual = expected.clone()
    actual[2, 1] = 0.5
    with pytest.raises(CheckError) as err:
        checks.assert_close(actual, expected, "grad W1")
    msg = str(err.value)
    assert "grad W1" in msg and "(3, 4)" in msg and "0.5" in msg and "(2, 1)" in msg
    with pytest.raises(CheckError, match=r"expected shape \(3, 4\), got \(4, 3\)"):
        checks.assert_close(torch.zeros(4, 3), expected, "W")
    with pytest.raises(CheckError, match="got numpy.ndarray"):
        checks.assert_close(np.zeros((3, 4)), expected, "W")
    with pytest.raises(CheckError):
        checks.assert_close(torch.full((3, 4), float("nan")), expected, "nan")


def test_checks_resist_always_equal_objects_and_subclasses():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    class Sneaky(torch.Tensor):
        pass

    with pytest.raises(CheckError):
        checks.assert_equal(AlwaysEqual(), 3, "answer")
    with pytest.raises(CheckError):
        checks.assert_close(torch.zeros(2).as_subclass(Sneaky), torch.zeros(2), "x")
    with pytest.raises(CheckError):
        checks.assert_scalar(AlwaysEqual(), 1.0, "loss")
    with pytest.raises(CheckError):
        checks.assert_at_least(AlwaysEqual(), 0.9, "accuracy")
    with pytest.raises(CheckError):
        checks.assert_choice(AlwaysEqual(), "abcd", "q1")


def test_scalar_threshold_choice_and_gradients(capsys):
    checks.assert_scalar(torch.tensor(2.0), 2.0, "loss")
    with pytest.raises(CheckError, match="expected 2, got 2.5"):
        checks.assert_scalar(2.5, 2.0, "loss")
    with pytest.raises(CheckError, match="needs at least 0.9"):
        checks.assert_at_least(0.5, 0.9, "accuracy")
    assert checks.assert_choice(" B ", "abcd", "q1") == "b"
    with pytest.raises(CheckError, match="not one of"):
        checks.assert_choice("e", "abcd", "q1")
    ref = {"W": torch.randn(3, 3, dtype=torch.float64)}
    assert checks.compare_gradients({"W": ref["W"].clone()}, ref) == 0.0
    with pytest.raises(CheckError, match="relative error"):
        checks.compare_gradients({"W": ref["W"] * 1.01}, ref)
    assert "within 1e-07: yes" in capsys.readouterr().out
    # every tensor is reported, not only the first bad one
    two = {"W": ref["W"], "b": torch.ones(3, dtype=torch.float64)}
    with pytest.raises(CheckError, match=r"grad W: .*; grad b: "):
        checks.compare_gradients({"W": ref["W"] * 1.01, "b": two["b"] * 2}, two)


# ---------------------------------------------------------------- plots
def test_plotting_helpers_draw():
    hist = labkit.History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7])
    assert labkit.plotting.plot_history(hist).get_lines()
    x, y = data.noisy_xor(40)
    ax = labkit.plotting.plot_decision_boundary(lambda g: (g.sum(1) > 1).float(), x, y)
    assert ax.collections
    fig = labkit.plotting.show_images(torch.rand(5, 1, 8, 8), labels=list(range(5)), ncols=5)
    assert len(fig.axes) == 5
    assert labkit.plotting.plot_curves({"a": [3, 2, 1]}, logy=True).get_yscale() == "log"
    epochs = labkit.plotting.plot_curves({"loss": [3, 2, 1]}, start=1).get_lines()[0].get_xdata()
    assert list(epochs) == [1, 2, 3]
    spaced = labkit.plotting.plot_curves({"acc": [1, 0.5]}, x=[5, 40]).get_lines()[0].get_xdata()
    assert list(spaced) == [5, 40]
    with pytest.raises(ValueError, match="has 2 values but x has 3"):
        labkit.plotting.plot_curves({"acc": [1, 0.5]}, x=[5, 10, 40])


def test_no_stray_data_files_are_committed():
    # the cache lives in data/ but only as .npy files that git ignores
    tracked = subprocess.run(["git", "ls-files", "data"], capture_output=True, text=True, cwd=labkit.data.data_dir().parent)
    assert not [f for f in tracked.stdout.split() if f.endswith(".npy")]
    assert shutil.which("git")


def test_setup_lab_limits_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("LABKIT_THREADS", raising=False)
        labkit.setup_lab(verbose=False)
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("LABKIT_THREADS", "2")
        labkit.setup_lab(verbose=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_by_hand_catches_a_library_function_imported_above_the_function(tmp_path, monkeypatch, capsys):
    # the import sits outside the function's source, at the top of the student's cell
    (tmp_path / "student_cell.py").write_text(
        "from math import sqrt\nfrom math import sqrt as root\n\n"
        "def bare(x):\n    return sqrt(x)\n\n"
        "def renamed(x):\n    return root(x)\n\n"
        "def own(x):\n    return x ** 0.5\n\n"
        "def nested(x):\n    f = lambda v: sqrt(v)\n    return f(x)\n\n"
        "def left_over(x):\n    return sqrt(x)\n    raise NotImplementedError()\n\n"
        "def stub(x):\n    \"\"\"Docstring.\"\"\"\n    y = x + 1  # given line\n    raise NotImplementedError()\n\n"
        "class Layer:\n    def __init__(self):\n        self.k = 2\n\n    def forward(self, x):\n        raise NotImplementedError()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import student_cell

    for fn in (student_cell.bare, student_cell.renamed, student_cell.nested, student_cell.left_over):
        with pytest.raises(CheckError, match=r"without sqrt; found \w+ \(math's sqrt\)"):
            checks.by_hand("cell", [fn], forbidden=("sqrt",), name="norm by hand")
    checks.by_hand("cell", [student_cell.own], forbidden=("sqrt",), name="norm by hand")
    assert "✓ norm by hand (own): written by hand (no sqrt)" in capsys.readouterr().out
    many = ("sqrt", "pow", "hypot", "norm", "dist")  # a long list is counted, not repeated on every ✓ line
    checks.by_hand("cell", [student_cell.own], forbidden=many, name="norm by hand")
    assert "✓ norm by hand (own): written by hand (none of the 5 library calls it forbids)" in capsys.readouterr().out
    with pytest.raises(CheckError, match="without sqrt, pow, hypot, norm, dist; found sqrt"):
        checks.by_hand("cell", [student_cell.bare], forbidden=many, name="norm by hand")
    for unanswered in (student_cell.stub, student_cell.Layer):  # the released stubs: nothing to say yet
        checks.by_hand("cell", [unanswered], forbidden=("sqrt",), name="norm by hand")
    assert capsys.readouterr().out == ""
