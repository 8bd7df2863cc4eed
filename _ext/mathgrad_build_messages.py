"""Sphinx extension private to the mathgrad book: a quiet build, and clear cell failures.

Two things a reader of ``make html`` should not have to dig through:

- **Kernel noise.** Each notebook's kernel (ipykernel 7.3+) logs "Kernel is running over TCP
  without encryption" on stderr. The kernels of the build run with their own IPython
  profile (``IPYTHONDIR=_build/ipython``, written here): ``IPKernelApp.log_level = ERROR``
  keeps the kernel's own log to errors (cell output, warnings included, is unaffected),
  the kernel's tornado log (its ZMQ streams, on the real stderr) is silenced,
  tracebacks come without colour codes, and a reader's personal ``~/.ipython`` startup
  files cannot change what the book computes.
- **A failing cell.** MyST-NB reports it as a long nbclient/jupyter-cache traceback that
  points at ``Cell In[2], line 2``, with ANSI colours, followed by one "No key ... found in
  glue data" warning per number the failed cell would have glued. Instead, one warning
  names the page, the line in ``docs/<page>.md``, the exception and the report file::

      /.../docs/softmax.md:123: WARNING: code cell failed: ZeroDivisionError: division by zero
        (line 3 of a cell whose code starts at line 121; full traceback:
        _build/html/reports/softmax.err.log; the page's follow-on glue warnings are not shown)

  The report starts with that line, then the cell and its traceback (no colour codes),
  then the executor's own frames.
  Glue warnings of pages whose notebook ran are untouched.
"""

import logging
import os
import re
from pathlib import Path

from sphinx.util import logging as sphinx_logging

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL_RULE = "------------------"
FAILED = "code cell failed:"
_KERNEL_CONFIG = """\
# Written by _ext/mathgrad_build_messages.py for the kernels of the book's build.
c.IPKernelApp.log_level = "ERROR"
c.InteractiveShell.colors = "nocolor"
c.HistoryManager.enabled = False
# ipykernel sends the "tornado" logger to the real stderr, past log_level: its messages are
# about the kernel's own ZMQ streams (a callback failing while the kernel shuts down),
# never about a cell, and they once came ahead of a failing cell's warning.
import logging
logging.getLogger("tornado").setLevel(logging.CRITICAL)
"""

logger = sphinx_logging.getLogger(__name__)


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def _kernel_profile(app) -> None:
    kernel_profile(app.confdir)


def kernel_profile(confdir) -> None:
    """Give the build's kernels a profile of their own (inherited through the environment).

    Also called by tools/build_html.py before it runs the notebooks itself.
    """
    ipythondir = Path(confdir) / "_build" / "ipython"
    config = ipythondir / "profile_default" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.is_file() or config.read_text() != _KERNEL_CONFIG:
        config.write_text(_KERNEL_CONFIG)
    os.environ["IPYTHONDIR"] = str(ipythondir)


class _FailedNotebookFilter(logging.Filter):
    """Drop MyST-NB's messages about a failed notebook; :func:`_report_failure` replaces them.

    Installed first on Sphinx's warning handler, so what it drops is neither printed nor
    counted. From "Executing notebook failed" on, it drops that page's "Notebook exception
    traceback saved in" and "No key ... found in glue data" warnings, until the page's own
    "code cell failed" warning passes. Records arrive in that order also under ``-j``, where
    they are replayed in the main process after each page is read.
    """

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None  # the page whose notebook failed, until reported

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "type", None) != "mystnb":
            return True
        subtype = getattr(record, "subtype", None)
        msg = str(record.msg)
        if subtype == "exec" and msg.startswith(FAILED):
            self.current = None
            return True
        if subtype == "exec" and msg.startswith("Executing notebook failed"):
            self.current = _docname(getattr(record, "location", None))
            return self.current is None
        if self.current is None:
            return True
        if subtype == "exec" and msg.startswith("Notebook exception traceback saved in"):
            return False
        return not (subtype == "glue" and msg.startswith("No key"))


def _docname(location) -> str | None:
    if isinstance(location, tuple):
        location = location[0]
    return location if isinstance(location, str) else None


def parse_failure(traceback: str) -> dict:
    """The failing cell's source, its line and the exception, from jupyter-cache's text."""
    text = strip_ansi(traceback)
    out = {"source": None, "cell_line": None, "exception": None}
    if _CELL_RULE in text:
        _, rest = text.split(_CELL_RULE + "\n", 1)
        if "\n" + _CELL_RULE in rest:
            source, rest = rest.split("\n" + _CELL_RULE, 1)
            out["source"] = source
            text = rest
    m = re.search(r"Cell In\[\d+\], line (\d+)", text)
    if m:
        out["cell_line"] = int(m.group(1))
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if lines:
        out["exception"] = lines[-1]
    return out


def _cell_first(traceback: str) -> str:
    """The cell and its traceback first, then the frames of nbclient and jupyter-cache."""
    marker = "nbclient.exceptions.CellExecutionError: "
    head, sep, cell = traceback.partition(marker)
    if not sep:
        return traceback
    return (
        f"{cell.rstrip()}\n\n"
        f"Where the build's executor (jupyter-cache, nbclient) raised it:\n{head}{marker}...\n"
    )


def locate_cell(path: Path, source: str) -> int | None:
    """1-based line in ``path`` of the first line of the code cell whose source is ``source``."""
    want = source.splitlines()
    if not want:
        return None
    lines = path.read_text(encoding="utf8").splitlines()
    in_cell = False
    for j, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("```{code-cell}"):
            in_cell = True
            continue
        if in_cell and lines[j : j + len(want)] == want:
            return j + 1
        if stripped == "```":
            in_cell = False
    return None


def _report_failure(app, doctree) -> None:
    """One warning for a page whose notebook failed: page, line, exception, report."""
    from myst_nb.sphinx_ import NbMetadataCollector

    docname = app.env.docname
    data = NbMetadataCollector.get_exec_data(app.env, docname)
    if not data or data.get("succeeded", True):
        return
    traceback = data.get("traceback") or ""
    info = parse_failure(traceback)
    path = Path(app.env.doc2path(docname))
    rel = os.path.relpath(path, app.confdir)
    report = Path(app.outdir, "reports", *(docname + ".err.log").split("/"))
    shown_report = os.path.relpath(report)
    if shown_report.startswith(".."):
        shown_report = str(report)

    start = locate_cell(path, info["source"]) if info["source"] else None
    line = start + info["cell_line"] - 1 if start and info["cell_line"] else start
    exception = info["exception"] or data.get("error") or "unknown error"
    where = ""
    if start:
        where = f"the cell's code starts at line {start} of {rel}; "
        if info["cell_line"]:
            where = f"line {info['cell_line']} of a cell whose code starts at line {start}; "
    if traceback:
        report.parent.mkdir(parents=True, exist_ok=True)
        head = f"{rel}:{line}: {exception}" if line else f"{rel}: {exception}"
        report.write_text(f"{head}\n\n{_cell_first(strip_ansi(traceback))}", encoding="utf8")
    logger.warning(
        f"{FAILED} {exception}\n  ({where}full traceback:\n  {shown_report}; "
        "the page's follow-on glue warnings are not shown)",
        location=(docname, line) if line else docname,
        type="mystnb",
        subtype="exec",
    )


def setup(app):
    _kernel_profile(app)
    flt = _FailedNotebookFilter()
    for handler in logging.getLogger(sphinx_logging.NAMESPACE).handlers:
        if isinstance(handler, sphinx_logging.WarningStreamHandler):
            handler.filters.insert(0, flt)  # before Sphinx counts the warning
    app.connect("doctree-read", _report_failure)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
