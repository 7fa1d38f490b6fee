"""autograde.fastpaths: the same validation errors and the same gradebook, for less CPU.

The patches are installed in subprocesses, never in the test process: the serial-nbgrader
references of the other tests must stay plain nbgrader. The one exception is the alembic head,
which autograde.pipeline installs everywhere: it is a constant, read without a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from autograde import fastpaths


def _nbgrader_schema() -> dict:
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    return MetadataValidatorV3().schema


@pytest.mark.parametrize("metadata", [
    {"grade": True, "grade_id": "x", "locked": True, "points": 2.0, "schema_version": 3, "solution": False, "task": False},
    {"grade": "yes", "grade_id": "x", "locked": True, "points": 2.0, "schema_version": 3, "solution": False, "task": False},
    {"grade": True, "locked": True, "points": -1, "schema_version": 3, "solution": False, "task": False},
    {"grade": True, "grade_id": 7, "locked": "no", "points": "two", "schema_version": 3, "solution": 1, "task": False},
    {},
])
def test_cell_metadata_validation_raises_what_jsonschema_raises(metadata):
    schema = _nbgrader_schema()
    fast = fastpaths._cached_validate(jsonschema)

    def outcome(validate):
        try:
            validate(metadata, schema)
            return None
        except jsonschema.ValidationError as err:
            return (err.message, list(err.path), list(err.schema_path))

    assert outcome(fast) == outcome(jsonschema.validate)
    assert outcome(fast) == outcome(fast)  # the cached validator gives the same answer again


def test_one_engine_per_gradebook_and_it_survives_close(tmp_path):
    code = f"""
import json
from autograde import fastpaths
fastpaths.install()
fastpaths.install()  # idempotent
from nbgrader.api import Gradebook
url = "sqlite:///{tmp_path / 'gradebook.db'}"
with Gradebook(url) as gb:
    gb.add_assignment("a1")
    first = gb.engine
with Gradebook(url) as gb:
    same = gb.engine is first
    names = [a.name for a in gb.assignments]
with Gradebook("sqlite:///{tmp_path / 'other.db'}") as gb:
    other = gb.engine is not first
print(json.dumps({{"same": same, "names": names, "other": other}}))
"""
    from pathlib import Path

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # alembic
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"same": True, "names": ["a1"], "other": True}


def test_alembic_head_read_in_process_is_what_alembic_heads_prints():
    from nbgrader.dbutil import _temp_alembic_ini

    import autograde.pipeline  # noqa: F401 (puts this environment's alembic on PATH)

    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        printed = subprocess.check_output([os.path.join(os.path.dirname(sys.executable), "alembic"), "-c", ini, "heads"])
    expected = printed.decode().split("\n")[0].split(" ")[0]
    assert fastpaths._alembic_head(lambda: "the fallback")() == expected
    import nbgrader.api

    assert nbgrader.api.get_alembic_version() == expected  # installed by autograde.pipeline
