"""`make bench-kernel`: what starting one sandboxed kernel costs, phase by phase.

Every graded notebook starts its own kernel in the sandbox, so this cost is paid once per
submission (and over a hundred times in `make test`). Each round starts one kernel with
matplotlib's shared font list (see ``autograde.sandbox.matplotlib_font_cache``) and one without,
runs the same three cells in each — import torch and labkit, draw one plot, ``1 + 1`` — and
times the phases. Rounds alternate the two so a machine whose speed drifts favours neither.
Medians go to ``artifacts/kernel_bench.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import nbformat
from nbclient import NotebookClient

from autograde import sandbox
from autograde.course import REPO_ROOT

CELLS = {
    "torch + labkit": "import torch, labkit",
    "first plot": "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()",
    "1 + 1": "1 + 1",
}
PHASES = ["kernel ready", *CELLS, "total"]


def one_kernel(font_list: bool) -> dict[str, float]:
    """Seconds per phase for one sandboxed kernel, with or without the shared font list."""
    os.environ["AUTOGRADE_FONT_CACHE"] = "1" if font_list else "0"
    sandbox.matplotlib_font_cache.cache_clear()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS.values()])
    with tempfile.TemporaryDirectory(prefix="kernel-bench-") as scratch:
        client = NotebookClient(nb, km=sandbox.SandboxedKernelManager(kernel_name="python3"), timeout=300,
                                resources={"metadata": {"path": scratch}})
        start = time.perf_counter()
        times = {}
        with client.setup_kernel(env={**os.environ, "OMP_NUM_THREADS": "1"}):
            times["kernel ready"] = time.perf_counter() - start
            for index, (name, cell) in enumerate(zip(CELLS, nb.cells)):
                began = time.perf_counter()
                client.execute_cell(cell, index)
                times[name] = time.perf_counter() - began
        times["total"] = time.perf_counter() - start
    problems = [o for c in nb.cells for o in c.outputs
                if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
    if problems:
        raise RuntimeError(f"the benchmark's kernel wrote errors or warnings: {problems[:2]}")
    return times


def measure(rounds: int) -> dict:
    ok, why = sandbox.sandbox_status()
    if not ok:
        raise SystemExit(f"needs the sandbox: {why}")
    previous = os.environ.get("AUTOGRADE_FONT_CACHE")
    runs: dict[str, list[dict[str, float]]] = {"with the font list": [], "without": []}
    try:
        one_kernel(True)  # builds the font list if this user has none yet; not counted
        for _ in range(rounds):
            runs["with the font list"].append(one_kernel(True))
            runs["without"].append(one_kernel(False))
    finally:
        if previous is None:
            os.environ.pop("AUTOGRADE_FONT_CACHE", None)
        else:
            os.environ["AUTOGRADE_FONT_CACHE"] = previous
        sandbox.matplotlib_font_cache.cache_clear()
    medians = {label: {phase: round(statistics.median(r[phase] for r in rs), 3) for phase in PHASES}
               for label, rs in runs.items()}
    return {"rounds": rounds, "median_seconds": medians}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="kernels started with and without the font list")
    args = parser.parse_args(argv)
    report = measure(args.rounds)
    out = REPO_ROOT / "artifacts" / "kernel_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    width = max(len(p) for p in PHASES)
    print(f"median seconds of {args.rounds} sandboxed kernels each")
    print(f"{'':{width}}  " + "  ".join(f"{label:>18}" for label in report["median_seconds"]))
    for phase in PHASES:
        print(f"{phase:{width}}  " + "  ".join(f"{m[phase]:>18.2f}" for m in report["median_seconds"].values()))
    print(f"written to {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
