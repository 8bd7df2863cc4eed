"""Sphinx configuration of the mathgrad book.

Built from the repository root as ``sphinx-build -c . docs _build/html`` (``make html``).
Paths in this file are relative to the root (the configuration folder), except
``exclude_patterns``, which Sphinx reads relative to the source folder ``docs/``.
Every top-level name here becomes a Sphinx config value, so helpers are private.
"""

import hashlib as _hashlib
import importlib.metadata as _metadata
import os as _os
import pathlib as _pathlib
import shutil as _shutil
import sys as _sys

_ROOT = _pathlib.Path(__file__).resolve().parent

# -- Project ---------------------------------------------------------------------------

project = "mathgrad"
author = "the mathgrad authors"
copyright = "2026, the mathgrad authors"
release = _metadata.version("mathgrad")

# -- Extensions --------------------------------------------------------------------------

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxcontrib.bibtex",
]

# The bibliography: docs/references.bib (path relative to this folder), cited in the
# chapters with {cite:p}`key` / {cite:t}`key` and listed on docs/references.md.
bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

exclude_patterns = ["_static", "_build", "**.ipynb_checkpoints", "README.md"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# Strict and honest: `make html` passes -W --keep-going -n -E. Nothing here may need the
# network (no intersphinx): numpy's types are left unlinked, named below.
nitpicky = True
# Numpydoc types ("ndarray of shape (N, C, H, W)") render as plain text (napoleon_use_param
# = False below), so only numpy's own classes, which would need intersphinx, stay unlinked.
nitpick_ignore_regex = [("py:class", r"(numpy\.)?ndarray|numpy\..*")]

# -- MyST and MyST-NB --------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_dmath_double_inline = True
myst_substitutions = {"version": release}
myst_heading_anchors = 3
numfig = True
math_numfig = False  # equations numbered within each chapter, as the front page says
math_eqref_format = "({number})"

nb_execution_mode = "cache"
nb_execution_timeout = 300
# With -W --keep-going every notebook runs; a failing cell fails the build and its
# traceback lands in _build/html/reports/<page>.err.log (the terminal gets its summary).
nb_execution_raise_on_error = False
nb_execution_show_tb = True
nb_merge_streams = True
nb_execution_allow_errors = False

# A quiet build and a readable failure (_ext/mathgrad_build_messages.py): the kernels run
# with their own IPython profile (no "running over TCP" log lines, no colour codes), and a
# failing cell is one warning naming docs/<page>.md:<line>, the exception and the report.
_sys.path.insert(0, str(_ROOT / "_ext"))
extensions.append("mathgrad_build_messages")


def _cache_key() -> str:
    """Hash of what executed cells depend on beyond their own code.

    jupyter-cache keys on code cells only, so a change to mathgrad/ would leave stale
    numbers in the book; the cache folder is therefore named after the package sources
    and the versions of the libraries the cells use.
    """
    h = _hashlib.sha256()
    for path in sorted((_ROOT / "mathgrad").rglob("*.py")):
        h.update(path.relative_to(_ROOT).as_posix().encode())
        h.update(path.read_bytes())
    for dist in ("numpy", "matplotlib", "myst-nb", "ipykernel"):
        try:
            h.update(f"{dist}={_metadata.version(dist)}".encode())
        except _metadata.PackageNotFoundError:
            pass
    h.update(_sys.version.encode())
    return h.hexdigest()[:16]


_CACHE_ROOT = _ROOT / "_build" / ".jupyter_cache"
_CACHE_DIR = _CACHE_ROOT / _cache_key()
if _CACHE_ROOT.is_dir():  # drop caches of older package sources
    for _old in _CACHE_ROOT.iterdir():
        if _old != _CACHE_DIR:
            _shutil.rmtree(_old, ignore_errors=True)
nb_execution_cache_path = str(_CACHE_DIR)

# -- Autodoc -----------------------------------------------------------------------------

autodoc_typehints = "none"
add_module_names = False
toc_object_entries_show_parents = "hide"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = False
napoleon_use_keyword = False
napoleon_use_ivar = True
napoleon_preprocess_types = False

# -- HTML --------------------------------------------------------------------------------


def _repository_url() -> str:
    url = _os.environ.get("MATHGRAD_REPOSITORY_URL")
    if not url and _os.environ.get("GITHUB_REPOSITORY"):
        server = _os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{_os.environ['GITHUB_REPOSITORY']}"
    if not url and _os.environ.get("READTHEDOCS_GIT_CLONE_URL", "").startswith("https://"):
        url = _os.environ["READTHEDOCS_GIT_CLONE_URL"].removesuffix(".git")
    return url or "https://github.com/mathgrad/mathgrad"


html_theme = "sphinx_book_theme"
html_title = "mathgrad"
html_static_path = ["docs/_static"]
html_css_files = ["mathgrad.css"]
html_copy_source = True
html_show_sourcelink = True
html_last_updated_fmt = None
html_context = {"default_mode": "auto"}
html_theme_options = {
    "repository_url": _repository_url(),
    "repository_branch": "main",
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_download_button": True,
    "use_source_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "launch_buttons": {},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navbar_persistent": [],
}

# MathJax 3 vendored in docs/_static/mathjax, so math typesets with no network.
mathjax_path = "mathjax/tex-chtml-full.js"
mathjax3_config = {"tex": {"tags": "none"}, "chtml": {"matchFontHeight": False}}

# -- Figures numbered per chapter ---------------------------------------------------------
# _ext/mathgrad_fignumbers.py restarts figure numbers at 1 on every page, as equations do.
_sys.path.insert(0, str(_ROOT / "_ext"))
extensions += ["mathgrad_fignumbers"]
