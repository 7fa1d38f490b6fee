"""Scale tests that fit on one small machine: ``python -m autograde.scale replay|dask``.

**replay** — scoring throughput at class scale without executing thousands of notebooks.
A few real submissions (each lab's reference, half-answered and blank sample) are executed
once by the real worker code; their executed notebooks are then *replayed* as thousands of
synthetic students: each synthetic submission is a byte copy of one real submission, and its
executed notebook is placed in the workspace's execution cache, exactly where an interrupted
run leaves a finished execution. ``parallel.autograde`` then scores every one of them through
the normal path (intake, staging, ``score_executed``, state files), with 1 or more scorers,
into SQLite or PostgreSQL. What is timed is the grader's work per submission *besides*
execution: planning (intake, fingerprint, staging) and scoring into the gradebook.

**dask** — at least 100 real submissions (copies of the samples, every one executed in a
sandboxed kernel) graded through a Dask ``LocalCluster`` on this machine.

Both print a table and write JSON to ``artifacts/`` (``scale_replay.json``, ``scale_dask.json``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from autograde import parallel, pipeline, samples
from autograde.course import REPO_ROOT, Course

SAMPLES = list(samples.SAMPLE_STUDENTS)


def _course(base: Path, name: str, gradebook_url: str | None = None) -> Course:
    return Course(root=REPO_ROOT, workspace=base / name, release=base / "labs", gradebook_url=gradebook_url)


def execute_templates(base: Path, labs: list[str], cache: Path | None = None) -> dict[tuple[str, str], str]:
    """Execute each lab's sample submissions once (real workers, sandboxed); returns
    {(lab, sample): executed notebook}. With ``cache``, reuse earlier executions kept there
    (keyed by the submission's fingerprint, so a changed lab is executed again)."""
    course = _course(base, "templates")
    pipeline.release(course, labs)
    samples.make_samples(course, labs)
    pipeline.warm_dataset_cache()
    work = parallel.plan(course, labs, None, force=True, threads=1)
    out = {}
    for task in work.tasks:
        kept = cache / f"{task.lab}-{task.student}-{task.fingerprint[:16]}.ipynb" if cache else None
        if kept and kept.exists():
            out[(task.lab, task.student)] = kept.read_text()
            continue
        done = parallel.execute_task(task, in_process=True)
        if done.notebook is None:
            raise RuntimeError(f"{task.lab}/{task.student} did not execute: {done.reason}")
        out[(task.lab, task.student)] = done.notebook
        if kept:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(done.notebook)
    return out


def synthetic_class(course: Course, templates: dict[tuple[str, str], str], students: int) -> list[tuple[str, str]]:
    """Write ``students`` synthetic submissions (round-robin over the templates) and their
    executed notebooks into ``course``'s execution cache; returns (lab, student) pairs."""
    template_course = replace(course, workspace=course.workspace.parent / "templates")
    keys = sorted(templates)
    pairs = []
    for i in range(students):
        lab, sample = keys[i % len(keys)]
        student = f"s{i:05d}"
        source = template_course.submission_dir(lab, sample)
        target = course.submission_dir(lab, student)
        target.mkdir(parents=True, exist_ok=True)
        for f in source.iterdir():
            shutil.copyfile(f, target / f.name)
        fp = parallel.fingerprint(course, lab, pipeline.submission_files(course, lab, student))
        parallel._atomic_write(parallel._cache_path(course, lab, student, fp), templates[(lab, sample)])
        pairs.append((lab, student))
    return pairs


def replay(labs: list[str], students: int, scorer_counts: list[int], gradebooks: list[str],
           templates_dir: Path | None = None) -> dict:
    """Score ``students`` replayed submissions per (gradebook, scorers) configuration."""
    from autograde import pgserver

    rows = []
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        base = Path(tmp)
        base.chmod(0o711)  # as root, the PostgreSQL server runs as its own user and must reach its data
        start = time.perf_counter()
        templates = execute_templates(base, labs, templates_dir)
        print(f"{len(templates)} template submissions executed in {time.perf_counter() - start:.0f} s", flush=True)
        reference: dict | None = None
        for gradebook in gradebooks:
            for scorers in scorer_counts:
                name = f"{gradebook}-{scorers}"
                workspace = base / name
                url = None
                if gradebook == "postgres":
                    ok, why = pgserver.available()
                    if not ok:
                        print(f"  {name}: skipped ({why})", flush=True)
                        rows.append({"gradebook": gradebook, "scorers": scorers, "skipped": why})
                        continue
                    workspace.mkdir()
                    url = pgserver.start(workspace)
                try:
                    course = _course(base, name, url)
                    pipeline.release(course, labs)
                    synthetic_class(course, templates, students)
                    t0 = time.perf_counter()
                    results = parallel.autograde(course, labs, workers=1, force=True, progress=False, scorers=scorers)
                    seconds = time.perf_counter() - t0
                    graded = sum(r.status == "graded" for r in results)
                    scores = {(r.lab, r.student): r.score for r in results}
                finally:
                    if url:
                        pgserver.stop(workspace)
                if reference is None:
                    reference = scores
                row = {"gradebook": gradebook, "scorers": scorers, "submissions": len(results), "graded": graded,
                       "seconds": round(seconds, 1), "per_second": round(len(results) / seconds, 2),
                       "ms_per_submission": round(1000 * seconds / len(results)),
                       "scores_match_first_configuration": scores == reference}
                rows.append(row)
                print(f"  {name}: {row['submissions']} submissions in {row['seconds']} s = {row['per_second']}/s "
                      f"({row['ms_per_submission']} ms each), graded {graded}", flush=True)
    return {"kind": "replay", "labs": labs, "students": students, "templates": len(templates), "rows": rows,
            "machine": _machine()}


def dask(labs: list[str], submissions: int, workers: int, scorers: int = 1) -> dict:
    """Grade ``submissions`` real submissions (copies of the samples) on a Dask LocalCluster."""
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory(prefix="scale-dask-") as tmp:
        base = Path(tmp)
        course = _course(base, "dask")
        pipeline.release(course, labs)
        samples.make_samples(course, labs)
        n = 0
        students = []
        while n < submissions:
            for lab in labs:
                for sample in SAMPLES:
                    if n >= submissions:
                        break
                    student = f"d{n:04d}"
                    target = course.submission_dir(lab, student)
                    target.mkdir(parents=True, exist_ok=True)
                    for f in course.submission_dir(lab, sample).iterdir():
                        shutil.copyfile(f, target / f.name)
                    students.append(student)
                    n += 1
        for sample in SAMPLES:  # only the copies are graded
            shutil.rmtree(course.submitted_dir / sample)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            t0 = time.perf_counter()
            results = parallel.autograde(course, labs, scheduler=cluster.scheduler_address, force=True,
                                         progress=True, scorers=scorers)
            seconds = time.perf_counter() - t0
        graded = sum(r.status == "graded" for r in results)
    report = {"kind": "dask", "labs": labs, "submissions": len(results), "graded": graded, "dask_workers": workers,
              "scorers": scorers, "seconds": round(seconds, 1),
              "submissions_per_minute": round(60 * len(results) / seconds, 2), "machine": _machine()}
    print(f"dask LocalCluster, {workers} workers: {len(results)} submissions ({graded} graded) in {seconds:.0f} s "
          f"= {report['submissions_per_minute']}/min", flush=True)
    return report


def _machine() -> str:
    import os
    import platform

    load = os.getloadavg()
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


def _write(report: dict, name: str) -> Path:
    out = REPO_ROOT / "artifacts" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*not in session.*")
    from autograde import fastpaths

    fastpaths.install()  # as `python -m autograde` does
    parser = argparse.ArgumentParser(prog="python -m autograde.scale", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("replay", help="scoring throughput on replayed submissions")
    r.add_argument("--lab", default="all")
    r.add_argument("--students", type=int, default=3000, help="synthetic submissions per configuration")
    r.add_argument("--scorers", default="1,2", help="comma list of scorer counts")
    r.add_argument("--gradebooks", default="sqlite,postgres", help="comma list: sqlite, postgres")
    r.add_argument("--templates", type=Path, default=REPO_ROOT / "artifacts" / "scale_templates",
                   help="where executed template notebooks are kept between runs")
    d = sub.add_parser("dask", help="real submissions through a Dask LocalCluster")
    d.add_argument("--lab", default="all")
    d.add_argument("--submissions", type=int, default=108)
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--scorers", type=int, default=1)
    args = parser.parse_args(argv)
    course = Course()
    labs = course.labs() if args.lab in ("", "all") else [x for x in args.lab.split(",") if x]
    if args.command == "replay":
        report = replay(labs, args.students, [int(x) for x in args.scorers.split(",")],
                        [x.strip() for x in args.gradebooks.split(",")], args.templates)
        _write(report, "scale_replay.json")
        return 0 if all(row.get("scores_match_first_configuration", True) for row in report["rows"]) else 1
    report = dask(labs, args.submissions, args.workers, args.scorers)
    _write(report, "scale_dask.json")
    return 0 if report["graded"] == report["submissions"] else 1


if __name__ == "__main__":
    sys.exit(main())
