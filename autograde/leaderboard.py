"""The class leaderboard of a lab's friendly match-up (lab 7's review ratings), for ``make report``.

A lab with a match-up has a test cell whose hidden part calls ``assert_accuracy`` on predictions
for examples nobody has seen (generated from a secret seed; their labels are recorded at release
and never reach a student). The judge scores each submission outside the kernel and writes the
accuracy into ``<workspace>/judged/<lab>/<student>.json``; this module ranks those accuracies and
puts the reference models in between: their accuracies come from the answers recorded from the
solution (``autograde/answers/<lab>.json``), which ran the same checks.

Students appear under their ids, or under pseudonyms with ``PSEUDONYMS=1``: a pseudonym is an
HMAC of the id under a key kept in ``<workspace>/state/`` (git-ignored), so it is stable from one
report to the next but cannot be recomputed from the class list by a student.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import html
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import torch

from autograde import answers as answers_mod
from autograde.course import Course
from labkit import checks, wire

PSEUDONYMS_ENV = "PSEUDONYMS"


@dataclass(frozen=True)
class MatchUp:
    """Where a lab's match-up lives: the test cell, the check that scores students, the reference rows."""

    cell: str
    entry: str  # check name whose accuracy ranks a student
    references: tuple[tuple[str, str], ...]  # (row label, check name) read from the recorded answers


MATCH_UPS = {
    "lab7_text": MatchUp(
        cell="test_leaderboard",
        entry="leaderboard: your model",
        references=(
            ("reference: TF-IDF + logistic regression", "leaderboard: TF-IDF + LR"),
            ("reference: frozen embeddings + logistic regression", "leaderboard: frozen embeddings + LR"),
            ("reference: fine-tuned top layer (the solution)", "leaderboard: your model"),
        ),
    ),
}


@dataclass
class Row:
    name: str
    accuracy: float | None
    reference: bool = False
    note: str = ""


# --------------------------------------------------------------------------- reading


def student_rows(course: Course, lab: str, spec: MatchUp) -> list[Row]:
    """One row per judged submission of ``lab``; accuracy None (with a note) when the check failed to run."""
    folder = course.judged_dir / lab
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        student = path.stem
        try:
            record = json.loads(path.read_text())
            entries = record.get("cells", {}).get(spec.cell, [])
        except (OSError, ValueError, AttributeError):
            rows.append(Row(student, None, note="unreadable judge record"))
            continue
        hit = next((e for e in entries if isinstance(e, dict) and e.get("name") == spec.entry), None)
        if hit is None:
            rows.append(Row(student, None, note="no predictions reached the grader"))
        elif isinstance(hit.get("accuracy"), int | float):
            rows.append(Row(student, float(hit["accuracy"])))
        else:
            message = str(hit.get("message", "")).split(": ", 1)[-1][:160]
            rows.append(Row(student, None, note=f"not scored: {message}" if message else "not scored"))
    return rows


def reference_rows(course: Course, lab: str, spec: MatchUp) -> tuple[list[Row], str]:
    """The reference models' accuracies from the recorded answers, or no rows and the reason."""
    try:
        recorded = answers_mod.load(course, lab)
    except answers_mod.AnswersError as err:
        return [], str(err)
    by_name = {c.name: c for c in recorded.cells.get(spec.cell, []) if c.kind == "accuracy"}
    rows = []
    for label, name in spec.references:
        check = by_name.get(name)
        if check is None or type(check.value) is not torch.Tensor:
            rows.append(Row(label, None, reference=True, note="not in the recorded answers"))
            continue
        labels = wire.decode(check.params["labels"]).reshape(-1).long()
        predicted = checks.predicted_classes(check.value)
        rows.append(Row(label, float((predicted == labels).double().mean()), reference=True))
    return rows, ""


def _pseudonym_key(course: Course) -> bytes:
    path = course.workspace / "state" / "pseudonym.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        os.replace(tmp, path)
    return path.read_text().strip().encode()


ADJECTIVES = ("amber", "brave", "calm", "deft", "eager", "fleet", "gentle", "hardy", "keen", "lucid",
              "merry", "nimble", "plucky", "quiet", "rapid", "sly", "tidy", "vivid", "wise", "zesty")
ANIMALS = ("otter", "heron", "lynx", "marmot", "ibis", "gecko", "puffin", "tapir", "wren", "yak",
           "bison", "crane", "dingo", "egret", "ferret", "gannet", "hare", "koala", "lemur", "newt")


def pseudonym(key: bytes, student: str) -> str:
    """A stable, unguessable name for ``student``: "<adjective> <animal> <4 hex digits>"."""
    digest = hmac.new(key, student.encode(), hashlib.sha256).digest()
    return f"{ADJECTIVES[digest[0] % len(ADJECTIVES)]} {ANIMALS[digest[1] % len(ANIMALS)]} {digest[2:4].hex()}"


def ranking(course: Course, lab: str, pseudonyms: bool | None = None) -> tuple[list[Row], str]:
    """Students and reference rows, best first (unscored students last); and why references are missing."""
    spec = MATCH_UPS[lab]
    students = student_rows(course, lab, spec)
    if pseudonyms if pseudonyms is not None else os.environ.get(PSEUDONYMS_ENV) == "1":
        key = _pseudonym_key(course)
        students = [Row(pseudonym(key, r.name), r.accuracy, r.reference, r.note) for r in students]
    references, problem = reference_rows(course, lab, spec)
    rows = sorted(students + references, key=lambda r: (r.accuracy is None, -(r.accuracy or 0.0), r.reference, r.name))
    return rows, problem


# --------------------------------------------------------------------------- writing

CSS = """
.lb table { border-collapse: collapse; } .lb td, .lb th { padding: 0.2em 0.8em; border-bottom: 1px solid #e4e4e4; }
.lb td.num { text-align: right; font-variant-numeric: tabular-nums; } .lb tr.ref td { font-style: italic; color: #555;
  background: #f4f7fb; } .lb .muted { color: #666; }
"""


def write_csv(rows: list[Row], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rank", "name", "kind", "accuracy", "note"])
        rank = 0
        for row in rows:
            rank += 0 if row.reference or row.accuracy is None else 1
            writer.writerow(["" if row.reference or row.accuracy is None else rank, row.name,
                             "reference" if row.reference else "student",
                             "" if row.accuracy is None else f"{row.accuracy:.4f}", row.note])
    os.replace(tmp, path)
    return path


def lab_section(course: Course, lab: str) -> str:
    """The leaderboard of one lab as HTML (and ``exports/report/leaderboard_<lab>.csv`` beside it)."""
    rows, problem = ranking(course, lab)
    csv_name = f"leaderboard_{lab}.csv"
    write_csv(rows, course.exports_dir / "report" / csv_name)
    parts = [f"<h3>{html.escape(lab)}: the friendly match-up</h3>",
             "<p class=muted>Accuracy of each student's model on reviews nobody had seen (generated from a "
             "secret seed; their labels never entered a notebook), scored by the grader. Reference models "
             f'(shaded) ran the same check when the lab was released. <a href="{html.escape(csv_name)}">CSV</a>.</p>']
    if problem:
        parts.append(f"<p class=muted>No reference rows: {html.escape(problem)}</p>")
    if not any(not r.reference for r in rows):
        parts.append("<p class=muted>No judged submissions yet: run <code>make autograde</code> first.</p>")
    body, rank = [], 0
    for row in rows:
        shown_rank = ""
        if not row.reference and row.accuracy is not None:
            rank += 1
            shown_rank = str(rank)
        accuracy = "—" if row.accuracy is None else f"{row.accuracy:.3f}"
        body.append(f'<tr{" class=ref" if row.reference else ""}><td class=num>{shown_rank}</td>'
                    f"<td>{html.escape(row.name)}</td><td class=num>{accuracy}</td>"
                    f"<td class=muted>{html.escape(row.note)}</td></tr>")
    parts.append("<table><tr><th>rank</th><th>student</th><th>accuracy</th><th></th></tr>" + "".join(body) + "</table>")
    return "\n".join(parts)


def report_section(course: Course, labs: list[str]) -> str:
    """The leaderboards of every lab in ``labs`` that has a match-up (empty when none has)."""
    chosen = [lab for lab in labs if lab in MATCH_UPS]
    if not chosen:
        return ""
    return "\n".join([f"<section class=lb><style>{CSS}</style><h2>Leaderboards</h2>",
                      *(lab_section(course, lab) for lab in chosen), "</section>"])
