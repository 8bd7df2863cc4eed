"""Offer each executed chapter as a Jupyter notebook, with its outputs, that reads well.

MyST-NB 1.4 (cache mode) writes ``jupyter_execute/<page>.ipynb`` before it merges the
cached outputs, so that copy has none. Here, when a page is written, its notebook is read
from the source again and the outputs are merged from the execution cache (nothing is
re-executed), then MyST syntax that Jupyter would show raw is rewritten as plain Markdown:

- roles: ``{doc}`` becomes a link to the other notebook (or to the published page),
  ``{eq}`` the equation's number, ``{numref}`` "Fig. 3", ``{ref}`` the section's title,
  ``{glue:text}`` the glued value, formatted, ``{cite:p}``/``{cite:t}`` author and year,
  ``{func}`` and its kin code, ``{math}`` inline math;
- labelled display math ``$$ ... $$ (label)`` gets ``\\tag{n}``; ``(label)=`` targets become
  HTML anchors; ``%`` comments go;
- directives: ``literalinclude`` becomes the included code, dropdown admonitions (hints,
  solutions) ``<details>`` blocks, other admonitions quotes, ``math`` display math.

The notebook is written to ``_sources/<page>.ipynb``, and the book theme's download
menu offers it (``.ipynb``) next to the ``.md`` source.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

_ROLE = re.compile(r"\{([a-zA-Z][\w:+-]*)\}`([^`]*)`")
_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_FENCE_OPEN = re.compile(
    r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$"
)
_LABELLED_MATH = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[^()\s]+)\)", re.S)
_ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}


class _Resolver:
    """Resolves MyST roles and directives of one page, from the Sphinx environment."""

    def __init__(self, app, docname: str, nb, notebooks: set[str]):
        self.app, self.env, self.docname = app, app.env, docname
        self.notebooks = notebooks
        self.glue = _glue_values(nb)
        self.base = app.config.html_baseurl

    # -- roles ------------------------------------------------------------------------
    def role(self, match: re.Match) -> str:
        name, content = match.group(1), match.group(2)
        text, target = content, content
        explicit = _TARGET.match(content)
        if explicit:
            text, target = explicit.group("text"), explicit.group("target")
        try:
            if name == "doc":
                return self.doc(target, text if explicit else None)
            if name == "eq":
                return self.eq(target)
            if name == "numref":
                return self.numref(target, text if explicit else None)
            if name == "ref":
                return self.ref(target, text if explicit else None)
            if name.startswith("glue"):
                return self.glue_role(name, content)
            if name.startswith("cite"):
                return self.cite(name, content)
            if name == "math":
                return f"${content}$"
            if name in ("sub", "sup", "abbr", "term", "dfn", "guilabel", "kbd"):
                return text
        except (KeyError, ValueError, IndexError):
            logger.warning(
                f"[mathgrad] notebook of {self.docname}: cannot resolve {{{name}}}`{content}`",
                location=self.docname,
            )
            return f"`{content}`"
        # {func}, {class}, {py:func}, ...: the name as code
        shown = target.lstrip("~")
        if target.startswith("~"):
            shown = shown.rsplit(".", 1)[-1]
        if name.endswith(("func", "meth")) and not shown.endswith(")"):
            shown += "()"
        return f"`{shown}`"

    def link(self, docname: str, text: str, anchor: str = "") -> str:
        if docname in self.notebooks:
            return f"[{text}]({docname}.ipynb{anchor})"
        if self.base:
            return f"[{text}]({self.base}{docname}.html{anchor})"
        return text

    def doc(self, target: str, text: str | None) -> str:
        docname = target.removesuffix(".md").lstrip("/")
        title = text or self.env.titles[docname].astext()
        return self.link(docname, title)

    def eq(self, label: str) -> str:
        docname, number = self.env.get_domain("math").equations[label]
        if docname == self.docname:
            return f"({number})"
        return self.link(docname, f"({number})")

    def numref(self, label: str, text: str | None) -> str:
        std = self.env.get_domain("std")
        docname, node_id, _ = std.labels[label]
        fignumbers = self.env.toc_fignumbers[docname]
        for kind, numbers in fignumbers.items():
            if node_id in numbers:
                number = ".".join(map(str, numbers[node_id]))
                fmt = text or self.app.config.numfig_format.get(kind, "%s")
                shown = fmt.replace("%s", number).replace("{number}", number)
                return shown if docname == self.docname else self.link(docname, shown)
        raise KeyError(label)

    def ref(self, label: str, text: str | None) -> str:
        docname, _, sectname = self.env.get_domain("std").labels[label]
        shown = text or sectname
        if docname == self.docname:
            return f"[{shown}](#{label})"  # the anchor that replaced the (label)= target
        return self.link(docname, shown, f"#{label}")

    def glue_role(self, name: str, content: str) -> str:
        key, _, fmt = content.partition(":") if name == "glue:text" else (content, "", "")
        value = self.glue[key]
        if name == "glue:math":
            return f"${value}$"
        if fmt:
            try:
                return format(ast.literal_eval(value), fmt)
            except (ValueError, SyntaxError, TypeError):
                return value
        try:
            literal = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        return literal if isinstance(literal, str) else value

    def cite(self, name: str, content: str) -> str:
        entries = self.env.get_domain("cite").bibdata.data.entries
        parts = []
        for key in (k.strip() for k in content.split(",")):
            entry = entries[key]
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(p.last_names) for p in persons]
            who = (
                names[0]
                if len(names) == 1
                else f"{names[0]} and {names[1]}"
                if len(names) == 2
                else f"{names[0]} et al."
                if names
                else key
            )
            who = who.replace("{", "").replace("}", "")
            year = entry.fields.get("year", "n.d.")
            parts.append(f"{who} ({year})" if name == "cite:t" else f"{who}, {year}")
        joined = "; ".join(parts)
        return joined if name == "cite:t" else f"({joined})"

    # -- blocks -----------------------------------------------------------------------
    def markdown(self, source: str) -> str:
        source = self.blocks(source)
        # (label)= targets become HTML anchors, which Jupyter links to
        source = re.sub(r"(?m)^\(([\w:.-]+)\)=[ \t]*$", r'<a id="\1"></a>', source)
        source = re.sub(r"(?m)^%.*\n?", "", source)  # MyST comments
        source = _LABELLED_MATH.sub(self.labelled_math, source)
        return _ROLE.sub(self.role, source)

    def labelled_math(self, match: re.Match) -> str:
        label = match.group("label")
        try:
            number = self.env.get_domain("math").equations[label][1]
        except KeyError:
            return f"$${match.group('body')}$$"
        return f"$${match.group('body').rstrip()} \\tag{{{number}}}\n$$"

    def blocks(self, source: str) -> str:
        lines = source.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            m = _FENCE_OPEN.match(lines[i])
            if not m:
                out.append(lines[i])
                i += 1
                continue
            fence = m.group("fence")
            close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            options, body = _split_options(lines[i + 1 : j])
            out.append(self.directive(m.group("name"), m.group("arg").strip(), options, body))
            i = j + 1
        return "\n".join(out)

    def directive(self, name: str, arg: str, options: dict, body: str) -> str:
        if name == "literalinclude":
            return self.literalinclude(arg, options)
        if name in ("math",):
            label = options.get("label")
            tag = ""
            if label:
                tag = f" \\tag{{{self.env.get_domain('math').equations[label][1]}}}"
            return f"$$\n{body.strip()}{tag}\n$$"
        if name in ("code-block", "code", "sourcecode"):
            return f"```{arg}\n{body}\n```"
        if name == "admonition" or name in _ADMONITIONS:
            title = arg if name == "admonition" else _ADMONITIONS[name]
            inner = self.blocks(body).strip()
            if "dropdown" in options.get("class", "").split():
                return f"<details>\n<summary>{title}</summary>\n\n{inner}\n\n</details>"
            quoted = "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
            return f"> **{title}**\n>\n{quoted}"
        if name in ("toctree", "bibliography", "eval-rst", "contents"):
            return ""
        return self.blocks(body)  # unknown: keep the content

    def literalinclude(self, arg: str, options: dict) -> str:
        from sphinx.directives.code import LiteralIncludeReader

        path = Path(self.env.doc2path(self.docname)).parent / arg
        reader_options = {k: v for k, v in options.items() if k != "language"}
        code, _ = LiteralIncludeReader(str(path), reader_options, self.app.config).read()
        language = options.get("language", "python")
        return f"```{language}\n{code.rstrip()}\n```"


def _split_options(lines: list[str]) -> tuple[dict, str]:
    options: dict[str, str] = {}
    if lines and lines[0].strip() == "---":  # YAML block of options
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), 0)
        for line in lines[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        lines = lines[end + 1 :]
    else:
        while lines and re.match(r"^\s*:[\w-]+:", lines[0]):
            _, key, value = lines[0].split(":", 2)
            options[key.strip()] = value.strip()
            lines = lines[1:]
    return options, "\n".join(lines)


def _glue_values(nb) -> dict[str, str]:
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if scrapbook.get("name"):
                prefix = scrapbook.get("mime_prefix", "")
                values[scrapbook["name"]] = output.get("data", {})[f"{prefix}text/plain"]
    return values


def _executed_notebook(app, docname: str):
    """The page's notebook with the outputs of its cached execution, or None."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook

    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md":
        return None
    source = path.read_text(encoding="utf-8")
    if not is_myst_markdown_notebook(source):
        return None
    nb = read_myst_markdown_notebook(source, path=str(path))
    if not any(cell.cell_type == "code" for cell in nb.cells):
        return None
    cache = get_cache(app.config.nb_execution_cache_path or ".jupyter_cache")
    try:
        _, merged = cache.merge_match_into_notebook(nb)
    except KeyError:
        return None
    return merged


def _notebook_pages(app) -> set[str]:
    if not hasattr(app, "_mathgrad_notebook_pages"):
        pages = set()
        for docname in app.env.found_docs:
            path = Path(app.env.doc2path(docname))
            if path.suffix == ".md":
                with path.open(encoding="utf-8") as f:
                    head = f.read(400)
                if "kernelspec" in head and "code-cell" in path.read_text(encoding="utf-8"):
                    pages.add(docname)
        app._mathgrad_notebook_pages = pages
    return app._mathgrad_notebook_pages


def _write_notebook(app, pagename, templatename, context, doctree):
    if doctree is None or app.builder.format != "html":
        return
    if pagename not in _notebook_pages(app):
        return
    import nbformat
    from myst_nb.sphinx_ import NbMetadataCollector

    exec_data = NbMetadataCollector.get_exec_data(app.env, pagename) or {}
    if exec_data.get("succeeded") is False:
        return  # the failing cell is already reported; there is no output to offer
    nb = _executed_notebook(app, pagename)
    if nb is None:
        logger.warning(
            f"[mathgrad] {pagename}: no executed notebook in the cache to offer",
            location=pagename,
        )
        return
    resolver = _Resolver(app, pagename, nb, _notebook_pages(app))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = resolver.markdown(cell.source)
    for key in ("jupytext", "source_map"):
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    target.write_text(nbformat.writes(nb), encoding="utf-8")
    context["ipynb_source"] = f"{pagename}.ipynb"  # the theme's download menu offers it


def setup(app):
    # Before the book theme builds its header buttons (priority 501).
    app.connect("html-page-context", _write_notebook, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
