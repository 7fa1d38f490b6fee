"""labkit.surfaces: the 2-D test functions, trajectories and plots used by lab 3."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from labkit import surfaces  # noqa: E402


@pytest.mark.parametrize("key", sorted(surfaces.SURFACES))
def test_surface_minimum_has_zero_gradient_and_batches(key):
    surf = surfaces.SURFACES[key]
    point = torch.tensor(surf.minimum, dtype=torch.float64, requires_grad=True)
    surf.fn(point).backward()
    assert point.grad.abs().max() < 1e-12
    grid = torch.randn(4, 5, 2, dtype=torch.float64)
    values = surf.fn(grid)
    assert values.shape == (4, 5)
    assert torch.allclose(values[1, 2], surf.fn(grid[1, 2]))


def test_known_values():
    assert float(surfaces.ill_conditioned(torch.tensor([1.0, 1.0]))) == pytest.approx(2.1)
    assert float(surfaces.rosenbrock(torch.tensor([0.0, 0.0]))) == pytest.approx(1.0)
    assert float(surfaces.saddle(torch.tensor([0.0, 1.0]))) == pytest.approx(-0.25)
    assert float(surfaces.saddle(torch.tensor([0.0, 0.0]))) == 0.0


def test_run_trajectory_matches_gradient_descent_and_stops_on_divergence():
    path = surfaces.run_trajectory(lambda p: torch.optim.SGD(p, lr=0.1), surfaces.ill_conditioned, (2.0, 1.0), 5)
    assert path.shape == (6, 2) and path.dtype == torch.float64
    expected = torch.tensor([2.0 * 0.98**k for k in range(6)], dtype=torch.float64)
    assert torch.allclose(path[:, 0], expected)
    assert torch.allclose(path[:, 1], torch.tensor([0.6**k for k in range(6)], dtype=torch.float64))
    blown = surfaces.run_trajectory(lambda p: torch.optim.SGD(p, lr=1.0), surfaces.ill_conditioned, (1.0, 1.0), 200)
    assert len(blown) < 201 and blown[-1].abs().max() > 1e6


def test_plots_draw():
    path = surfaces.run_trajectory(lambda p: torch.optim.Adam(p, lr=0.1), surfaces.saddle, (-1.5, 1e-3), 10)
    ax = surfaces.plot_trajectories(surfaces.saddle, {"Adam": path}, (-2, 2), (-2, 2), minimum=(0, 1))
    assert len(ax.lines) >= 2
    ax = surfaces.plot_trajectories(surfaces.rosenbrock, {"Adam": path}, (-2, 2), (-1, 3), log_levels=True)
    trials = [({"lr": 0.1, "wd": 1e-3}, 0.5), ({"lr": 0.01, "wd": 1e-4}, float("nan")), ({"lr": 1.0, "wd": 1e-2}, 0.2)]
    ax = surfaces.plot_search_points(trials, "lr", "wd", title="t")
    assert ax.get_xscale() == "log"
    plt.close("all")
