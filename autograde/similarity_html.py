"""HTML for similar submissions: the class report's section and ``exports/similarity.html``.

Per lab a ranked table of the pairs to look at, the notebooks that could not be compared
(with the reason), and per pair a side-by-side view of each exercise with the matching code
highlighted and the released code greyed out. The words are for a person who will look:
a pair is listed for review, not judged.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from autograde import similarity
from autograde.course import Course
from autograde.similarity import ExerciseMatch, LabSimilarity, Pair

MAX_PAIRS = 50  # side-by-side views per lab; the table lists every pair

CSS = """
.sim-intro { max-width: 60em; }
.sim table.pairs td, .sim table.pairs th { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; }
.sim td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sim .sbs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.6em; margin: 0.3em 0 1em; }
.sim .sbs pre { margin: 0; padding: 0.5em; background: #fafafa; border: 1px solid #ddd; overflow-x: auto;
  font-size: 0.85em; line-height: 1.35; white-space: pre; }
.sim .sbs .who { font-weight: 600; margin-bottom: 0.2em; }
.sim mark { background: #ffe08a; } .sim .given { color: #999; } .sim .common { color: #7a8fa6; }
.sim .pairview { display: none; border-left: 3px solid #ffe08a; padding-left: 0.8em; }
.sim .pairview:target { display: block; } .sim .close { font-weight: normal; font-size: 0.85em; margin-left: 1em; }
.sim h4 { margin: 0.8em 0 0.3em; } .sim .muted { color: #666; } .sim .key { font-size: 0.9em; color: #444; }
"""

INTRO = (
    "<p class=sim-intro>Pairs of students whose solution cells share more code than the rest of the "
    "class does, <b>listed for a person to look at</b>. The comparison ignores names, numbers, strings, "
    "comments and blank lines, and sets aside the code given in the released notebook and code that "
    f"many students wrote alike (more than {100 * similarity.COMMON_SHARE:.0f}% of the class). "
    "A listed pair is not a finding: short exercises with one natural answer, the same tutorial, "
    "or working together as allowed can produce it. Open its side-by-side view (<i>view</i>) and read "
    "the code before drawing any conclusion, and follow the course's policy.</p>"
    f"<p class=key>Listed when one exercise is at least {100 * similarity.EXERCISE_THRESHOLD:.0f}% "
    f"similar over {similarity.EXERCISE_MIN_TOKENS}+ matching tokens, or the whole lab at least "
    f"{100 * similarity.LAB_THRESHOLD:.0f}% over {similarity.LAB_MIN_TOKENS}+. Similarity = matching "
    "code of both students / all their own code (not counting the release). "
    "<mark>Highlighted</mark>: code both have; <span class=given>grey</span>: given in the release; "
    "<span class=common>blue-grey</span>: written alike by many students (not counted).</p>"
)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _anchor(lab: str, pair: Pair) -> str:
    return html.escape(f"sim-{lab}-{pair.a}-{pair.b}", quote=True)


Spans = list[tuple[int, int]]


def highlight(source: str, matched: Spans, given: Spans = (), common: Spans = ()) -> str:
    """``source`` escaped: matched spans in <mark>, released ones and common ones greyed."""
    marks = sorted([(s, e, "<mark>", "</mark>") for s, e in matched]
                   + [(s, e, "<span class=given>", "</span>") for s, e in given]
                   + [(s, e, "<span class=common>", "</span>") for s, e in common])
    out, pos = [], 0
    for start, end, opening, closing in marks:
        start = max(start, pos)
        if end <= start:
            continue
        out.append(html.escape(source[pos:start]))
        out.append(opening + html.escape(source[start:end]) + closing)
        pos = end
    out.append(html.escape(source[pos:]))
    return "".join(out)


def _exercise(match: ExerciseMatch, pair: Pair) -> str:
    title = (f"{html.escape(match.grade_id)}: {_pct(match.similarity)} similar, "
             f"{match.matched[0]} / {match.matched[1]} matching tokens"
             + (" (over the listing threshold)" if match.flagged else ""))
    sides = "".join(
        f"<div><div class=who>{html.escape(who)}</div><pre>{highlight(src, regions, given, common)}</pre></div>"
        for who, src, regions, given, common
        in zip((pair.a, pair.b), match.sources, match.regions(), match.given(), match.common()))
    return f"<h4>{title}</h4><div class=sbs>{sides}</div>"


def _lab(res: LabSimilarity) -> str:
    lab = html.escape(res.lab)
    parts = [f'<h3 id="{html.escape("sim-" + res.lab, quote=True)}">{lab}</h3>']
    if res.error:
        return parts[0] + f"<p class=bad>Not compared: {html.escape(res.error)}</p>"
    parts.append(f"<p>{len(res.compared)} notebook(s) compared, exercise by exercise "
                 f"({len(res.exercises)} solution cells); {len(res.pairs)} pair(s) to look at.</p>")
    if res.pairs:
        rows = []
        for rank, p in enumerate(res.pairs, 1):
            sa, sb = p.shares
            exercises = ", ".join(
                (f"<b>{html.escape(e.grade_id)}</b>" if e.flagged else html.escape(e.grade_id))
                + f" {_pct(e.similarity)}" for e in p.exercises)
            view = f'<a href="#{_anchor(res.lab, p)}">view</a>' if rank <= MAX_PAIRS else ""
            rows.append(f"<tr><td class=num>{rank}</td><td>{html.escape(p.a)}</td><td>{html.escape(p.b)}</td>"
                        f"<td class=num>{_pct(p.similarity)}</td><td class=num>{_pct(sa)}</td>"
                        f"<td class=num>{_pct(sb)}</td><td>{exercises}</td><td>{view}</td></tr>")
        parts.append(
            f'<table class=pairs data-lab="{lab}"><thead><tr><th>#</th><th>student A</th><th>student B</th>'
            "<th>similarity</th><th>of A's code</th><th>of B's code</th>"
            "<th>exercises with code in common (listed ones bold)</th><th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")
        back = html.escape("#sim-" + res.lab, quote=True)
        for p in res.pairs[:MAX_PAIRS]:  # shown one at a time by its "view" link (CSS :target, no script)
            parts.append(f'<div class=pairview id="{_anchor(res.lab, p)}"><h4>{html.escape(p.a)} and '
                         f"{html.escape(p.b)}: {_pct(p.similarity)} similar, side by side "
                         f'<a class=close href="{back}">close</a></h4>'
                         + "".join(_exercise(e, p) for e in p.exercises) + "</div>")
        if len(res.pairs) > MAX_PAIRS:
            parts.append(f"<p class=muted>Side-by-side views for the first {MAX_PAIRS} pairs only; "
                         "all pairs are in similarity.csv.</p>")
    else:
        parts.append("<p class=muted>No pair above the threshold.</p>")
    if res.not_compared:
        rows = "".join(f"<tr><td>{html.escape(s)}</td><td>{html.escape(r)}</td></tr>" for s, r in res.not_compared)
        parts.append(f"<p class=bad>Not compared ({len(res.not_compared)}):</p>"
                     f"<table class=not-compared><thead><tr><th>student</th><th>reason</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    return "\n".join(parts)


def section(results: Iterable[LabSimilarity]) -> str:
    """The "Similar submissions" section (with its own style) for the class report."""
    body = "\n".join(_lab(res) for res in results)
    return (f"<style>{CSS}</style><section class=sim id=similarity>"
            f"<h2>Similar submissions</h2>{INTRO}{body}</section>")


def report_section(course: Course, labs: Iterable[str]) -> str:
    """Compare what was collected for ``labs`` and render the report's section."""
    return section(similarity.compare_labs(course, labs))


def page(results: Iterable[LabSimilarity]) -> str:
    """A standalone page (``make similarity``)."""
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Similar submissions</title>"
            "<style>body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; "
            "padding: 0 1em; color: #222; } .bad { color: #b00020; } th { text-align: left; "
            f"background: #f4f4f4; }}</style></head><body>{section(results)}</body></html>")
