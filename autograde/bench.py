"""`make bench`: grading throughput, plain nbgrader against the parallel grader.

One run, one machine, the same submissions (for each lab: the reference solution, a
half-answered notebook and the untouched release), graded four ways:

1. **bare**: each submission's sanitized notebook executed with nbclient and nothing
   else — the cost of running the student's code, and each lab's notebook runtime;
2. **nbgrader**: plain ``nbgrader autograde <lab> --force``, one lab after another;
3. **ours, 1 worker** and 4. **ours, 2 workers** (``python -m autograde autograde``).

Overhead per submission = (a grader's seconds − bare seconds) / submissions.
Results go to ``artifacts/bench.json`` and are printed as a table.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from autograde import pipeline, samples
from autograde.course import REPO_ROOT, Course

SAMPLES = ["demo-reference", "demo-partial", "demo-blank"]


def machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


def _workspace(base: Path, name: str, labs: list[str]) -> Course:
    # The course root is a scratch folder (nbgrader's CLI reads <root>/nbgrader_config.py,
    # and the repository's would point it at the TA's real workspace).
    root = base / "course"
    root.mkdir(exist_ok=True)
    if not (root / "solutions").exists():
        (root / "solutions").symlink_to(REPO_ROOT / "solutions")
    course = Course(root=root, workspace=base / name, release=base / "labs")
    pipeline.release(course, labs)
    samples.make_samples(course, labs, students=SAMPLES)
    return course


def bare_seconds(course: Course, lab: str, student: str) -> float:
    """Execute exactly the notebook nbgrader executed (sanitized, hidden tests restored),
    taken from the autograded copy with its outputs cleared, with nbclient alone."""
    nb = nbformat.read(course.autograded_notebook(lab, student), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # labkit stays as quiet as under grading
    try:
        client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(course.autograded_notebook(lab, student).parent)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)


def plain_nbgrader_seconds(course: Course, labs: list[str], base: Path) -> float:
    """Real `nbgrader autograde` command line, serially, with the course's configuration."""
    cfg_dir = course.root
    (cfg_dir / "nbgrader_config.py").write_text(
        f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from pathlib import Path\nfrom autograde.course import Course\n"
        "c = get_config()\n"
        f"c.merge(Course(root=Path({str(course.root)!r}), workspace=Path({str(course.workspace)!r}), "
        f"release=Path({str(course.release_dir)!r})).nbgrader_config())\n"
    )
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    start = time.perf_counter()
    for lab in labs:
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", lab, "--force"],
                       cwd=cfg_dir, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def ours_seconds(course: Course, labs: list[str], workers: int) -> float:
    cmd = [sys.executable, "-m", "autograde", "--workspace", str(course.workspace), "autograde",
           "--lab", ",".join(labs), "--workers", str(workers), "--force"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def _scores(course: Course, labs: list[str]) -> dict[str, float]:
    return {f"{lab}/{s}": pipeline.read_score(course, lab, s)[0] for lab in labs for s in SAMPLES}


def run(labs: list[str]) -> dict:
    n = len(labs) * len(SAMPLES)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        base = Path(tmp)
        courses = {name: _workspace(base, name, labs) for name in ("nbgrader", "ours1", "ours2")}
        print(f"machine: {machine()}\n{n} submissions: {', '.join(labs)} x {', '.join(SAMPLES)}", flush=True)

        timings = {"plain nbgrader autograde (serial)": plain_nbgrader_seconds(courses["nbgrader"], labs, base)}
        print(f"  plain nbgrader: {timings['plain nbgrader autograde (serial)']:.1f} s", flush=True)
        timings["ours, 1 worker"] = ours_seconds(courses["ours1"], labs, 1)
        print(f"  ours, 1 worker: {timings['ours, 1 worker']:.1f} s", flush=True)
        timings["ours, 2 workers"] = ours_seconds(courses["ours2"], labs, 2)
        print(f"  ours, 2 workers: {timings['ours, 2 workers']:.1f} s", flush=True)
        per_lab: dict[str, dict[str, float]] = {}
        for lab in labs:
            per_lab[lab] = {s: round(bare_seconds(courses["ours1"], lab, s), 1) for s in SAMPLES}
            print(f"  bare notebook runtime {lab:18s} " + "  ".join(f"{s}: {t:5.1f} s" for s, t in per_lab[lab].items()),
                  flush=True)
        bare = sum(sum(v.values()) for v in per_lab.values())
        timings["bare nbclient (no grading)"] = bare

        # plain nbgrader (no course config) cannot judge hidden checks, so it is a timing baseline only
        agree = _scores(courses["ours1"], labs) == _scores(courses["ours2"], labs)
        from autograde.judge import costs

        judge = costs(courses["ours1"], labs)

    serial = timings["plain nbgrader autograde (serial)"]
    rows = []
    for name, seconds in timings.items():
        rows.append({
            "grader": name,
            "seconds": round(seconds, 1),
            "submissions_per_minute": round(60 * n / seconds, 2),
            "speedup_vs_nbgrader": round(serial / seconds, 2),
            "overhead_s_per_submission": round((seconds - bare) / n, 2) if name.startswith(("plain", "ours, 1")) else None,
        })
    return {"machine": machine(), "submissions": n, "labs": labs, "rows": rows, "notebook_runtime_s": per_lab,
            "scores_agree_with_nbgrader": agree, "judge": judge}


def format_report(report: dict) -> str:
    lines = [f"{'grader':36s} {'seconds':>8s} {'subs/min':>9s} {'speedup':>8s} {'overhead/sub':>13s}"]
    for r in report["rows"]:
        overhead = "" if r["overhead_s_per_submission"] is None else f"{r['overhead_s_per_submission']:.2f} s"
        lines.append(f"{r['grader']:36s} {r['seconds']:8.1f} {r['submissions_per_minute']:9.2f} "
                     f"{r['speedup_vs_nbgrader']:7.2f}x {overhead:>13s}")
    lines.append(f"scores identical with 1 and 2 workers: {report['scores_agree_with_nbgrader']}")
    judge = report.get("judge") or {}
    if judge.get("judged_submissions"):
        lines.append(f"judge: {judge['judge_seconds_mean']:.3f} s per submission on average "
                     f"(max {judge['judge_seconds_max']:.3f} s, {judge['judged_submissions']} submissions)")
        lines.append("answers recorded at release (solution run in the sandbox): "
                     + ", ".join(f"{lab} {sec:.1f} s" for lab, sec in judge["recording_seconds"].items()))
    return "\n".join(lines)


def main(labs: list[str]) -> int:
    report = run(labs)
    print()
    print(format_report(report))
    out = REPO_ROOT / "artifacts" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")
    return 0 if report["scores_agree_with_nbgrader"] else 1
