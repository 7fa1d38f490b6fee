"""Worker planning on fake machines: cores, memory and shared GPUs (autograde.resources),
the GPU memory cap a kernel applies (labkit.device), and how local workers take their plan."""

from __future__ import annotations

import queue

import pytest

from autograde import parallel, resources
from autograde.resources import GIB, Machine, plan_workers

BIG = 256 * GIB


def test_cpu_machine_gets_one_worker_per_core_when_memory_allows():
    plan = plan_workers(Machine(cores=16, memory_bytes=BIG))
    assert plan.workers == 16 and plan.threads == 1 and plan.gpus == () and plan.gpu_memory_fraction is None
    assert plan.why == ["CPU cores"]


def test_memory_bounds_workers_with_the_documented_budget():
    memory = resources.RESERVED_MEMORY_BYTES + 5 * resources.WORKER_MEMORY_BYTES + GIB // 2
    plan = plan_workers(Machine(cores=16, memory_bytes=memory))
    assert plan.workers == 5 and plan.threads == 3
    assert plan.why[0].startswith("memory")
    # never zero, even on a machine that is short of memory
    assert plan_workers(Machine(cores=4, memory_bytes=GIB // 2)).workers == 1


def test_budget_is_not_the_kernel_ceiling():
    """GradingLimits.memory_bytes is what one kernel may reach; planning every worker at that
    ceiling would idle most cores, so the per-worker budget is smaller (and documented)."""
    from autograde.course import GradingLimits

    assert resources.WORKER_MEMORY_BYTES < GradingLimits().memory_bytes
    plan = plan_workers(Machine(cores=16, memory_bytes=24 * GIB))
    assert plan.workers == 11  # (24 - 1) GiB / 2 GiB; at 6 GiB per kernel it would be 3


def test_gpu_machine_shares_each_gpu_between_many_workers():
    plan = plan_workers(Machine(cores=16, memory_bytes=BIG, gpu_memory_bytes=(80 * GIB,)))
    assert plan.workers == 16, "one GPU must not mean one worker"
    assert set(plan.gpus) == {"0"} and plan.workers_per_gpu == 16
    assert plan.gpu_memory_fraction == pytest.approx(resources.GPU_MEMORY_HEADROOM / 16, abs=1e-4)
    env = plan.environment(3)
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and env[resources.GPU_FRACTION_ENV] == f"{plan.gpu_memory_fraction:.4f}"


def test_gpus_are_assigned_round_robin_and_capped_per_gpu():
    plan = plan_workers(Machine(cores=10, memory_bytes=BIG, gpu_memory_bytes=(40 * GIB,) * 4))
    assert plan.workers == 10
    assert plan.gpus == ("0", "1", "2", "3", "0", "1", "2", "3", "0", "1")
    assert plan.workers_per_gpu == 3  # the busiest GPU has three kernels
    assert plan.gpu_memory_fraction == pytest.approx(0.3)


def test_workers_per_gpu_knob_caps_the_count_and_sets_the_cap():
    plan = plan_workers(Machine(cores=32, memory_bytes=BIG, gpu_memory_bytes=(80 * GIB, 80 * GIB)), workers_per_gpu=4)
    assert plan.workers == 8 and plan.why == ["--workers-per-gpu"]
    assert plan.gpu_memory_fraction == pytest.approx(0.225)
    assert plan.threads == 4
    # still no more workers than cores
    assert plan_workers(Machine(cores=4, memory_bytes=BIG, gpu_memory_bytes=(80 * GIB,)), workers_per_gpu=8).workers == 4
    with pytest.raises(ValueError):
        plan_workers(Machine(cores=4, memory_bytes=BIG), workers_per_gpu=0)


def test_small_gpu_memory_limits_kernels_per_gpu():
    plan = plan_workers(Machine(cores=16, memory_bytes=BIG, gpu_memory_bytes=(6 * GIB,)))
    assert plan.workers == 3 and plan.why[0].startswith("GPU memory")


def test_explicit_worker_count_is_honoured():
    plan = plan_workers(Machine(cores=2, memory_bytes=BIG, gpu_memory_bytes=(80 * GIB,)), workers=6)
    assert plan.workers == 6 and plan.threads == 1 and len(plan.gpus) == 6 and plan.why == ["--workers"]


def test_dask_tasks_ask_for_a_fraction_of_a_gpu():
    assert resources.dask_gpu_request(1) == {"GPU": 1.0}
    assert resources.dask_gpu_request(4) == {"GPU": 0.25}
    assert resources.dask_gpu_fraction(4) == pytest.approx(0.225)


def test_detect_reports_this_machine():
    machine = resources.detect()
    assert machine.cores >= 1 and machine.memory_bytes > 0
    assert parallel.default_workers() == plan_workers(resources.detect()).workers


def test_local_worker_takes_its_environment_from_the_plan(monkeypatch):
    plan = plan_workers(Machine(cores=6, memory_bytes=BIG, gpu_memory_bytes=(80 * GIB, 80 * GIB)))
    envs = queue.Queue()
    for i in range(2):
        envs.put(plan.environment(i))
    seen = []
    for _ in range(2):
        for key in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "LABKIT_THREADS", resources.GPU_FRACTION_ENV):
            monkeypatch.delenv(key, raising=False)
        parallel._init_local_worker(envs)
        import os

        seen.append((os.environ["CUDA_VISIBLE_DEVICES"], parallel._WORKER_GPU, os.environ["LABKIT_THREADS"],
                     os.environ[resources.GPU_FRACTION_ENV]))
    assert seen == [("0", "0", "1", "0.3000"), ("1", "1", "1", "0.3000")]
    monkeypatch.setattr(parallel, "_WORKER_GPU", None)


def test_labkit_caps_gpu_memory_from_the_environment(monkeypatch):
    import torch

    from labkit import device

    calls = []
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda f, d=None: calls.append((f, d)))
    monkeypatch.setenv(device.GPU_FRACTION_ENV, "0.25")
    assert device.cap_gpu_memory(torch.device("cuda", 1)) == 0.25
    assert calls == [(0.25, 1)]
    assert device.cap_gpu_memory(torch.device("cpu")) is None and len(calls) == 1
    monkeypatch.setenv(device.GPU_FRACTION_ENV, "1.5")
    with pytest.raises(ValueError, match="must be a number"):
        device.gpu_memory_fraction()
    monkeypatch.delenv(device.GPU_FRACTION_ENV)
    assert device.gpu_memory_fraction() is None
    assert device.GPU_FRACTION_ENV == resources.GPU_FRACTION_ENV
