"""`make bench`: how long each lab's reference solution takes, executed and graded.

For each lab: (1) the source notebook executed top to bottom with nbclient (what a
student waits for), (2) the same solution autograded through nbgrader (what a TA
waits for per submission). The difference is nbgrader's overhead per submission.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from autograde import pipeline, samples
from autograde.course import REPO_ROOT, Course


def execute_seconds(path: Path, timeout: int = 600) -> float:
    """Wall-clock seconds to execute a notebook with nbclient (labkit progress bars off)."""
    nb = nbformat.read(path, as_version=4)
    os.environ["LABKIT_QUIET"] = "1"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}"


def run(labs: list[str]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Course(workspace=Path(tmp) / "autograde", release=Path(tmp) / "labs")
        pipeline.release(course, labs)
        samples.make_samples(course, labs, students=["demo-reference"])
        for lab in labs:
            executed = execute_seconds(course.source_notebook(lab))
            graded = pipeline.autograde(course, [lab], ["demo-reference"], progress=False)[0]
            rows.append({
                "lab": lab,
                "execute_s": round(executed, 1),
                "autograde_s": round(graded.seconds, 1),
                "overhead_s": round(graded.seconds - executed, 1),
                "score": f"{graded.score:g}/{graded.max_score:g}",
            })
            print(f"{lab:18s} execute {executed:6.1f} s | autograde {graded.seconds:6.1f} s | "
                  f"overhead {graded.seconds - executed:5.1f} s | {rows[-1]['score']}", flush=True)
    return rows


def main(labs: list[str]) -> int:
    print(f"machine: {machine()}")
    rows = run(labs)
    out = REPO_ROOT / "artifacts" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "labs": rows}, indent=2))
    print(f"total execute {sum(r['execute_s'] for r in rows):.1f} s; results in {out}")
    return 0
