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


def _version() -> str:
    """mathgrad.__version__, read from the source: the one place the version is written
    (pyproject.toml reads it too, so the package, the distribution and the book agree)."""
    import ast

    init = _ROOT / "mathgrad" / "__init__.py"
    if not init.is_file():  # a book built outside the repository: the installed package
        return _metadata.version("mathgrad")
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise RuntimeError("mathgrad/__init__.py does not set __version__")


release = _version()

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

exclude_patterns = ["_static", "_templates", "_build", "**.ipynb_checkpoints", "README.md"]
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
# docs/_templates/navbar-logo.html puts the theme's sidebar title inside a landmark.
templates_path = ["docs/_templates"]
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

# -- Build infrastructure (issue 12: parallel execution, PDF, notebooks, reading aids) ----
# Local extensions live in _ext/ (on sys.path: see the block above).

# Cold builds execute the notebooks in a pool of processes (one per core) before Sphinx
# reads them, into the same execution cache; see _ext/mathgrad_parallel.py.
extensions += ["mathgrad_parallel"]

# -- PDF (make pdf: Sphinx's LaTeX builder, XeLaTeX) --------------------------------------
# _ext/mathgrad_latex.py makes each part a \part and each page a chapter, and leaves out
# the source of folded (hide-input) cells. Sections are not numbered (chapters are), so a
# heading that carries its own number ("5. The converse") is numbered once. DejaVu Sans
# Mono has every character the code and outputs use (ᵀ, ⊙, δ, ∂), FreeMono does not;
# WenQuanYi Micro Hei the Chinese of a source's title;
# tools/build_pdf.py fails the build on any "Missing character" in the log.
extensions += ["mathgrad_latex"]
latex_engine = "xelatex"
latex_documents = [
    (
        "index",
        "mathgrad.tex",
        "mathgrad: the derivatives of neural networks, derived and checked",
        author,
        "manual",
    )
]
latex_toplevel_sectioning = "chapter"
latex_show_urls = "footnote"
latex_elements = {
    "papersize": "a4paper",
    "pointsize": "10pt",
    "fontpkg": r"""
\setmainfont{FreeSerif}[Extension=.otf, UprightFont=*, ItalicFont=*Italic,
  BoldFont=*Bold, BoldItalicFont=*BoldItalic]
\setsansfont{DejaVu Sans}
\setmonofont{DejaVu Sans Mono}[Scale=0.85]
% The few Chinese characters (a source's title in the references), which
% _ext/mathgrad_latex.py wraps in \mathgradcjk{...}, in WenQuanYi Micro Hei.
\newfontfamily\mathgradcjkfont{WenQuanYi Micro Hei}
\newcommand{\mathgradcjk}[1]{{\mathgradcjkfont #1}}
""",
    "preamble": r"\setcounter{secnumdepth}{0}",
    "sphinxsetup": "verbatimforcewraps, verbatimmaxunderfull=0",
    # Sphinx names the contents page after the root page's first toctree caption
    # ("Part I. ..."); the contents page is "Contents".
    "tableofcontents": r"\renewcommand{\contentsname}{Contents}\sphinxtableofcontents",
}

# -- Reading aids (copy buttons, source links, sitemap, OpenGraph) ------------------------
extensions += [
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]
# Copy code, not prompts ("$ ", ">>> ") and not cell outputs.
copybutton_selector = "div:not(.output) > div.highlight pre"
copybutton_prompt_text = r"\$ |>>> |\.\.\. "
copybutton_prompt_is_regexp = True
copybutton_exclude = ".linenos, .gp, .go"


def _base_url() -> str:
    """The address the book is published at, from the hosting environment.

    Read the Docs sets READTHEDOCS_CANONICAL_URL; the GitHub Pages workflow sets
    MATHGRAD_BASE_URL. Unset (a local build), there is no sitemap and no OpenGraph tags
    (link previews need the published address; the extension costs 1.5 s of every build).
    """
    url = _os.environ.get("READTHEDOCS_CANONICAL_URL") or _os.environ.get("MATHGRAD_BASE_URL")
    return url.rstrip("/") + "/" if url else ""


html_baseurl = _base_url()
if html_baseurl:  # a sitemap and link previews need absolute addresses
    extensions += ["sphinx_sitemap", "sphinxext.opengraph"]
sitemap_url_scheme = "{link}"  # html_baseurl already holds the language and version
sitemap_excludes = ["search.html", "genindex.html", "py-modindex.html"]
ogp_site_url = html_baseurl
ogp_site_name = "mathgrad"
ogp_social_cards = {"enable": False}  # no generated images (they need matplotlib fonts)
ogp_enable_meta_description = True

# -- Notebooks: each executed chapter as .ipynb with its outputs --------------------------
# _ext/mathgrad_notebooks.py writes _sources/<page>.ipynb from the execution cache, with
# MyST roles and directives rewritten as plain Markdown; the download menu offers it.
extensions += ["mathgrad_notebooks"]


# -- The whole book as a PDF, linked from the front page ----------------------------------


def _pdf_link() -> str:
    """Markdown for the front page: where the PDF of this version of the book is."""
    if _os.environ.get("READTHEDOCS") == "True":  # Read the Docs builds it (formats: pdf)
        from urllib.parse import urlsplit

        parts = urlsplit(_os.environ.get("READTHEDOCS_CANONICAL_URL", ""))
        lang = _os.environ.get("READTHEDOCS_LANGUAGE", "en")
        ver = _os.environ.get("READTHEDOCS_VERSION", "latest")
        return f"[download the PDF]({parts.scheme}://{parts.netloc}/_/downloads/{lang}/{ver}/pdf/)"
    if (_ROOT / "_build" / "pdf" / "mathgrad.pdf").is_file():  # `make pdf` ran first
        return "{download}`download the PDF <../_build/pdf/mathgrad.pdf>`"
    return "`make pdf` builds it as `_build/pdf/mathgrad.pdf`"


# After `make pdf` the PDF is copied into the site (the GitHub workflow builds it first).
myst_substitutions["pdf"] = _pdf_link()


def _citations_as_list_items(app, pagename, templatename, context, doctree):
    """Mark the bibliography's entries as items of the list that holds them.

    docutils writes the citation list as ``role="list"`` holding ``role="doc-biblioentry"``
    entries; ARIA lets a list hold only list items (axe-core's critical
    "aria-required-children"), and DPUB-ARIA 1.1 deprecates doc-biblioentry.
    """
    body = context.get("body")
    if body and 'class="citation-list"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app):
    app.connect("html-page-context", _citations_as_list_items)


# -- The Chinese edition (gettext) ---------------------------------------------------------
# The prose of every page is translated in locales/zh_CN/LC_MESSAGES/<page>.po (one
# catalogue per page); code cells and their outputs are not extracted, so both editions
# run and show the same cells. `make html` builds English into _build/html and Chinese
# (-D language=zh_CN) into _build/html/zh_CN; `make gettext` refreshes the catalogues.
locale_dirs = ["../locales/"]  # relative to docs/, the source folder
gettext_compact = False
gettext_uuid = False
gettext_location = False  # entries keep no line numbers: an edit elsewhere changes nothing
gettext_last_translator = "mathgrad authors"
gettext_language_team = "mathgrad authors"
# The gettext builder renders no images by default, so the alt texts of the executed
# figures would never reach the catalogues; let it pick the figures as the HTML build does.
nb_mime_priority_overrides = [("gettext", "image/svg+xml", 4), ("gettext", "image/png", 5)]
# _ext/mathgrad_i18n.py: math stays out of the catalogues, a missing translation is a
# warning (so the strict build fails), and each page links to the other edition.
extensions += ["mathgrad_i18n"]
html_theme_options["article_header_end"] = ["article-header-buttons.html", "language-switch.html"]
