"""A small real-text search task: find the standard-library module for a question (lab 7).

The documents are the first paragraph of the docstrings of Python's own standard-library
modules, read from their source files with :mod:`ast` (nothing is imported or downloaded), e.g.
``"heapq: Heap queue algorithm (a.k.a. priority queue)."``. :data:`QUERIES` are questions
whose right modules are known, in four kinds:

* ``"keyword"``: the question shares its key words with the right document;
* ``"paraphrase"``: it says the same thing in other words (synonyms), where keyword search fails;
* ``"identifier"``: it names an exact code, standard or acronym (``RFC 4122``), where a keyword
  match is decisive and an embedding often is not;
* ``"negation"``: it excludes something ("... but not with bzip2"), which neither method reads.

The text comes with the Python that runs the lab (3.11), so it is English written by people,
identical on every machine with the same Python.
"""

from __future__ import annotations

import ast
import sysconfig
from dataclasses import dataclass
from pathlib import Path

MODULES = (
    "abc", "argparse", "base64", "bdb", "bisect", "bz2", "cProfile", "calendar", "cgi", "cgitb",
    "cmd", "code", "codecs", "codeop", "colorsys", "compileall", "configparser", "contextlib", "copy",
    "copyreg", "crypt", "csv", "datetime", "difflib", "dis", "doctest", "filecmp", "fileinput",
    "fnmatch", "fractions", "ftplib", "functools", "getopt", "getpass", "gettext", "glob", "gzip",
    "heapq", "hmac", "imaplib", "imghdr", "inspect", "io", "ipaddress", "keyword", "linecache",
    "locale", "lzma", "mailbox", "mailcap", "mimetypes", "modulefinder", "netrc", "numbers",
    "operator", "optparse", "pdb", "pickle", "pickletools", "pkgutil", "platform", "plistlib", "poplib",
    "posixpath", "pprint", "profile", "pstats", "pty", "py_compile", "pyclbr", "pydoc", "queue",
    "quopri", "random", "reprlib", "rlcompleter", "runpy", "sched", "secrets", "selectors", "shelve",
    "shlex", "shutil", "site", "smtplib", "sndhdr", "socket", "socketserver", "ssl", "stat",
    "statistics", "string", "subprocess", "sunau", "symtable", "sysconfig", "tabnanny", "tarfile",
    "telnetlib", "tempfile", "textwrap", "threading", "timeit", "tokenize", "trace", "traceback",
    "tty", "turtle", "types", "typing", "uu", "uuid", "warnings", "wave", "weakref", "webbrowser",
    "zipfile", "zipimport",
)


@dataclass(frozen=True)
class Query:
    """A question, the modules that answer it, and what kind of match it needs."""

    text: str
    relevant: tuple[str, ...]
    kind: str  # "keyword", "paraphrase", "identifier" or "negation"


QUERIES = (
    Query("priority queue", ("heapq",), "keyword"),
    Query("read and write zip files", ("zipfile",), "keyword"),
    Query("parse command-line options", ("argparse", "getopt", "optparse"), "keyword"),
    Query("temporary files", ("tempfile",), "keyword"),
    Query("statistics functions", ("statistics",), "keyword"),
    Query("copying files and directory trees", ("shutil",), "keyword"),
    Query("rational numbers", ("fractions",), "keyword"),
    Query("guess the MIME type of a file", ("mimetypes",), "keyword"),
    Query("send an email", ("smtplib",), "paraphrase"),
    Query("download my messages from the mail server", ("poplib", "imaplib"), "paraphrase"),
    Query("make files smaller to save disk space", ("bz2", "lzma", "gzip", "zipfile"), "paraphrase"),
    Query("save python objects to disk and load them later", ("pickle", "shelve"), "paraphrase"),
    Query("how long does my code take to run", ("timeit", "profile", "cProfile"), "paraphrase"),
    Query("pick a random secure password", ("secrets",), "paraphrase"),
    Query("keep a list sorted when inserting", ("bisect",), "paraphrase"),
    Query("step through my program line by line to find a bug", ("bdb", "pdb"), "paraphrase"),
    Query("spreadsheet with comma separated values", ("csv",), "paraphrase"),
    Query("show the differences between two texts", ("difflib",), "paraphrase"),
    Query("RFC 4122", ("uuid",), "identifier"),
    Query("PEP 343", ("contextlib",), "identifier"),
    Query("RFC 1521", ("quopri",), "identifier"),
    Query("lsprof", ("cProfile",), "identifier"),
    Query("PEP 3141", ("numbers",), "identifier"),
    Query("a compression library that is not bzip2", ("lzma", "gzip", "zipfile"), "negation"),
    Query("a client that is not for email", ("ftplib", "telnetlib"), "negation"),
)
KINDS = ("keyword", "paraphrase", "identifier", "negation")


def _first_paragraph(module: str, stdlib: Path) -> str:
    path = stdlib / f"{module}.py"
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not doc:
        raise ValueError(f"{path}: no module docstring")
    return " ".join(doc.strip().split("\n\n")[0].split())


def stdlib_corpus() -> tuple[list[str], list[str]]:
    """The search documents: ``names[i]`` is a module, ``texts[i]`` = ``"<name>: <first paragraph>"``.

    Returns:
        ``(names, texts)``, two lists of ``len(MODULES)`` strings, in :data:`MODULES` order.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [f"{name}: {_first_paragraph(name, stdlib)}" for name in MODULES]
    return list(MODULES), texts


def relevance(names: list[str], queries=QUERIES) -> list[list[int]]:
    """For each query, the indices (into ``names``) of its relevant documents."""
    index = {name: i for i, name in enumerate(names)}
    return [[index[m] for m in q.relevant] for q in queries]
