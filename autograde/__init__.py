"""TA tooling for Deep Learning Labs: release, autograde, feedback and grade export.

Built on nbgrader's own API (``nbgrader.apps.NbGraderAPI``) and gradebook, so the
results are a normal nbgrader course that ``nbgrader export`` and formgrader read.
Run ``python -m autograde --help`` (or the Makefile targets) for the commands.
"""
