"""nbgrader preprocessors that keep hidden tests out of the students' HTML feedback.

nbgrader's ``generate_feedback`` renders the autograded notebook as it is: test cells with
their hidden tests restored, and error tracebacks whose context lines quote them (IPython
prints a few lines around the failing one, so a failure on a visible line still shows the
hidden ``assert`` two lines below). :func:`autograde.pipeline.feedback` runs these after
nbgrader's own ``GetGrades``:

* :class:`HideHiddenTests` is nbgrader's ``ClearHiddenTests`` applied to test cells only (the
  students' own cells are theirs to write delimiters in), and before it drops the hidden
  regions from the sources it redacts every output line that quotes them: traceback frames of
  a cell (``Cell In[14], line 3``) by line number, and anywhere else by the line's text.
* It also replaces the outputs of the student's own code cells that ran after the first hidden
  test by a note: such code could print what it saw there (the autograded notebook the TA reads
  keeps them). Test cells already hold only the judge's verdicts (:mod:`autograde.judge`).
* :class:`TestResults` adds, for each graded cell, a banner with pass/fail, points and the
  failure message (``AssertionError: q1 is not correct``), and a summary table on top.
"""

from __future__ import annotations

import html
import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# IPython 8/9 "Cell In[14], line 3", IPython 8.0-8.4 "Input In [14]", IPython 7 "<ipython-input-14-...>"
_CELL_FRAME = re.compile(r"(?:Cell In|Input In)\s*\[(\d+)\]|<ipython-input-(\d+)-")
_OTHER_FRAME = re.compile(r"^\s*File\s|^\s*\S+\.py[:\s]")
# a context line of a frame: "      3 code" or "----> 3 code" (the number is the cell's line number)
_CONTEXT = re.compile(r"^\s*(-*>)?\s*(\d+)(?:\s|$)")
HIDDEN_NOTE = "… hidden test lines not shown"
LATER_NOTE = "[output not shown in feedback: this cell ran after a hidden test; run the notebook to see it]"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: graded, locked code that the student did not write."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden tests from test cells' sources and from every output that quotes them."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        # line numbers (1-based, delimiters included) of hidden code per execution count,
        # and the hidden lines' text for outputs that quote them without a frame header
        # (less lines that are visible elsewhere, such as `with torch.no_grad():`)
        self._hidden_lines: dict[int, set[int]] = {}
        self._hidden_text: set[str] = set()
        visible: set[str] = set()
        for cell in nb.cells:
            numbers = self._hidden_region(cell.source) if is_test_cell(cell) else set()
            for n, line in enumerate(cell.source.split("\n"), start=1):
                (self._hidden_text if n in numbers else visible).add(line.strip())
            if numbers and cell.get("execution_count"):
                self._hidden_lines[int(cell.execution_count)] = numbers
        self._hidden_text = {t for t in self._hidden_text - visible if len(t) >= 4 and not t.startswith("#")}
        after_hidden = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if after_hidden and not is_test_cell(cell) and cell.get("outputs"):
                # code that ran after a hidden test could print what it saw there, in any encoding:
                # the student has these outputs in their own notebook; feedback shows only verdicts
                cell.outputs = [from_dict({"output_type": "stream", "name": "stdout", "text": LATER_NOTE + "\n"})]
            for output in cell.get("outputs", []):
                self._redact_output(output)
            after_hidden = after_hidden or (is_test_cell(cell) and self.begin_test_delimeter in cell.source)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, cell_index: int):
        if is_test_cell(cell):  # a student's own cell is left as written
            self._remove_hidden_test_region(cell)
        return cell, resources

    def _hidden_region(self, source: str) -> set[int]:
        numbers, inside = set(), False
        for n, line in enumerate(source.split("\n"), start=1):
            if self.begin_test_delimeter in line:
                inside = True
            if inside:
                numbers.add(n)
            if self.end_test_delimeter in line:
                inside = False
        return numbers

    def _quotes_hidden(self, line: str) -> bool:
        plain = strip_ansi(line).strip()
        if not plain:
            return False
        match = _CONTEXT.match(plain)
        code = plain[match.end():].strip() if match else plain
        return code in self._hidden_text or any(
            marker in plain for marker in (self.begin_test_delimeter, self.end_test_delimeter)
        )

    def _redact_traceback(self, frames: list[str]) -> list[str]:
        """Each traceback entry with every run of hidden lines replaced by one note."""
        out, hidden = [], set()
        for entry in frames:
            kept: list[str] = []
            run: list[bool] | None = None  # arrows of the dropped lines in the current run
            for line in entry.split("\n"):
                plain = strip_ansi(line)
                frame = _CELL_FRAME.search(plain)
                if frame:
                    hidden = self._hidden_lines.get(int(frame.group(1) or frame.group(2)), set())
                elif _OTHER_FRAME.match(plain):
                    hidden = set()
                context = None if frame else _CONTEXT.match(plain)
                if context:
                    drop = int(context.group(2)) in hidden or self._quotes_hidden(line)
                else:  # a caret line under a dropped line goes with it
                    carets = plain.strip() != "" and set(plain.strip()) <= set("^~ ")
                    drop = (run is not None and carets) or (not frame and self._quotes_hidden(line))
                if drop:
                    run = (run or []) + [bool(context and context.group(1))]
                    continue
                if run is not None:
                    kept.append(f"{'---->' if any(run) else '     '} {HIDDEN_NOTE}")
                    run = None
                kept.append(line)
            if run is not None:
                kept.append(f"{'---->' if any(run) else '     '} {HIDDEN_NOTE}")
            out.append("\n".join(kept))
        return out

    def _redact_text(self, text: str) -> str:
        lines = [HIDDEN_NOTE if self._quotes_hidden(line) else line for line in text.split("\n")]
        return "\n".join(lines)

    def _redact_output(self, output: NotebookNode) -> None:
        if output.get("output_type") == "error":
            output["traceback"] = self._redact_traceback(list(output.get("traceback", [])))
            output["evalue"] = self._redact_text(output.get("evalue", ""))
        elif output.get("output_type") == "stream":
            output["text"] = self._redact_text(_text(output.get("text")))
        elif "data" in output and "text/plain" in output["data"]:
            output["data"]["text/plain"] = self._redact_text(_text(output["data"]["text/plain"]))


def failure_message(cell: NotebookNode) -> str:
    """Why a code cell lost points, from its outputs (exception, or text on stderr)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), strip_ansi(output.get("evalue", "")).strip()
            return f"{ename}: {evalue}" if evalue else ename
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            first = next((x for x in strip_ansi(_text(output.get("text"))).splitlines() if x.strip()), "")
            return f"wrote to standard error: {first.strip()}"
    return ""


def _points(value) -> str:
    return "–" if value is None else f"{float(value):g}"


class TestResults(NbGraderPreprocessor):
    """A result banner in every graded cell and a summary table at the top of the notebook."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        rows = []
        for cell in nb.cells:
            if not utils.is_grade(cell):
                continue
            meta = cell.metadata.nbgrader
            score, points = meta.get("score"), meta.get("points")
            if is_test_cell(cell):
                passed = score is not None and points is not None and float(score) >= float(points)
                status = "passed" if passed else "failed"
                message = "" if passed else failure_message(cell)
                if not passed and not message and score:
                    message = "partial credit"
            else:
                status, message = ("to be graded", "") if score is None else ("graded", "")
            rows.append((meta["grade_id"], status, score, points, message))
            if is_test_cell(cell):
                cell.outputs.insert(0, from_dict({
                    "output_type": "display_data", "metadata": {},
                    "data": {"text/html": self._banner(status, score, points, message),
                             "text/plain": f"{status}: {_points(score)} / {_points(points)} {message}"},
                }))
        if rows:
            nb.cells.insert(0, from_dict({
                "cell_type": "markdown", "id": "autograde-test-summary", "source": self._summary(rows),
                "metadata": {},
            }))
        return nb, resources

    @staticmethod
    def _banner(status: str, score, points, message: str) -> str:
        style = "success" if status == "passed" else "danger"
        mark = "✓" if status == "passed" else "✗"
        text = f"{mark} <b>{status}</b>: {_points(score)} / {_points(points)} points"
        if message:
            text += f"<br><code>{html.escape(message)}</code>"
        return f'<div class="alert alert-{style} autograde-result" style="margin:0.3em 0">{text}</div>'

    @staticmethod
    def _summary(rows) -> str:
        body = "".join(
            f'<tr class="{"success" if status == "passed" else "danger" if status == "failed" else ""}">'
            f'<td><a href="#{html.escape(cell, quote=True)}"><code>{html.escape(cell)}</code></a></td>'
            f"<td>{html.escape(status)}</td><td>{_points(score)} / {_points(points)}</td>"
            f"<td>{html.escape(message)}</td></tr>"
            for cell, status, score, points, message in rows
        )
        # one HTML block (no blank line) in a markdown cell: markdown leaves it as it is
        return (
            '<div class="autograde-summary"><h4>Test results</h4>'
            '<table class="table table-condensed"><thead><tr><th>cell</th><th>result</th>'
            f"<th>points</th><th>message</th></tr></thead><tbody>{body}</tbody></table></div>"
        )


# GenerateFeedback.preprocessors: nbgrader's GetGrades first (scores into cell metadata), then ours,
# then the CSS header nbgrader's default list ends with.
def feedback_preprocessors() -> list:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    return [GetGrades, HideHiddenTests, TestResults, CSSHTMLHeaderPreprocessor]
