"""GPU check: ``python -m autograde.gpucheck [--lab all] [--workers-per-gpu 4]``.

For anyone with a CUDA machine (none was available where this was written):

1. runs every lab's solution notebook on CUDA (``LABKIT_DEVICE=cuda``) and reports its time;
2. grades the sample class (reference, half-answered, blank for each lab) on the CPU
   (``LABKIT_DEVICE=cpu``), then on the GPU with several workers sharing each GPU
   (``--workers-per-gpu``), each kernel capped at its share of the GPU's memory;
3. compares the two gradebooks submission by submission.

Exit status 0 when every solution ran and the GPU grades equal the CPU grades. On a machine
without CUDA it says "no CUDA device" and exits 0 without doing anything. Results go to
``artifacts/gpucheck.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from autograde.course import REPO_ROOT, Course


def cuda_devices() -> list[str]:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def run_solution(course: Course, lab: str) -> tuple[float, str]:
    """Execute ``lab``'s solution notebook with nbclient on CUDA; (seconds, error or '')."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(course.source_notebook(lab).parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as err:  # report and go on with the next lab
        return time.perf_counter() - start, f"{type(err).__name__}: {str(err)[-300:]}"
    return time.perf_counter() - start, ""


def grade_class(base: Path, name: str, labs: list[str], device: str, workers_per_gpu: int | None) -> tuple[dict, float]:
    from autograde import parallel, pipeline, samples

    course = Course(root=REPO_ROOT, workspace=base / name, release=base / "labs")
    pipeline.release(course, labs)
    samples.make_samples(course, labs)
    os.environ["LABKIT_DEVICE"] = device  # the workers' kernels inherit it
    start = time.perf_counter()
    results = parallel.autograde(course, labs, force=True, progress=False, workers_per_gpu=workers_per_gpu)
    seconds = time.perf_counter() - start
    return {f"{r.lab}/{r.student}": (r.status, r.score) for r in results}, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.gpucheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", default="all")
    parser.add_argument("--workers-per-gpu", type=int, default=4)
    args = parser.parse_args(argv)
    devices = cuda_devices()
    if not devices:
        print("no CUDA device: nothing to check here (run this on a machine with an NVIDIA GPU)")
        return 0
    import warnings

    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course()
    labs = course.labs() if args.lab in ("", "all") else args.lab.split(",")
    print(f"CUDA devices: {', '.join(devices)}")
    report: dict = {"devices": devices, "workers_per_gpu": args.workers_per_gpu, "solutions": {}}
    os.environ["LABKIT_DEVICE"] = "cuda"
    for lab in labs:
        seconds, error = run_solution(course, lab)
        report["solutions"][lab] = {"seconds": round(seconds, 1), "error": error}
        print(f"  solution {lab:18s} on CUDA: {seconds:6.1f} s {'OK' if not error else error}")
    with tempfile.TemporaryDirectory(prefix="gpucheck-") as tmp:
        cpu, cpu_s = grade_class(Path(tmp), "cpu", labs, "cpu", None)
        print(f"  sample class graded on CPU: {cpu_s:.0f} s")
        gpu, gpu_s = grade_class(Path(tmp), "gpu", labs, "cuda", args.workers_per_gpu)
        print(f"  sample class graded on GPU ({args.workers_per_gpu} workers per GPU): {gpu_s:.0f} s")
    differ = {k: {"cpu": cpu.get(k), "gpu": gpu.get(k)} for k in sorted(set(cpu) | set(gpu)) if cpu.get(k) != gpu.get(k)}
    report.update(cpu_seconds=round(cpu_s, 1), gpu_seconds=round(gpu_s, 1), differences=differ)
    for key, value in differ.items():
        print(f"  DIFFERENT {key}: cpu {value['cpu']} gpu {value['gpu']}")
    out = REPO_ROOT / "artifacts" / "gpucheck.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    ok = not differ and not any(s["error"] for s in report["solutions"].values())
    print(f"{'OK' if ok else 'FAILED'}: grades {'equal' if not differ else 'differ'}; written to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
