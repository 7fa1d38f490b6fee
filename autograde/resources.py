"""How many grading workers a machine can run, and which GPU each one uses.

One grading worker runs one student kernel at a time. What bounds the number of workers:

* **CPU cores**: one worker per core (each kernel's torch then gets ``cores // workers`` threads);
* **memory**: ``WORKER_MEMORY_BYTES`` per worker (measured peak of a worker and its kernel,
  with room to spare; docs/benchmarks.md has the measurements), out of the memory available
  now, less ``RESERVED_MEMORY_BYTES`` for the grader and its scorers. A kernel may use up to
  ``GradingLimits.memory_bytes`` before the watchdog stops it, but the labs stay far below,
  so budgeting every worker at that ceiling would idle most of a machine;
* **GPUs are shared**: the labs need well under 1 GiB of GPU memory, so several kernels share
  one GPU. Workers are given GPUs round-robin, ``workers_per_gpu`` of them per GPU at most, and
  each kernel is capped at ``GPU_MEMORY_HEADROOM / workers_per_gpu`` of its GPU's memory
  (``LABKIT_GPU_MEMORY_FRACTION``, which :func:`labkit.get_device` turns into
  ``torch.cuda.set_per_process_memory_fraction``), so one runaway kernel cannot starve the
  others sharing its GPU.

On a Dask cluster the same sharing is a resource request: each grading task asks for
``1 / workers_per_gpu`` of a ``GPU`` resource, and each Dask worker advertises ``GPU=1`` per GPU.

Everything here is pure planning over a :class:`Machine` description, so it is tested with
fake machines; :func:`detect` is the only function that looks at the real one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

GIB = 1024**3

# Measured peak RSS of a grading kernel: 0.74-0.93 GiB over the six labs' reference solutions;
# with its worker process (which has nbgrader and torch loaded) 1.4-1.6 GiB, shared library
# pages counted twice (docs/benchmarks.md, "Memory per worker"). 2 GiB per worker leaves room
# for a heavier submission; the watchdog still stops any kernel at GradingLimits.memory_bytes.
WORKER_MEMORY_BYTES = 2 * GIB
# The grader process, its scorers and the page cache need some memory too.
RESERVED_MEMORY_BYTES = 1 * GIB
# GPU memory planned per kernel when choosing how many kernels share a GPU by default.
KERNEL_GPU_MEMORY_BYTES = 2 * GIB
# Share of a GPU's memory handed out to the kernels on it (the rest: CUDA contexts, which
# the per-process cap does not count, and fragmentation).
GPU_MEMORY_HEADROOM = 0.9

# Environment variables the planner sets for each worker (kernels inherit them).
GPU_FRACTION_ENV = "LABKIT_GPU_MEMORY_FRACTION"


@dataclass(frozen=True)
class Machine:
    """What a machine offers to grading: cores, memory available now, GPU memory per GPU."""

    cores: int
    memory_bytes: int
    gpu_memory_bytes: tuple[int, ...] = ()  # one entry per visible CUDA GPU

    @property
    def gpus(self) -> int:
        return len(self.gpu_memory_bytes)


def thread_environment(threads: int) -> dict[str, str]:
    """Environment that limits a kernel's torch, OpenMP and MKL to ``threads`` threads."""
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "LABKIT_THREADS": str(threads)}


@dataclass(frozen=True)
class WorkerPlan:
    """How a local grading run uses the machine."""

    workers: int
    threads: int  # torch threads per kernel
    gpus: tuple[str, ...] = ()  # GPU id of each worker ("" = none), len == workers
    gpu_memory_fraction: float | None = None  # per-kernel cap on its GPU; None without GPUs
    workers_per_gpu: int = 0
    why: list[str] = field(default_factory=list)  # what bounded the worker count

    def environment(self, index: int) -> dict[str, str]:
        """Environment of worker ``index``: thread limits and, on GPU machines, its GPU and cap."""
        env = thread_environment(self.threads)
        if self.gpus and self.gpus[index]:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[index]
            env[GPU_FRACTION_ENV] = f"{self.gpu_memory_fraction:.4f}"
        return env

    def describe(self) -> str:
        gpu = f", {self.workers_per_gpu} per GPU (each kernel capped at {self.gpu_memory_fraction:.0%} of its GPU's memory)" \
            if self.gpus else ""
        return f"{self.workers} workers x {self.threads} torch thread(s){gpu}; bound: {', '.join(self.why)}"


def detect() -> Machine:
    """The machine this process runs on (cores it may use, memory available now, CUDA GPUs)."""
    import psutil

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    gpu_memory: tuple[int, ...] = ()
    try:
        import torch

        if torch.cuda.is_available():
            gpu_memory = tuple(torch.cuda.get_device_properties(i).total_memory
                               for i in range(torch.cuda.device_count()))
    except ImportError:  # pragma: no cover
        pass
    return Machine(cores=cores, memory_bytes=psutil.virtual_memory().available, gpu_memory_bytes=gpu_memory)


def plan_workers(machine: Machine, workers: int | None = None, workers_per_gpu: int | None = None,
                 worker_memory_bytes: int = WORKER_MEMORY_BYTES) -> WorkerPlan:
    """Choose the number of workers, their threads and GPUs.

    Args:
        machine: what the machine offers (see :func:`detect`).
        workers: an explicit worker count (the TA's ``--workers``); honoured as given.
        workers_per_gpu: kernels that share one GPU (``--workers-per-gpu``); default: as many
            as cores and memory allow, at most ``GPU memory / KERNEL_GPU_MEMORY_BYTES``.
        worker_memory_bytes: memory budget of one worker and its kernel.
    """
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    if workers_per_gpu is not None and workers_per_gpu < 1:
        raise ValueError("workers per GPU must be at least 1")
    cores = max(1, machine.cores)
    by_memory = max(1, (machine.memory_bytes - RESERVED_MEMORY_BYTES) // worker_memory_bytes)
    limits = {"CPU cores": cores, f"memory ({worker_memory_bytes / GIB:g} GiB per worker)": by_memory}
    gpus = machine.gpus
    if gpus:
        if workers_per_gpu is not None:
            limits["--workers-per-gpu"] = workers_per_gpu * gpus
        else:
            per_gpu = min(max(1, m // KERNEL_GPU_MEMORY_BYTES) for m in machine.gpu_memory_bytes)
            limits[f"GPU memory ({KERNEL_GPU_MEMORY_BYTES / GIB:g} GiB per kernel)"] = per_gpu * gpus
    if workers is not None:
        n, why = workers, ["--workers"]
    else:
        n = min(limits.values())
        why = [name for name, value in limits.items() if value == n]
    threads = max(1, cores // n)
    if not gpus:
        return WorkerPlan(n, threads, why=why)
    sharing = -(-n // gpus)  # the most kernels any one GPU gets (round-robin)
    ids = tuple(str(i % gpus) for i in range(n))
    return WorkerPlan(n, threads, ids, round(GPU_MEMORY_HEADROOM / sharing, 4), sharing, why)


def dask_gpu_request(workers_per_gpu: int) -> dict[str, float]:
    """The resource one grading task asks of a Dask worker that advertises ``GPU=1`` per GPU."""
    if workers_per_gpu < 1:
        raise ValueError("workers per GPU must be at least 1")
    return {"GPU": 1.0 / workers_per_gpu}


def dask_gpu_fraction(workers_per_gpu: int) -> float:
    """Per-kernel GPU memory cap for tasks sharing a GPU ``workers_per_gpu`` ways on Dask."""
    return round(GPU_MEMORY_HEADROOM / workers_per_gpu, 4)
