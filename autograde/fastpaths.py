"""Cheaper bookkeeping for nbgrader 0.9.6, writing exactly what it writes.

Scoring one executed notebook (nbgrader's autograde with its outputs replayed) cost 0.75 s of CPU
on Lab 1 (measured with cProfile, see docs/benchmarks.md), and most of it was not grading:

* every ``Gradebook(...)`` — about ten per submission — made a new SQLAlchemy engine, so no SQL
  statement was ever compiled twice (SQLAlchemy caches compiled statements per engine): 40% of
  the scorer's time went to compiling the same ~90 queries again for each submission;
* ``CheckCellMetadata`` (run twice per submission) validates each cell's nbgrader metadata with
  ``jsonschema.validate``, which first validates nbgrader's own, constant schema against the
  JSON-Schema meta-schema, once per cell.

:func:`install` makes each process keep one engine per database URL (``Gradebook.close`` still
disposes of its connections, the compiled-statement cache survives that) and validates cell
metadata with one cached validator per schema, reporting the same error ``jsonschema.validate``
would (its ``best_match``). The SQL that reaches the gradebook and every file written are
unchanged; tests/test_parallel.py compares gradebooks and notebooks with serial nbgrader's.
``AUTOGRADE_FASTPATHS=0`` leaves nbgrader as it is (to measure the difference).
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

_installed = False
_lock = threading.Lock()


def _engine_per_url(create_engine):
    engines: dict[tuple, object] = {}

    def create(url, *args, **kwargs):
        key = (str(url), args, tuple(sorted(kwargs.items())))
        with _lock:
            if key not in engines:
                engines[key] = create_engine(url, *args, **kwargs)
            return engines[key]

    return create


def _cached_validate(jsonschema):
    validators: dict[int, tuple[object, object]] = {}

    def validate(instance, schema, cls=None, *args, **kwargs):
        if cls is not None or args or kwargs:
            return jsonschema.validate(instance, schema, cls, *args, **kwargs)
        entry = validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            klass = jsonschema.validators.validator_for(schema)
            klass.check_schema(schema)  # once per schema object, not once per cell
            entry = validators[id(schema)] = (schema, klass(schema))  # keeps the schema alive: ids stay unique
        error = jsonschema.exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error

    return validate


def install() -> None:
    """Patch this process's nbgrader (idempotent)."""
    global _installed
    if os.environ.get("AUTOGRADE_FASTPATHS") == "0":
        return
    with _lock:
        if _installed:
            return
        import jsonschema
        import nbgrader.api
        import nbgrader.nbgraderformat.common as common

        nbgrader.api.create_engine = _engine_per_url(nbgrader.api.create_engine)
        common.jsonschema = SimpleNamespace(validate=_cached_validate(jsonschema),
                                            ValidationError=jsonschema.ValidationError)
        _installed = True
