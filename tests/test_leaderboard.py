"""autograde.leaderboard: the match-up ranking from the judge's records and the recorded answers."""

from __future__ import annotations

import csv
import json

import torch

from autograde import answers, leaderboard
from autograde.course import REPO_ROOT, Course
from labkit import wire

LAB = "lab7_text"
SPEC = leaderboard.MATCH_UPS[LAB]


def _course(tmp_path) -> Course:
    return Course(root=REPO_ROOT, workspace=tmp_path / "ws", answers=tmp_path / "answers")


def _judged(course: Course, student: str, checks: list[dict] | str) -> None:
    path = course.judged_dir / LAB / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(checks if isinstance(checks, str) else json.dumps({"cells": {SPEC.cell: checks}, "review": []}))


def _record_answers(course: Course, accuracies: dict[str, float], n: int = 20) -> None:
    labels = torch.arange(n) % 5
    cells = []
    for name, acc in accuracies.items():
        right = round(acc * n)
        predicted = torch.cat([labels[:right], (labels[right:] + 1) % 5])
        cells.append({"name": name, "occurrence": 0, "kind": "accuracy", "part": "hidden",
                      "params": {"labels": wire.encode(labels), "at_least": 0.4}, "value": wire.encode(predicted)})
    doc = {"lab": LAB, "fingerprint": answers.fingerprint(course, LAB), "seconds": 1.0, "cells": {SPEC.cell: cells}}
    answers.path(course, LAB).parent.mkdir(parents=True, exist_ok=True)
    answers.path(course, LAB).write_text(json.dumps(doc))


def _entry(accuracy: float | None) -> list[dict]:
    item = {"name": SPEC.entry, "part": "hidden", "ok": True, "message": "..."}
    return [item | ({"accuracy": accuracy} if accuracy is not None else {})]


def test_ranks_students_between_the_reference_models(tmp_path):
    course = _course(tmp_path)
    _judged(course, "alice", _entry(0.7))
    _judged(course, "bob", _entry(0.45))
    _judged(course, "carol", [])  # her notebook stopped before the check
    _judged(course, "dave", _entry(None))  # predictions of the wrong shape: judged, not scored
    _judged(course, "erin", "{not json")
    _record_answers(course, {"leaderboard: TF-IDF + LR": 0.6, "leaderboard: frozen embeddings + LR": 0.4,
                             "leaderboard: your model": 0.8})
    rows, problem = leaderboard.ranking(course, LAB, pseudonyms=False)
    assert problem == ""
    order = [(r.name, r.accuracy) for r in rows]
    assert [name for name, _ in order[:5]] == [
        "reference: fine-tuned top layer (the solution)", "alice", "reference: TF-IDF + logistic regression",
        "bob", "reference: frozen embeddings + logistic regression"]
    assert [acc for _, acc in order[:5]] == [0.8, 0.7, 0.6, 0.45, 0.4]
    unscored = {r.name: r.note for r in rows[5:]}
    assert set(unscored) == {"carol", "dave", "erin"} and all(unscored.values())

    html_text = leaderboard.report_section(course, [LAB, "lab1_perceptron"])
    assert "friendly match-up" in html_text and "alice" in html_text and "0.700" in html_text
    with open(course.exports_dir / "report" / f"leaderboard_{LAB}.csv") as fh:
        table = list(csv.DictReader(fh))
    ranks = {row["name"]: row["rank"] for row in table}
    assert ranks["alice"] == "1" and ranks["bob"] == "2" and ranks["carol"] == ""
    assert ranks["reference: TF-IDF + logistic regression"] == ""


def test_pseudonyms_are_stable_and_hide_the_ids(tmp_path, monkeypatch):
    course = _course(tmp_path)
    for student, acc in (("s1234567", 0.61), ("s7654321", 0.52)):
        _judged(course, student, _entry(acc))
    monkeypatch.setenv(leaderboard.PSEUDONYMS_ENV, "1")
    first, problem = leaderboard.ranking(course, LAB)
    again, _ = leaderboard.ranking(course, LAB)
    names = [r.name for r in first if not r.reference]
    assert names == [r.name for r in again if not r.reference]
    assert not any(n.startswith("s") and n[1:].isdigit() for n in names) and len(set(names)) == 2
    assert "s1234567" not in leaderboard.report_section(course, [LAB])
    assert (course.workspace / "state" / "pseudonym.key").is_file()
    other = Course(root=REPO_ROOT, workspace=tmp_path / "other", answers=tmp_path / "answers")
    _judged(other, "s1234567", _entry(0.61))
    assert leaderboard.ranking(other, LAB)[0][0].name != names[0], "another course key gives other pseudonyms"
    assert "no answers recorded" in problem  # no answers file: students only, and the reason


def test_no_section_for_labs_without_a_match_up(tmp_path):
    assert leaderboard.report_section(_course(tmp_path), ["lab1_perceptron"]) == ""
