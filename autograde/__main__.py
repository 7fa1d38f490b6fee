"""Command line for TAs and instructors: ``python -m autograde <command>``.

The Makefile targets call these; run with ``--help`` for details.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import sys
import time
import warnings
from pathlib import Path

from autograde import exports, pipeline, samples
from autograde.course import Course
from autograde.sandbox import SandboxUnavailable


def _labs(course: Course, lab: str) -> list[str]:
    available = course.labs()
    if lab in ("", "all"):
        return available
    wanted = [x.strip() for x in lab.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in available]
    if unknown:
        sys.exit(f"unknown lab(s) {', '.join(unknown)}; available: {', '.join(available)}")
    return wanted


def cmd_release(course: Course, args: argparse.Namespace) -> int:
    from autograde import sources

    for lab in _labs(course, args.lab):  # authors may have edited either file of the pair
        done = sources.sync(course, lab)
        if done != "in sync":
            print(f"{lab}: {done}")
    for path in pipeline.release(course, _labs(course, args.lab)):
        print(f"released {path.relative_to(course.root)}")
    return 0


def cmd_samples(course: Course, args: argparse.Namespace) -> int:
    made = samples.make_samples(course, _labs(course, args.lab))
    print(f"wrote {len(made)} sample submissions under {course.submitted_dir}")
    return 0


def _grade(course: Course, labs: list[str], students: list[str] | None, args: argparse.Namespace):
    """Plain serial nbgrader with --serial, else the parallel grader (local or Dask)."""
    if getattr(args, "serial", False):
        return pipeline.autograde(course, labs, students)
    from autograde import parallel

    return parallel.autograde(course, labs, students, workers=args.workers or None,
                              scheduler=args.scheduler or None, force=args.force,
                              workers_per_gpu=args.workers_per_gpu or None, scorers=args.scorers or None)


def cmd_autograde(course: Course, args: argparse.Namespace) -> int:
    students = [s for s in args.students.split(",") if s] or None
    results = _grade(course, _labs(course, args.lab), students, args)
    if not results:
        print(f"no submissions found under {course.submitted_dir}")
        return 0
    status = exports.export_status_csv(course, results)
    print(exports.format_table(results))
    print(f"\nstatus with reasons: {status}")
    return 0


def cmd_feedback(course: Course, args: argparse.Namespace) -> int:
    pairs = pipeline.graded_submissions(course, _labs(course, args.lab))
    written = pipeline.feedback(course, pairs)
    print(f"wrote {len(written)} feedback pages under {course.feedback_dir}")
    return 0


def cmd_grades(course: Course, args: argparse.Namespace) -> int:
    from autograde.gradebooks import describe, exists

    if not exists(course):
        sys.exit(f"{describe(course.db_url)}: no gradebook yet; run `make autograde` first")
    print(f"wrote {exports.export_nbgrader_csv(course)}")
    print(f"wrote {exports.export_cell_csv(course)}")
    return 0


def cmd_report(course: Course, args: argparse.Namespace) -> int:
    from autograde import report

    index = report.build(course, _labs(course, args.lab))
    print(f"wrote {index} (score histograms, pass rate per test cell, submissions not graded)")
    print(f"wrote {index.with_name('grades_by_cell.csv')}")
    return 0


def cmd_demo(course: Course, args: argparse.Namespace) -> int:
    start = time.perf_counter()
    labs = _labs(course, args.lab)
    print(f"== release {len(labs)} lab(s) into {course.release_dir}")
    pipeline.release(course, labs)
    print("== sample submissions: demo-reference, demo-partial, demo-blank (+ a broken one)")
    if course.submitted_dir.exists():
        shutil.rmtree(course.submitted_dir)
    samples.make_samples(course, labs)
    samples.write_submission(course, labs[0], "demo-broken", '{"cells": [ this is not JSON')
    print("== autograde")
    args.force = True  # the demo always grades afresh
    results = _grade(course, labs, None, args)
    exports.export_status_csv(course, results)
    print("== feedback")
    written = pipeline.feedback(course, pipeline.graded_submissions(course, labs))
    print(f"{len(written)} feedback pages under {course.feedback_dir}")
    print("== grades")
    for path in (exports.export_nbgrader_csv(course), exports.export_cell_csv(course)):
        print(f"wrote {path}")
    print()
    print(exports.format_table(results))
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s")
    return 0


def cmd_similarity(course: Course, args: argparse.Namespace) -> int:
    from autograde import similarity

    results = similarity.compare_labs(course, _labs(course, args.lab))
    print(similarity.summary(results))
    for path in similarity.write_outputs(course, results):
        print(f"wrote {path}")
    return 0


def cmd_bench(course: Course, args: argparse.Namespace) -> int:
    from autograde import bench

    return bench.main(_labs(course, args.lab))


def main(argv: list[str] | None = None, course: Course | None = None) -> int:
    """Run one command; ``course`` replaces the default Course (the hub's course, autograde/hub.py)."""
    # nbgrader 0.9.6 trips SQLAlchemy's autoflush warnings on every autograde; they are harmless.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from autograde import fastpaths

    fastpaths.install()  # nbgrader's bookkeeping without its repeated work (same gradebook, same files)
    parser = argparse.ArgumentParser(prog="python -m autograde", description=__doc__)
    parser.add_argument("--workspace", type=Path, default=None, help="grading workspace (default: autograde/)")
    parser.add_argument("--course-root", type=Path, default=None,
                        help="course root holding solutions/ (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, helptext in (
        ("release", cmd_release, "nbgrader generate_assignment for each lab into labs/"),
        ("samples", cmd_samples, "write the bundled sample submissions"),
        ("autograde", cmd_autograde, "autograde every submission found"),
        ("feedback", cmd_feedback, "HTML feedback for graded submissions"),
        ("grades", cmd_grades, "export nbgrader's CSV and the per-test-cell CSV"),
        ("report", cmd_report, "class report: score histograms and pass rate per test cell (HTML, PNG)"),
        ("demo", cmd_demo, "release, grade the samples, feedback, grades, table"),
        ("bench", cmd_bench, "time each lab's solution: executed and autograded"),
        ("similarity", cmd_similarity, "pairs of similar solution cells for a TA to look at (CSV, HTML)"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--lab", default="all", help="lab id, comma list, or 'all'")
        if name == "autograde":
            p.add_argument("--students", default="", help="comma list of student ids (default: all)")
        if name in ("autograde", "demo"):
            p.add_argument("--workers", type=int, default=0,
                           help="parallel workers (default: from CPU cores and memory; GPUs are shared)")
            p.add_argument("--workers-per-gpu", type=int, default=0,
                           help="kernels sharing one GPU, locally and on Dask (default: as cores and memory allow)")
            p.add_argument("--scorers", type=int, default=0,
                           help="processes scoring into the gradebook (default 1; more for large clusters, "
                                "best with --postgres)")
            p.add_argument("--scheduler", default="", help="tcp://host:port of an existing Dask scheduler")
            p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
            p.add_argument("--serial", action="store_true", help="plain nbgrader, one submission at a time")
            p.add_argument("--unsandboxed", action="store_true",
                           help="grade WITHOUT the bubblewrap sandbox (only where bwrap cannot run, on a machine you trust)")
        p.add_argument("--gradebook-url", default="", help="SQLAlchemy URL of the gradebook (default: SQLite in the workspace)")
        p.add_argument("--postgres", action="store_true",
                       help="use the workspace's PostgreSQL gradebook (started if needed, stopped after; autograde.pgserver)")
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    if course is None:
        where = {"root": args.course_root.resolve()} if args.course_root else {}
        course = Course(workspace=args.workspace, **where) if args.workspace else Course(**where)
    if getattr(args, "unsandboxed", False):
        course = dataclasses.replace(course, unsandboxed=True)
    if args.gradebook_url:
        course = dataclasses.replace(course, gradebook_url=args.gradebook_url)
    with contextlib.ExitStack() as cleanup:
        if args.postgres:
            from autograde import pgserver

            course = dataclasses.replace(course, gradebook_url=pgserver.serve(course.workspace, cleanup))
        try:
            return args.func(course, args)
        except SandboxUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
