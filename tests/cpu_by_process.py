"""Where a command's CPU went, by kind of process (Linux only).

    python tests/cpu_by_process.py artifacts/cpu_by_process.json -- make test

runs the command and reads the CPU time of every process on the machine (so run nothing else
meanwhile) from ``/proc/<pid>/stat`` twice a second, then prints the CPU seconds per kind
(notebook kernels, pytest workers, Chromium, the hub, ...) and writes them, with the 50 costliest
processes, to the JSON file. Processes that were already running count only what they used after
the start; a process that lives less than half a second between two samples is missed, so the
total is a lower bound. ``/usr/bin/time`` counts only descendants that were waited for, which
leaves out a good part of a ``make test``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

KINDS = [  # first match wins: (kind, pattern on the command line)
    ("notebook kernels", r"ipykernel_launcher"),
    ("chromium", r"chromium|chrome"),
    ("postgres", r"postgres"),
    ("pytest workers", r"exec\(eval\(sys\.stdin|xdist|pytest"),
    ("jupyterhub", r"jupyterhub(?!-singleuser)"),
    ("students' jupyter servers", r"jupyterhub-singleuser|jupyter-lab|jupyter_server|jupyter-server"),
    ("hub scripted students", r"hub_driver\.py"),
    ("http proxy (node)", r"configurable-http-proxy|\bnode\b"),
    ("grader processes (multiprocessing)", r"multiprocessing"),
    ("autograde commands", r"-m autograde"),
    ("nbgrader commands", r"nbgrader"),
    ("dask", r"dask|distributed"),
]
TICK = os.sysconf("SC_CLK_TCK")


def _sample(table: dict[str, list]) -> None:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks, started = int(fields[11]) + int(fields[12]), fields[19]
            key = f"{pid}-{started}"
            if key in table:
                table[key][1] = ticks
            else:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                table[key] = [ticks, ticks, command]
        except (OSError, IndexError, ValueError):
            continue  # gone between listing and reading


def kind_of(command: str) -> str:
    for kind, pattern in KINDS:
        if re.search(pattern, command):
            return kind
    return "other: " + (command.split(" ")[0].rsplit("/", 1)[-1] or "kernel threads")


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out, command = Path(argv[1]), argv[3:]
    table: dict[str, list] = {}
    _sample(table)
    for row in table.values():  # already running: only what they use from now on counts
        row[0] = row[1]
    start = time.monotonic()
    proc = subprocess.Popen(command)
    while proc.poll() is None:
        _sample(table)
        time.sleep(0.5)
    wall = time.monotonic() - start
    used = [((end - begin) / TICK, cmd) for begin, end, cmd in table.values() if end > begin]
    kinds: dict[str, list] = {}
    for seconds, cmd in used:
        entry = kinds.setdefault(kind_of(cmd), [0.0, 0])
        entry[0] += seconds
        entry[1] += 1
    total = sum(s for s, _ in used)
    print(f"\n{' '.join(command)}: {wall:.0f} s wall, {total:.0f} s of CPU seen ({os.cpu_count()} cores)")
    for kind, (seconds, count) in sorted(kinds.items(), key=lambda kv: -kv[1][0])[:20]:
        print(f"{seconds:9.1f} s {100 * seconds / max(total, 1e-9):5.1f}%  {count:5d} processes  {kind}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": command, "wall_s": round(wall, 1), "cpu_s": round(total, 1), "cores": os.cpu_count(),
        "kinds": {k: {"cpu_s": round(s, 1), "processes": n} for k, (s, n) in kinds.items()},
        "costliest": [[round(s, 1), c[:200]] for s, c in sorted(used, reverse=True)[:50]],
    }, indent=1))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
