"""Pick the compute device in exactly one place.

Every lab calls :func:`get_device` (usually through :func:`labkit.setup_lab`), so
switching the whole course between CPU and GPU is one environment variable:
``LABKIT_DEVICE=cpu|cuda|mps|auto``.

When several grading kernels share one GPU, the grader sets ``LABKIT_GPU_MEMORY_FRACTION``
(a number in (0, 1]) and :func:`get_device` caps this process's share of the GPU's memory
with ``torch.cuda.set_per_process_memory_fraction``, so one kernel cannot starve the others.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "LABKIT_DEVICE"
GPU_FRACTION_ENV = "LABKIT_GPU_MEMORY_FRACTION"
_VALID = ("auto", "cpu", "cuda", "mps")


def gpu_memory_fraction() -> float | None:
    """The per-process GPU memory cap asked for by ``LABKIT_GPU_MEMORY_FRACTION`` (None: no cap).

    Raises:
        ValueError: if the variable is set but is not a number in (0, 1].
    """
    raw = os.environ.get(GPU_FRACTION_ENV, "").strip()
    if not raw:
        return None
    try:
        fraction = float(raw)
    except ValueError:
        fraction = -1.0
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"{GPU_FRACTION_ENV}={raw!r} must be a number in (0, 1]")
    return fraction


def cap_gpu_memory(device: torch.device) -> float | None:
    """Apply ``LABKIT_GPU_MEMORY_FRACTION`` to ``device`` if it is a CUDA device.

    Not printed: the cap depends on how many grading workers share the GPU, and a graded
    notebook's output must not. Returns the fraction applied (None: no cap).
    """
    fraction = gpu_memory_fraction()
    if fraction is None or device.type != "cuda":
        return None
    torch.cuda.set_per_process_memory_fraction(fraction, device.index or 0)
    return fraction


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None, verbose: bool = True) -> torch.device:
    """Return the best available device: CUDA, else Apple MPS, else CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``).
            Defaults to the ``LABKIT_DEVICE`` environment variable, else ``"auto"``.
        verbose: print one line saying what was chosen and why.

    Raises:
        ValueError: if the requested device name is unknown.
        RuntimeError: if a specific device is requested but not available.
    """
    requested = (prefer or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if requested not in _VALID:
        raise ValueError(
            f"{ENV_VAR}={requested!r} is not a device; use one of {', '.join(_VALID)}"
        )
    if requested == "auto":
        if torch.cuda.is_available():
            device, why = torch.device("cuda"), f"CUDA GPU: {torch.cuda.get_device_name(0)}"
        elif _mps_available():
            device, why = torch.device("mps"), "Apple MPS GPU"
        else:
            device, why = torch.device("cpu"), "no CUDA or MPS GPU found"
    else:
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": _mps_available(),
        }[requested]
        if not available:
            raise RuntimeError(
                f"{ENV_VAR} asks for {requested!r} but this machine has no such device; "
                f"unset {ENV_VAR} to fall back automatically"
            )
        device, why = torch.device(requested), f"forced by {ENV_VAR}" if not prefer else "requested"
    cap_gpu_memory(device)
    if verbose:
        print(f"labkit: using device '{device.type}' ({why})")
    return device
