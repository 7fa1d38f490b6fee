"""Reproducibility: one call seeds python, numpy and torch (CPU and CUDA)."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch


def seed_everything(seed: int = 0, deterministic: bool = True) -> torch.Generator:
    """Seed every random number generator the labs use and return a torch generator.

    With ``deterministic=True`` cuDNN picks deterministic kernels and torch warns
    (rather than fails) on operations that have no deterministic implementation,
    so a lab never crashes on a GPU just because of reproducibility settings.

    Returns:
        A ``torch.Generator`` seeded with ``seed``, handy for ``DataLoader(generator=...)``.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        # cuBLAS needs this for deterministic matmuls on CUDA >= 10.2.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        if torch.cuda.is_available() or "torch._inductor.config" in sys.modules:
            torch.use_deterministic_algorithms(True, warn_only=True)
        else:
            # The public call also imports torch.compile's configuration to set its flag there:
            # 2.5 s of every lab kernel's start-up on a CPU (measured), for a compiler the labs
            # never use. The switch the CPU kernels read is this one.
            torch._C._set_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
