"""Class report for TAs (``make report``): per lab, how the class scored and which tests it fails.

Reads the gradebook through :func:`autograde.exports.cell_rows` and writes, under
``exports/report/``: per lab a histogram of the autograded score per student and a bar chart
of each test cell's pass rate (pass = full points), ``index.html`` showing both with a table
of the test cells (hardest first) and the last run's submissions that were not graded, and
``grades_by_cell.csv`` (the per-test-cell CSV the numbers come from).
"""

from __future__ import annotations

import csv
import html
import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from autograde import exports, gradebooks, leaderboard, pipeline, similarity_html
from autograde.course import Course

CELL_CSV_HEADER = ["lab", "student", "cell", "kind", "score", "max_score", "needs_manual_grade"]
_EPS = 1e-9


@dataclass
class CellStats:
    cell: str
    max_score: float
    scores: list[float]

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def passed(self) -> int:
        return sum(score >= self.max_score - _EPS for score in self.scores)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.n if self.n else 0.0

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0


@dataclass
class LabStats:
    lab: str
    totals: dict[str, float] = field(default_factory=dict)  # student -> autograded score
    max_total: float = 0.0
    cells: list[CellStats] = field(default_factory=list)  # hardest first
    manual_pending: int = 0  # written answers still to grade
    left_out: list[str] = field(default_factory=list)  # in the gradebook, never autograded

    @property
    def n(self) -> int:
        return len(self.totals)


def lab_stats(lab: str, rows: Iterable[list], graded: set[str] | None = None) -> LabStats:
    """Statistics of one lab from ``cell_rows``-style rows (only ``graded`` students, if given)."""
    stats = LabStats(lab)
    cells: dict[str, CellStats] = {}
    max_totals: dict[str, float] = {}
    for row_lab, student, cell, kind, score, max_score, needs_manual in rows:
        if row_lab != lab:
            continue
        if graded is not None and student not in graded:
            if student not in stats.left_out:
                stats.left_out.append(student)
            continue
        if kind != "autograded":
            stats.manual_pending += needs_manual == "yes"
            continue
        value, top = float(score or 0), float(max_score)
        stats.totals[student] = stats.totals.get(student, 0.0) + value
        max_totals[student] = max_totals.get(student, 0.0) + top
        cells.setdefault(cell, CellStats(cell, top, [])).scores.append(value)
    stats.max_total = max(max_totals.values(), default=0.0)
    stats.cells = sorted(cells.values(), key=lambda c: (c.pass_rate, c.mean / (c.max_score or 1), c.cell))
    return stats


def read_status(course: Course) -> list[dict[str, str]]:
    """The last grading run's rows from ``exports/status.csv`` (empty if there is none)."""
    path = course.exports_dir / "status.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _slug(lab: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", lab)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)  # render with Agg whatever backend the session uses
    return fig


def plot_scores(stats: LabStats, path: Path) -> Path:
    """Histogram of the autograded score per student, the maximum and the mean marked."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(6.4, 3.4)
    ax = fig.add_subplot()
    top = stats.max_total
    values = list(stats.totals.values())
    if top <= 60:  # one bar per point
        bins = [x - 0.5 for x in range(int(top) + 2)]
    else:
        bins = [top * i / 30 for i in range(31)]
    counts, _, _ = ax.hist(values, bins=bins, color="#4c72b0", edgecolor="white")
    ax.axvline(top, color="#2ca02c", linestyle="--", linewidth=1.5, label=f"max {_num(top)}")
    mean = statistics.fmean(values)
    ax.axvline(mean, color="#dd8452", linestyle=":", linewidth=1.5, label=f"mean {_num(mean)}")
    ax.set_xlim(-1, top + 1)
    ax.set_ylim(0, max(counts) * 1.12)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("autograded score")
    ax.set_ylabel("students")
    ax.set_title(f"{stats.lab}: autograded score per student (n = {stats.n})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path)
    return path


def plot_cells(stats: LabStats, path: Path) -> Path:
    """Horizontal bars: share of students with full points on each test cell, hardest on top."""
    from matplotlib import colormaps

    cells = stats.cells
    fig = _figure(7.2, 1.3 + 0.32 * len(cells))
    ax = fig.add_subplot()
    rates = [100 * c.pass_rate for c in cells]
    colors = colormaps["RdYlGn"]([0.1 + 0.8 * c.pass_rate for c in cells])
    bars = ax.barh(range(len(cells)), rates, color=colors, edgecolor="#555555", linewidth=0.5)
    for bar, c in zip(bars, cells):
        ax.text(min(bar.get_width(), 100) + 1, bar.get_y() + bar.get_height() / 2,
                f"{c.passed}/{c.n}", va="center", fontsize=8)
    ax.set_yticks(range(len(cells)), [c.cell for c in cells], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("students with full points (%)")
    ax.set_title(f"{stats.lab}: pass rate per test cell (n = {stats.n})")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path)
    return path


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; } td, th { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; }
th { text-align: left; background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.figures img { max-width: 100%; margin: 0.5em 1em 0.5em 0; vertical-align: top; border: 1px solid #eee; }
.warn { background: #fff4e5; } .bad { color: #b00020; } .muted { color: #666; }
.summary td:first-child { color: #555; } details { margin: 0.5em 0; }
"""


def _table(header: list[str] | None, rows: list[list[str]], numeric: Iterable[int] = (), attrs: str = "") -> str:
    """An HTML table (no header row if ``header`` is None); values are escaped here."""
    numeric = set(numeric)
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{html.escape(h)}</th>' for i, h in enumerate(header or []))
    head = f"<thead><tr>{head}</tr></thead>" if header else ""
    body = "".join(
        "<tr>" + "".join(
            f'<td{" class=num" if i in numeric else ""}>{html.escape(str(v))}</td>' for i, v in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table{attrs}>{head}<tbody>{body}</tbody></table>"


def _status_section(status: list[dict[str, str]], labs: list[str]) -> str:
    if not status:
        return "<p class=muted>No status of a grading run yet (<code>exports/status.csv</code> appears after <code>make autograde</code>).</p>"
    rows = [r for r in status if r.get("lab") in labs]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status", "")] = counts.get(r.get("status", ""), 0) + 1
    parts = [f"<p>{len(rows)} submission(s) in the last run: "
             + ", ".join(f"{n} {html.escape(s)}" for s, n in sorted(counts.items())) + ".</p>"]
    failed = [[r.get("lab", ""), r.get("student", ""), r.get("status", ""), r.get("reason", "")]
              for r in rows if r.get("status") != "graded"]
    if failed:
        parts.append("<h3 class=bad>Not graded: look at these</h3>")
        parts.append(_table(["lab", "student", "status", "reason"], failed, attrs=' class="warn" id="not-graded"'))
    else:
        parts.append("<p>Every submission of the last run was graded.</p>")
    review = [[r.get("lab", ""), r.get("student", ""),
               "; ".join(p.strip()[len("review: "):] for p in r.get("reason", "").split("; ") if p.strip().startswith("review:"))]
              for r in rows if r.get("status") == "graded" and "review:" in r.get("reason", "")]
    if review:
        parts.append("<h3 class=bad>Graded by the judge, flagged for a TA to look at</h3>")
        parts.append("<p>The score stands (it came from the submission's values, judged outside its kernel); "
                     "these notebooks did something a person should read: a decoy check passed in their kernel, "
                     "or a solution cell calls code dynamically.</p>")
        parts.append(_table(["lab", "student", "what to look at"], review, attrs=' class="warn" id="review"'))
    notes = [[r.get("lab", ""), r.get("student", ""), r.get("reason", "")]
             for r in rows if r.get("status") == "graded" and r.get("reason")]
    if notes:
        parts.append("<h3>Graded, with notes</h3>")
        parts.append(_table(["lab", "student", "note"], notes, attrs=' id="graded-notes"'))
    return "\n".join(parts)


def _lab_section(stats: LabStats, images: tuple[str, str] | None, not_graded: int) -> str:
    lab = html.escape(stats.lab)
    parts = [f'<h2 id="{html.escape(_slug(stats.lab), quote=True)}">{lab}</h2>']
    if not_graded:
        parts.append(f'<p class=bad>{not_graded} submission(s) not graded in the last run '
                     '(<a href="#not-graded">see above</a>).</p>')
    if stats.left_out:
        parts.append("<p class=bad>Left out: in the gradebook without an autograded notebook (grading failed): "
                     + html.escape(", ".join(sorted(stats.left_out))) + ".</p>")
    if not stats.n:
        parts.append("<p class=muted>No graded submissions for this lab yet.</p>")
        return "\n".join(parts)
    values = list(stats.totals.values())
    summary = [
        ["students graded", str(stats.n)],
        ["mean score", f"{_num(statistics.fmean(values))} / {_num(stats.max_total)}"],
        ["median score", f"{_num(statistics.median(values))} / {_num(stats.max_total)}"],
        ["full marks (autograded)", str(sum(v >= stats.max_total - _EPS for v in values))],
        ["written answers awaiting manual grading", str(stats.manual_pending)],
    ]
    parts.append(_table(None, summary, attrs=' class="summary"'))
    if images:
        parts.append('<div class="figures">' + "".join(
            f'<img src="{html.escape(quote(src), quote=True)}" alt="{html.escape(alt, quote=True)}">'
            for src, alt in zip(images, (f"{stats.lab} score histogram", f"{stats.lab} pass rate per test cell"))
        ) + "</div>")
    rows = [[c.cell, f"{100 * c.pass_rate:.0f}%", f"{c.passed}/{c.n}", f"{c.mean:.2f}", f"{c.max_score:g}"]
            for c in stats.cells]
    parts.append("<h3>Test cells, hardest first</h3>")
    parts.append(_table(["test cell", "pass rate", "passed", "mean points", "max points"], rows,
                        numeric=(1, 2, 3, 4), attrs=f' class="cells" data-lab="{lab}"'))
    totals = [[student, _num(score)] for student, score in sorted(stats.totals.items())]
    parts.append(f"<details><summary>Autograded score per student ({stats.n})</summary>"
                 + _table(["student", "score"], totals, numeric=(1,)) + "</details>")
    return "\n".join(parts)


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def build(course: Course, labs: Iterable[str] | None = None) -> Path:
    """Write the report for ``labs`` (default: every lab) under ``exports/report/``; returns index.html."""
    labs = list(labs or course.labs())
    out = course.exports_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):  # no stale figures of a lab that has none now
        old.unlink()
    has_gradebook = gradebooks.exists(course)  # SQLite file or PostgreSQL tables
    rows = exports.cell_rows(course) if has_gradebook else []
    exports._atomic_csv(out / "grades_by_cell.csv", CELL_CSV_HEADER, rows)
    graded = pipeline.graded_submissions(course, labs)
    status = read_status(course)

    sections = []
    for lab in labs:
        stats = lab_stats(lab, rows, {student for g_lab, student in graded if g_lab == lab})
        images = None
        if stats.n:
            images = (plot_scores(stats, out / f"{_slug(lab)}_scores.png").name,
                      plot_cells(stats, out / f"{_slug(lab)}_cells.png").name)
        not_graded = sum(1 for r in status if r.get("lab") == lab and r.get("status") != "graded")
        sections.append(_lab_section(stats, images, not_graded))

    intro = ("<p>Pass rate: the share of graded students with full points on a test cell. Scores count "
             "autograded cells only; written answers are graded in formgrader. The numbers come from "
             '<a href="grades_by_cell.csv">grades_by_cell.csv</a>.</p>')
    if not has_gradebook:
        intro += "<p class=bad>No gradebook yet: run <code>make autograde</code> first.</p>"
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>Class report</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>Class report</h1>", intro,
        "<h2>Last grading run</h2>", _status_section(status, labs),
        *sections, leaderboard.report_section(course, labs), similarity_html.report_section(course, labs), "</body></html>",
    ])
    return _write(out / "index.html", page)
