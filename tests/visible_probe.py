"""Which plausible mistakes does a student see *before* submitting?

The released notebook holds only the visible checks. :func:`visible_catches` runs it once,
filled in with the reference solutions, in a plain kernel (as a student's JupyterLab would),
then, for each mutant, swaps in the mutated solution cell and re-runs the code cells from
there up to the last test cell the mutant must fail (so globals built in between see the
mistake too), notes whether any of those test cells raised, and restores the reference the
same way. Each mistake is therefore judged against the reference of every other exercise.
"""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from autograde import samples
from autograde.course import REPO_ROOT

PROBE_KEY = "visible_probe"


def _gid(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _copy(cell, probe: int, role: str):
    new = nbformat.v4.new_code_cell(cell.source)
    new.metadata = {"nbgrader": dict(cell.metadata.get("nbgrader", {})), PROBE_KEY: [probe, role]}
    return new


def visible_catches(lab: str, mutants: list, timeout: int = 300, root=REPO_ROOT) -> list[bool]:
    """For each mutant, True when a visible check between its cell and its last test fails on it.
    ``root`` holds ``labs/`` and ``solutions/`` (another checkout, to measure an older version)."""
    release = nbformat.read(root / "labs" / lab / f"{lab}.ipynb", as_version=4)
    solutions = samples._solution_sources(nbformat.read(root / "solutions" / lab / f"{lab}.ipynb", as_version=4))
    nb = samples.fill_solutions(release, solutions)
    base = list(nb.cells)
    order = {_gid(c): i for i, c in enumerate(base) if _gid(c)}
    probes = []
    for i, m in enumerate(mutants):
        start, stop = order[m.cell], max(order[t] for t in m.fails)
        span = [c for c in base[start + 1:stop + 1] if c.cell_type == "code"]
        mutated = nbformat.v4.new_code_cell(solutions[m.cell].replace(m.old, m.new))
        mutated.metadata = {PROBE_KEY: [i, "mutant"]}
        probes.append(mutated)
        probes += [_copy(c, i, "test" if _is_test(c) else "between") for c in span]
        restore = nbformat.v4.new_code_cell(solutions[m.cell])
        restore.metadata = {PROBE_KEY: [i, "restore"]}
        probes.append(restore)
        probes += [_copy(c, i, "restore") for c in span]
    nb.cells = base + probes
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(root / "labs" / lab)}})
    client.execute()
    caught = [False] * len(mutants)
    for cell in nb.cells:
        probe = cell.metadata.get(PROBE_KEY)
        if probe and probe[1] == "test" and any(o.get("output_type") == "error" for o in cell.outputs):
            caught[probe[0]] = True
    return caught
