"""Cheaper bookkeeping for nbgrader 0.9.6, writing exactly what it writes.

Scoring one executed notebook (nbgrader's autograde with its outputs replayed) cost 0.75 s of CPU
on Lab 1 (measured with cProfile, see docs/benchmarks.md), and most of it was not grading:

* every ``Gradebook(...)`` — about ten per submission — made a new SQLAlchemy engine, so no SQL
  statement was ever compiled twice (SQLAlchemy caches compiled statements per engine): 40% of
  the scorer's time went to compiling the same ~90 queries again for each submission;
* ``CheckCellMetadata`` (run twice per submission) validates each cell's nbgrader metadata with
  ``jsonschema.validate``, which first validates nbgrader's own, constant schema against the
  JSON-Schema meta-schema, once per cell;
* ``Gradebook.close`` disposes of the engine's connections, so each of those ten opens connected to
  the database again: on PostgreSQL a new server process and its authentication every time.

:func:`install` makes each process keep one engine per database URL (on SQLite ``Gradebook.close``
still disposes of its connections, the compiled-statement cache survives that) and validates cell
metadata with one cached validator per schema, reporting the same error ``jsonschema.validate``
would (its ``best_match``). On a database server (PostgreSQL) a closed gradebook hands its
connection back to the engine's pool for the next open, pinged before reuse, so a restarted server
costs a reconnect, not an error; SQLite keeps nbgrader's close (a pooled connection would keep
a replaced file open). The SQL that reaches the gradebook and every file written are
unchanged; tests/test_parallel.py compares gradebooks and notebooks with serial nbgrader's.

:func:`install_alembic_head` (also installed by :mod:`autograde.pipeline`, so everywhere a gradebook
is made): nbgrader starts ``alembic heads`` as a subprocess each time it creates a gradebook, to read
one constant; reading it in this process with alembic's API gives the same revision in 0.1 s instead
of 1.2 s.

``AUTOGRADE_FASTPATHS=0`` leaves nbgrader as it is (to measure the difference).
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

_installed = False
_lock = threading.Lock()


def _on_a_server(url) -> bool:
    """Whether the gradebook URL (a string or SQLAlchemy's URL) names a database server, not a SQLite file."""
    # imported here: autograde.gradebooks imports autograde.pipeline, which imports this module
    from autograde.gradebooks import is_sqlite

    return not is_sqlite(str(url))


def _engine_per_url(create_engine):
    engines: dict[tuple, object] = {}

    def create(url, *args, **kwargs):
        if _on_a_server(url):
            kwargs.setdefault("pool_pre_ping", True)  # pooled connections outlive a server restart
        key = (str(url), args, tuple(sorted(kwargs.items())))
        with _lock:
            if key not in engines:
                engines[key] = create_engine(url, *args, **kwargs)
            return engines[key]

    return create


def _keep_connections(close):
    """``Gradebook.close`` that keeps a database server's connection pooled for the next open."""

    def close_keeping_connections(self) -> None:
        if not _on_a_server(self.engine.url):
            return close(self)
        self.db.remove()  # the session ends and its connection returns to the engine's pool
        return None

    return close_keeping_connections


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


def _alembic_head(subprocess_version):
    head: list[str] = []

    def get_alembic_version() -> str:
        if not head:
            try:
                from alembic.config import Config
                from alembic.script import ScriptDirectory
                from nbgrader.dbutil import _temp_alembic_ini

                with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:  # the URL nbgrader's own call uses
                    head.append(ScriptDirectory.from_config(Config(ini)).get_current_head())
            except Exception:  # noqa: BLE001 (an alembic API change: fall back to nbgrader's own way)
                head.append(subprocess_version())
        return head[0]

    return get_alembic_version


def install_alembic_head() -> None:
    """nbgrader's ``get_alembic_version`` in this process, read once (idempotent)."""
    if os.environ.get("AUTOGRADE_FASTPATHS") == "0":
        return
    import nbgrader.api

    with _lock:
        if not getattr(nbgrader.api.get_alembic_version, "in_process", False):
            nbgrader.api.get_alembic_version = _alembic_head(nbgrader.api.get_alembic_version)
            nbgrader.api.get_alembic_version.in_process = True


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
        nbgrader.api.Gradebook.close = _keep_connections(nbgrader.api.Gradebook.close)
        common.jsonschema = SimpleNamespace(validate=_cached_validate(jsonschema),
                                            ValidationError=jsonschema.ValidationError)
        _installed = True
    install_alembic_head()
