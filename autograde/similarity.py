"""Similar solutions across a class (``make similarity``): pairs of submissions for a TA to look at.

nbgrader and otter-grader grade each notebook on its own; this compares every pair of
students' solution cells (code cells whose nbgrader metadata says ``solution``), exercise by
exercise (matched by ``grade_id``), the way MOSS does:

1. **Tokenise** each cell by Python's tokenizer rules (one regular expression; the tests check
   it agrees with :mod:`tokenize`, which is too slow in 3.11) and **normalise** it: comments,
   blank lines and docstrings go, every literal becomes ``N`` or ``S``, every identifier becomes
   ``V`` except keywords, builtins, names the released notebook imports (``torch``, ``nn``, ...)
   and attribute names (``.reshape``; ``self.<attr>`` is normalised too). Renaming variables,
   reordering functions and rewriting comments therefore change nothing. K-grams of plain data
   only (a multiple-choice dict, a list of numbers) are not compared.
2. **Fingerprint** the token stream: hashes of every ``K`` consecutive tokens, of which
   *winnowing* keeps the smallest in every window of ``WINDOW`` hashes (any shared run of
   ``K + WINDOW - 1`` tokens is guaranteed to share a fingerprint).
3. **Ignore what everyone has**: hashes found in the released cell of the same ``grade_id``
   (signature, docstring, given code, stub) and hashes found in more than ``COMMON_SHARE`` of
   the class (at least ``COMMON_MIN`` students): the obvious answer to a short exercise.
4. **Candidates from an inverted index**: a sparse students x fingerprints matrix per
   exercise; its product with itself counts the fingerprints every pair shares, so only pairs
   that share some are looked at (no loop over all pairs).
5. **Score** each candidate exactly: the share of each student's own tokens (neither in the
   release nor common) covered by k-grams the other student also has, per exercise and over
   the lab. A pair is listed when one exercise or the whole lab passes its threshold.

Why not ``copydetect`` (PyPI, MOSS-style, well kept)? Its detector compares every pair of
files in a Python loop (about 0.3 ms a pair here) and tokenises with Pygments (about 2.7 ms a
cell): 500 students x 75 solution cells is 9.4 million pairs, about 50 minutes, against a budget
of one minute. See docs/benchmarks.md.

A flagged pair means that two notebooks share unusually much code that neither the release
nor the rest of the class has. It accuses no one: a person looks at the side-by-side view.
Submissions are only read, never written.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import csv
import functools
import json
import keyword
import os
import random
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from autograde import intake
from autograde.course import Course

K = 10  # tokens per k-gram: shorter shared runs are noise (independent solutions share many)
WINDOW = 4  # winnowing window: shared runs of K + WINDOW - 1 = 13 tokens always share a fingerprint
COMMON_SHARE = 0.1  # a hash in more than this share of the class's answers is ignored ...
COMMON_MIN = 10  # ... and in more than this many answers at least (small classes)
MIN_OWN_TOKENS = 8  # an answer with fewer tokens of its own (beyond the release) is not compared
SCREEN = 0.3  # candidates: shared fingerprints / mean fingerprints per answer (flagging needs 0.5+)
EXERCISE_THRESHOLD = 0.6  # flag when one exercise's similarity reaches this ...
EXERCISE_MIN_TOKENS = 30  # ... over at least this many matching tokens (mean of both sides)
LAB_THRESHOLD = 0.5  # or when the whole lab's similarity reaches this ...
LAB_MIN_TOKENS = 60  # ... over at least this many matching tokens

_KEEP = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)  # IPython magics and shell lines
# Tokens of plain data (names, literals, brackets): a k-gram made of these only, such as a
# multiple-choice answer {"q1": "b", ...} or a list of numbers, is not code and is not compared.
_DATA = frozenset({"V", "N", "S", ",", ":", "[", "]", "{", "}", "(", ")", ";", "=", "-", ">", "<"})


@dataclass
class Answer:
    """One student's solution cell, normalised: ``tokens[i]`` came from ``source[spans[i, 0]:spans[i, 1]]``."""

    student: str
    grade_id: str
    source: str
    tokens: list[str]
    spans: np.ndarray  # (n_tokens, 2) character offsets in source
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # (n_kgrams,) = n_tokens - K + 1
    given: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n_tokens,) in the release
    own: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n_tokens,) neither release nor common
    valid: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n_kgrams,) neither release nor common
    lookup: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # sorted unique valid hashes
    prints: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # winnowed valid hashes, unique

    @property
    def n_own(self) -> int:
        """Tokens that are this student's own: not in the release, not written alike by many."""
        return int(self.own.sum())


def _contains(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mask over ``x``: which of its values are in ``sorted_values`` (sorted, unique)."""
    if not len(sorted_values):
        return np.zeros(len(x), bool)
    where = np.minimum(np.searchsorted(sorted_values, x), len(sorted_values) - 1)
    return sorted_values[where] == x


@dataclass
class ExerciseMatch:
    """How much of one exercise two students share (counts in normalised tokens)."""

    grade_id: str
    answers: tuple[Answer, Answer]
    matched: tuple[int, int]  # own tokens of a, of b inside k-grams both have

    @property
    def own(self) -> tuple[int, int]:
        return self.answers[0].n_own, self.answers[1].n_own

    @property
    def similarity(self) -> float:
        return sum(self.matched) / max(1, sum(self.own))

    @property
    def flagged(self) -> bool:
        return self.similarity >= EXERCISE_THRESHOLD and sum(self.matched) / 2 >= EXERCISE_MIN_TOKENS

    @property
    def sources(self) -> tuple[str, str]:
        return self.answers[0].source, self.answers[1].source

    def regions(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Character spans of the matching code in a and in b."""
        a, b = self.answers
        return _regions(_matched_mask(a, b), a.spans), _regions(_matched_mask(b, a), b.spans)

    def given(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Character spans of code given in the release, in a and in b."""
        return tuple(_regions(x.given, x.spans) for x in self.answers)

    def common(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Character spans of code many students wrote alike (not counted), in a and in b."""
        return tuple(_regions(~x.own & ~x.given, x.spans) for x in self.answers)


@dataclass
class Pair:
    """Two students of one lab with code in common, over all the exercises they share any of."""

    lab: str
    a: str
    b: str
    own: tuple[int, int]  # own tokens of a, of b over the whole lab
    exercises: list[ExerciseMatch]

    @property
    def matched(self) -> tuple[int, int]:
        return (sum(e.matched[0] for e in self.exercises), sum(e.matched[1] for e in self.exercises))

    @property
    def shares(self) -> tuple[float, float]:
        """Share of a's own code that matches b, and of b's that matches a."""
        ma, mb = self.matched
        return ma / max(1, self.own[0]), mb / max(1, self.own[1])

    @property
    def similarity(self) -> float:
        return sum(self.matched) / max(1, sum(self.own))

    @property
    def flagged(self) -> bool:
        lab_wide = self.similarity >= LAB_THRESHOLD and sum(self.matched) / 2 >= LAB_MIN_TOKENS
        return lab_wide or any(e.flagged for e in self.exercises)


@dataclass
class LabSimilarity:
    """Result for one lab: flagged pairs, most similar first, and who could not be compared."""

    lab: str
    compared: list[str] = field(default_factory=list)  # students whose notebook was read
    not_compared: list[tuple[str, str]] = field(default_factory=list)  # (student, reason)
    exercises: list[str] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)  # flagged only, ranked
    candidates: int = 0  # pairs scored exactly
    seconds: float = 0.0
    error: str | None = None  # the lab could not be compared at all (no release)


# --- tokens ---------------------------------------------------------------------------------


def imported_names(cells: Iterable[str]) -> frozenset[str]:
    """Names bound by import statements in ``cells`` (the course vocabulary: torch, nn, F, ...)."""
    names: set[str] = set()
    for source in cells:
        try:
            tree = ast.parse(_MAGIC.sub("", source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names.add(alias.asname or alias.name.split(".")[0])
    names.discard("*")
    return frozenset(names)


def _blank_magics(source: str) -> str:
    return _MAGIC.sub(lambda m: " " * len(m.group()), source)


_STRING = (r"(?:[rRbBuUfF]{1,2})?(?:'''(?:[^\\]|\\.)*?'''|" r'"""(?:[^\\]|\\.)*?"""|'
           r"'(?:[^'\\\n]|\\.)*'|" r'"(?:[^"\\\n]|\\.)*")')
_LEXER = re.compile("|".join([
    rf"(?P<string>{_STRING})",
    r"(?P<name>[^\W\d]\w*)",
    r"(?P<number>0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)",
    r"(?P<comment>#[^\n]*)",
    r"(?P<newline>\r?\n)",
    r"(?P<space>[ \t\f]+|\\\r?\n)",
    r"(?P<op>\*\*=|//=|>>=|<<=|\.\.\.|->|:=|[-+*/%&|^@=!<>]=|\*\*|//|<<|>>|\S)",
]))
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")


@functools.lru_cache(maxsize=64)
def _kept(extra: frozenset[str]) -> frozenset[str]:
    return _KEEP | extra


def normalise(source: str, keep: frozenset[str] = frozenset()) -> tuple[list[str], np.ndarray]:
    """Normalised tokens of a code cell and their (start, end) character spans, shape (n, 2).

    Follows Python's lexical rules as :mod:`tokenize` does (logical lines ``;``, indentation
    ``>`` / ``<``, comments, blank lines and docstrings dropped) with one compiled regular
    expression: ``tokenize`` is pure Python in 3.11 and took about 2 ms a cell, half the
    budget for a large class. It never fails: half-written code is split as far as it goes.
    """
    keep = _kept(keep)
    text = _blank_magics(source) if ("%" in source or "!" in source) else source
    tokens: list[str] = []
    pos: list[int] = []  # start, end of each token, flattened
    indents = [0]
    depth = 0
    line_start = 0  # offset of the current physical line
    at_line_start = True  # no token yet on this logical line
    first = 0  # index in tokens of the logical line's first token
    only_strings = True  # the logical line so far is string literals only (a docstring)
    prev = prev2 = ""  # raw text of the last two tokens
    for m in _LEXER.finditer(text):
        kind = m.lastgroup
        if kind == "space" or kind == "comment":
            continue
        start = m.start()
        if kind == "newline":
            if depth == 0 and not at_line_start:
                if only_strings:  # a string on its own: drop the statement
                    del tokens[first:], pos[2 * first:]
                else:
                    tokens.append(";")
                    pos += (start, start)
                at_line_start = True
            line_start = m.end()
            continue
        string = m.group()
        if at_line_start:
            column = len(text[line_start:start].expandtabs(8))
            if column > indents[-1]:
                indents.append(column)
                tokens.append(">")
                pos += (start, start)
            while column < indents[-1]:
                indents.pop()
                tokens.append("<")
                pos += (start, start)
            at_line_start = False
            first = len(tokens)
            only_strings = True
        if kind == "name":
            if prev == ".":
                out = "V" if prev2 == "self" else string
            else:
                out = string if string in keep else "V"
            only_strings = False
        elif kind == "string":
            out = "S"
        else:
            only_strings = False
            if kind == "number":
                out = "N"
            else:
                out = string
                if string in _OPEN:
                    depth += 1
                elif string in _CLOSE and depth:
                    depth -= 1
        tokens.append(out)
        pos += (start, m.end())
        prev2, prev = prev, string
    end = len(text)
    if not at_line_start:
        if only_strings:
            del tokens[first:], pos[2 * first:]
        else:
            tokens.append(";")
            pos += (end, end)
    tokens += ["<"] * (len(indents) - 1)  # blocks still open at the end
    pos += (end, end) * (len(indents) - 1)
    return tokens, np.array(pos, dtype=np.int64).reshape(-1, 2)


class _Ids(dict):
    def __missing__(self, token: str) -> int:
        self[token] = value = len(self) + 1
        return value


class Vocabulary:
    """Normalised token -> integer id, in order of first sight (deterministic hashes)."""

    def __init__(self) -> None:
        self.ids = _Ids()
        self.data_ids = np.array([self.ids[t] for t in sorted(_DATA)], dtype=np.uint64)

    def __call__(self, tokens: list[str]) -> np.ndarray:
        return np.fromiter(map(self.ids.__getitem__, tokens), np.uint64, len(tokens))


_P = np.uint64(1_000_003)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def kgram_hashes(ids: np.ndarray, k: int | None = None) -> np.ndarray:
    """Hash of every k (default ``K``) consecutive token ids, shape (n - k + 1,) (empty when n < k)."""
    k = k or K
    n = len(ids) - k + 1
    if n <= 0:
        return np.zeros(0, np.uint64)
    h = np.zeros(n, np.uint64)
    for j in range(k):  # uint64 arithmetic wraps around, as a hash should
        h = h * _P + ids[j:j + n]
    h ^= h >> np.uint64(30)  # splitmix64 finaliser: winnowing needs well-spread minima
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def winnow(hashes: np.ndarray, window: int | None = None) -> np.ndarray:
    """Positions of the smallest hash in every window of ``window`` (default ``WINDOW``) hashes."""
    window = window or WINDOW
    if len(hashes) == 0:
        return np.zeros(0, np.int64)
    if len(hashes) <= window:
        return np.array([int(np.argmin(hashes))])
    windows = np.lib.stride_tricks.sliding_window_view(hashes, window)
    return np.unique(windows.argmin(axis=1) + np.arange(len(windows)))


def _covered(starts: np.ndarray, n_tokens: int, k: int | None = None) -> np.ndarray:
    """Token mask, shape (n_tokens,): inside some k-gram starting at one of ``starts``."""
    k = k or K
    marks = np.zeros(n_tokens + 1, np.int64)
    np.add.at(marks, starts, 1)
    np.add.at(marks, starts + k, -1)
    return np.cumsum(marks[:-1]) > 0


def _regions(mask: np.ndarray, spans: np.ndarray) -> list[tuple[int, int]]:
    """Character spans of the runs of True in a token mask."""
    if not mask.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(spans[s, 0]), int(spans[e - 1, 1])) for s, e in zip(edges[::2], edges[1::2])]


# --- reading submissions --------------------------------------------------------------------


def _quick_cells(raw: bytes) -> list[dict] | None:
    """The cells of a well-formed v4 notebook, or None to let intake explain what is wrong."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        return None
    for cell in data["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            return None
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            return None
        if not isinstance(cell.get("metadata", {}), dict):
            return None
    return data["cells"]


def read_cells(path: Path) -> list[dict]:
    """A notebook's cells; raises ``ValueError`` with intake's one-line reason if it is broken.

    Well-formed v4 notebooks are read with ``json`` alone (intake's full nbformat validation
    costs about 8 ms a notebook, most of the budget for a large class); anything else goes
    through :func:`autograde.intake.read_notebook`, which gives the reason or converts it.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path.name}: cannot be read ({err.strerror})") from err
    cells = _quick_cells(raw)
    if cells is None:
        nb = intake.read_notebook(path)
        cells = [dict(c) for c in nb.cells]
    return cells


def solution_cells(cells: list[dict]) -> dict[str, str]:
    """grade_id -> source of the solution code cells, first one of a repeated grade_id."""
    found: dict[str, str] = {}
    for cell in cells:
        meta = (cell.get("metadata") or {}).get("nbgrader")
        if cell.get("cell_type") != "code" or not isinstance(meta, dict) or not meta.get("solution"):
            continue
        gid = meta.get("grade_id")
        if isinstance(gid, str) and gid and gid not in found:
            found[gid] = cell["source"]
    return found


def read_lab(course: Course, lab: str, students: list[str] | None = None
             ) -> tuple[dict[str, dict[str, str]], list[tuple[str, str]]]:
    """Solution cells of every student who submitted ``lab``, and (student, reason) for the rest."""
    read: dict[str, dict[str, str]] = {}
    unread: list[tuple[str, str]] = []
    for student in students if students is not None else course.students():
        folder = course.submission_dir(lab, student)
        if not folder.is_dir():
            continue  # did not submit this lab
        path = folder / f"{lab}.ipynb"
        if not path.is_file():
            unread.append((student, intake.inspect(folder, lab, student, []).error or "no notebook"))
            continue
        try:
            cells = solution_cells(read_cells(path))
        except ValueError as err:
            unread.append((student, str(err)))
            continue
        if not cells:
            unread.append((student, "no solution cells found (nbgrader metadata removed)"))
            continue
        read[student] = cells
    return read, unread


# --- comparing ------------------------------------------------------------------------------


def _prepare(answers: list[Answer], release: str, keep: frozenset[str], vocab: Vocabulary,
             class_size: int) -> list[Answer]:
    """Hashes, own tokens, valid k-grams and fingerprints of one exercise's answers;
    returns the answers with enough code of their own to compare."""
    r_tokens, _ = normalise(release, keep)
    r_hashes = np.unique(kgram_hashes(vocab(r_tokens)))
    live = []
    for ans in answers:
        if ans.tokens == r_tokens:
            continue  # the untouched release
        ids = vocab(ans.tokens)
        ans.hashes = kgram_hashes(ids)
        if len(ans.hashes) == 0:
            continue
        released = _contains(r_hashes, ans.hashes)
        data = np.cumsum(np.concatenate(([0], np.isin(ids, vocab.data_ids))))
        ans.valid = ~released & (data[K:] - data[:-K] < K)
        ans.given = _covered(np.flatnonzero(released), len(ans.tokens))
        live.append(ans)
    if not live:
        return []
    pooled = np.concatenate([np.unique(a.hashes[a.valid]) for a in live])
    values, counts = np.unique(pooled, return_counts=True)
    common = values[counts > max(COMMON_MIN, COMMON_SHARE * class_size)]
    kept = []
    for ans in live:
        ans.valid &= ~_contains(common, ans.hashes)
        ans.own = ~_covered(np.flatnonzero(~ans.valid), len(ans.tokens))
        ans.lookup = np.unique(ans.hashes[ans.valid])
        picked = winnow(ans.hashes)
        ans.prints = np.unique(ans.hashes[picked[ans.valid[picked]]])
        if ans.n_own >= MIN_OWN_TOKENS and len(ans.prints):
            kept.append(ans)
    return kept


def candidate_pairs(answers: list[Answer], screen: float = SCREEN) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose shared fingerprints reach ``screen`` of their mean count,
    from a sparse answers x fingerprints matrix times its transpose (no loop over all pairs)."""
    if len(answers) < 2:
        return []
    sizes = np.array([len(a.prints) for a in answers])
    rows = np.repeat(np.arange(len(answers)), sizes)
    values, cols = np.unique(np.concatenate([a.prints for a in answers]), return_inverse=True)
    x = sparse.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=(len(answers), len(values)))
    shared = sparse.triu(x @ x.T, k=1).tocoo()
    keep = 2 * shared.data >= screen * (sizes[shared.row] + sizes[shared.col])
    return list(zip(shared.row[keep].tolist(), shared.col[keep].tolist()))


def _matched_mask(a: Answer, b: Answer) -> np.ndarray:
    """a's own tokens inside a k-gram that b has too (neither released nor common)."""
    starts = np.flatnonzero(a.valid & _contains(b.lookup, a.hashes))
    return _covered(starts, len(a.tokens)) & a.own


def compare_answers(a: Answer, b: Answer) -> ExerciseMatch:
    """Exact overlap of two prepared answers of the same exercise."""
    return ExerciseMatch(a.grade_id, (a, b), (int(_matched_mask(a, b).sum()), int(_matched_mask(b, a).sum())))


def compare(lab: str, release: dict[str, str], submissions: dict[str, dict[str, str]],
            keep: frozenset[str] = frozenset()) -> LabSimilarity:
    """Compare every pair of ``submissions`` (student -> grade_id -> source) exercise by exercise.

    ``release`` maps each solution cell's grade_id to its released source (the stub); only
    those grade_ids are compared. ``keep``: identifiers left as they are (course imports).
    """
    start = time.perf_counter()
    result = LabSimilarity(lab, compared=sorted(submissions), exercises=list(release))
    vocab = Vocabulary()
    own_total: dict[str, int] = {}
    by_pair: dict[tuple[str, str], list[ExerciseMatch]] = {}
    for gid, stub in release.items():
        answers = []
        seen: dict[str, tuple[list[str], np.ndarray]] = {}  # identical cells are tokenised once
        for student in result.compared:
            source = submissions[student].get(gid)
            if source is not None and source != stub:
                if source not in seen:
                    seen[source] = normalise(source, keep)
                answers.append(Answer(student, gid, source, *seen[source]))
        live = _prepare(answers, stub, keep, vocab, len(result.compared))
        for ans in live:
            own_total[ans.student] = own_total.get(ans.student, 0) + ans.n_own
        for i, j in candidate_pairs(live):
            result.candidates += 1
            match = compare_answers(live[i], live[j])
            if sum(match.matched):
                by_pair.setdefault((live[i].student, live[j].student), []).append(match)
    for (a, b), matches in by_pair.items():
        pair = Pair(lab, a, b, (own_total.get(a, 0), own_total.get(b, 0)), matches)
        if pair.flagged:
            pair.exercises.sort(key=lambda e: (-e.similarity, e.grade_id))
            result.pairs.append(pair)
    result.pairs.sort(key=lambda p: (-p.similarity, -sum(p.matched), p.a, p.b))
    result.seconds = time.perf_counter() - start
    return result


def release_cells(course: Course, lab: str) -> tuple[dict[str, str], frozenset[str]]:
    """The released solution cells of ``lab`` (grade_id -> stub) and the names it imports."""
    cells = read_cells(course.release_notebook(lab))
    code = [c["source"] for c in cells if c.get("cell_type") == "code"]
    return solution_cells(cells), imported_names(code)


def compare_lab(course: Course, lab: str, students: list[str] | None = None) -> LabSimilarity:
    """Read what was collected for ``lab`` and compare it (submissions are only read)."""
    start = time.perf_counter()
    try:
        release, keep = release_cells(course, lab)
    except ValueError as err:
        return LabSimilarity(lab, error=f"release {course.release_notebook(lab)} unreadable: {err} (run make release)")
    submissions, unread = read_lab(course, lab, students)
    result = compare(lab, release, submissions, keep)
    result.not_compared = unread
    result.seconds = time.perf_counter() - start
    return result


def compare_labs(course: Course, labs: Iterable[str], workers: int | None = None) -> list[LabSimilarity]:
    """:func:`compare_lab` for each lab, labs in parallel processes (default: one per core)."""
    labs = list(labs)
    workers = min(len(labs), workers or os.cpu_count() or 1)
    if workers <= 1 or not course.students():
        return [compare_lab(course, lab) for lab in labs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork where there is one: a spawned worker would import numpy, scipy and nbformat again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        return list(pool.map(compare_lab, [course] * len(labs), labs))


# --- output ---------------------------------------------------------------------------------

CSV_HEADER = ["lab", "student_a", "student_b", "similarity", "share_of_a", "share_of_b",
              "matching_tokens_a", "matching_tokens_b", "exercises_flagged", "exercises_matching"]


def csv_rows(results: Iterable[LabSimilarity]) -> list[list[str]]:
    rows = []
    for res in results:
        for p in res.pairs:
            sa, sb = p.shares
            rows.append([res.lab, p.a, p.b, f"{p.similarity:.3f}", f"{sa:.3f}", f"{sb:.3f}",
                         str(p.matched[0]), str(p.matched[1]),
                         " ".join(e.grade_id for e in p.exercises if e.flagged),
                         " ".join(e.grade_id for e in p.exercises)])
    return rows


def write_outputs(course: Course, results: list[LabSimilarity]) -> tuple[Path, Path]:
    """``exports/similarity.csv`` and the standalone page ``exports/similarity.html``."""
    from autograde import similarity_html

    course.exports_dir.mkdir(parents=True, exist_ok=True)
    csv_path = course.exports_dir / "similarity.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(results))
    html_path = course.exports_dir / "similarity.html"
    html_path.write_text(similarity_html.page(results), encoding="utf-8")
    return csv_path, html_path


def summary(results: Iterable[LabSimilarity]) -> str:
    """Plain-text summary for the terminal."""
    lines = []
    for res in results:
        if res.error:
            lines.append(f"{res.lab}: not compared: {res.error}")
            continue
        lines.append(f"{res.lab}: {len(res.compared)} notebooks compared in {res.seconds:.1f} s, "
                     f"{len(res.pairs)} pair(s) to look at")
        for p in res.pairs:
            sa, sb = p.shares
            flagged = ", ".join(e.grade_id for e in p.exercises if e.flagged) or "spread over the lab"
            lines.append(f"  {100 * p.similarity:5.1f}%  {p.a} ({100 * sa:.0f}% of own code) <-> "
                         f"{p.b} ({100 * sb:.0f}%)  [{flagged}]")
        for student, reason in res.not_compared:
            lines.append(f"  not compared: {student}: {reason}")
    return "\n".join(lines)


# --- synthetic class for the cost measurement -----------------------------------------------

_NOISE_NAMES = ("tmp", "acc", "val", "idx", "out", "res", "buf", "cur", "part", "hold")
_NOISE_OPS = ("+", "-", "*", "/", "@", "//", "%", "**")
_NOISE_CALLS = ("float", "len", "abs", "max", "min", "sum", "torch.relu", "torch.sum", "torch.exp", "torch.clamp")
_NOISE_METHODS = ("sum", "mean", "exp", "log", "abs", "max", "min", "t", "float", "detach", "clone", "flatten")


def _noise_expr(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice((f"{rng.choice(_NOISE_NAMES)}{rng.randint(0, 9)}", str(rng.randint(0, 9)),
                           f"{rng.choice(_NOISE_NAMES)}[{rng.randint(0, 3)}]"))
    form = rng.randrange(3)
    if form == 0:
        return f"({_noise_expr(rng, depth - 1)} {rng.choice(_NOISE_OPS)} {_noise_expr(rng, depth - 1)})"
    if form == 1:
        return f"{rng.choice(_NOISE_CALLS)}({_noise_expr(rng, depth - 1)})"
    return f"{_noise_expr(rng, depth - 1)}.{rng.choice(_NOISE_METHODS)}()"


def _noise_line(rng: random.Random, indent: str) -> str:
    """A random statement, so that synthetic students differ the way real ones do."""
    return f"{indent}{rng.choice(_NOISE_NAMES)}{rng.randint(0, 9)} = {_noise_expr(rng, 3)}"


def synthetic_answer(reference: str, rng: random.Random) -> str:
    """The reference answer with random statements of the student's own after about half of
    its lines: common code (the reference) and code nobody else has, as in a real class."""
    out = []
    for line in reference.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        out.append(line)
        if rng.random() < 0.5 and line.strip() and indent and not line.rstrip().endswith(":"):
            out.append(_noise_line(rng, indent))
    return "\n".join(out)


def synthetic_class(course: Course, lab: str, n_students: int, rng: random.Random, planted: int = 5
                    ) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """``n_students`` synthetic notebooks of ``lab`` (student -> notebook) and the planted copies.

    Each answer is the reference solution with lines dropped and random statements added;
    about 5% of answers are left as released, and ``planted`` students hand in another
    student's whole notebook. Returns the notebooks and (copier, source) pairs.
    """
    import nbformat

    from autograde import samples

    release = nbformat.read(course.release_notebook(lab), as_version=4)
    solutions = samples._solution_sources(nbformat.read(course.source_notebook(lab), as_version=4))
    stubs = solution_cells([dict(c) for c in release.cells])
    students = [f"s{i:04d}" for i in range(n_students)]
    copiers = dict(zip(students[-planted:], rng.sample(students[1:-planted], planted))) if planted else {}
    notebooks: dict[str, object] = {}
    for student in students:
        if student in copiers:
            notebooks[student] = notebooks[copiers[student]]
            continue
        answers = {gid: src if gid not in stubs  # written answers stay as they are
                   else stubs[gid] if rng.random() < 0.05 else synthetic_answer(src, rng)
                   for gid, src in solutions.items()}
        notebooks[student] = samples.fill_solutions(release, answers)
    return notebooks, sorted(copiers.items())


def write_synthetic_class(course: Course, labs: list[str], n_students: int, seed: int = 0,
                          planted: int = 5) -> list[tuple[str, str, str]]:
    """:func:`synthetic_class` for each lab, written under ``course.submitted_dir`` (the first
    student's notebook is broken JSON). Returns (lab, copier, source) of the planted copies."""
    from autograde import samples

    rng = random.Random(seed)
    planted_pairs = []
    for lab in labs:
        notebooks, copies = synthetic_class(course, lab, n_students, rng, planted)
        for i, (student, nb) in enumerate(notebooks.items()):
            samples.write_submission(course, lab, student, '{"cells": [ broken' if i == 0 else nb)
        planted_pairs += [(lab, copier, source) for copier, source in copies]
    return planted_pairs


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the parallel workers)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def bench(sizes: Iterable[int] = (100, 200, 500), labs: list[str] | None = None,
          workers: Iterable[int] = (1, 2)) -> list[dict]:
    """Time reading + comparing synthetic classes of each size over every lab, with each number
    of worker processes: wall-clock and CPU seconds (CPU is what a shared machine disturbs
    less). Prints one JSON line per run and returns them."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for n in sizes:  # against the committed release in labs/
            course = Course(workspace=base / f"ws{n}")
            labs = labs or [lab for lab in course.labs() if course.release_notebook(lab).is_file()]
            t0 = time.perf_counter()
            planted = write_synthetic_class(course, labs, n)
            write_s = time.perf_counter() - t0
            for w in workers:
                t1, c1 = time.perf_counter(), _cpu_seconds()
                results = compare_labs(course, labs, workers=w)
                t2, c2 = time.perf_counter(), _cpu_seconds()
                found = {(r.lab, p.a, p.b) for r in results for p in r.pairs}
                hits = sum((lab, *sorted((c, s))) in found for lab, c, s in planted)
                row = {"students": n, "labs": len(labs), "notebooks": n * len(labs), "workers": w,
                       "write_s": round(write_s, 1), "compare_s": round(t2 - t1, 2), "cpu_s": round(c2 - c1, 2),
                       "per_lab_s": {r.lab: round(r.seconds, 2) for r in results},
                       "candidates": sum(r.candidates for r in results),
                       "flagged": sum(len(r.pairs) for r in results), "planted_found": f"{hits}/{len(planted)}"}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.similarity", description=__doc__.split("\n")[0])
    parser.add_argument("--bench", action="store_true", help="time synthetic classes (see --sizes)")
    parser.add_argument("--sizes", default="100,200,500", help="class sizes for --bench")
    parser.add_argument("--workers", default="1,2", help="worker processes to try with --bench")
    parser.add_argument("--lab", default="all", help="lab id, comma list, or 'all'")
    args = parser.parse_args(argv)
    course = Course()
    labs = course.labs() if args.lab == "all" else args.lab.split(",")
    if args.bench:
        bench([int(s) for s in args.sizes.split(",")], None if args.lab == "all" else labs,
              [int(w) for w in args.workers.split(",")])
        return 0
    results = compare_labs(course, labs)
    print(summary(results))
    for path in write_outputs(course, results):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
