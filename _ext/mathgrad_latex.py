"""The book as a LaTeX book: parts, chapters, and no folded code printed in full.

The front page (the root document) holds the chapters in hidden toctrees, one per part,
under its last heading. Sphinx's LaTeX builder inlines a toctree where it stands, so the
chapters would become sections of that heading. For LaTeX only, this extension rearranges
the front page: its text becomes a first chapter ("About this book"), and each toctree
moves to the top level, preceded by a ``\\part`` named after the toctree's caption (the
"Part I." prefix dropped: LaTeX numbers the parts itself). The "Reference" part is an
appendix. The HTML build is untouched.

Code cells folded in HTML (``hide-input``, ``hide-cell``) cannot be unfolded on paper:
their source is left out of the LaTeX output, and their outputs (figures) kept. Runs of
Chinese characters are set in a CJK font (XeTeX has no font fallback).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

# "Part I. " in English, "第一部分 " (or with a full stop or colon) in Chinese
_PART_PREFIX = re.compile(r"^(Part\s+[IVXLC]+\.|第[一二三四五六七八九十]+部分[.．。:：]?)\s*")
_TEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"}


def _escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(c, c) for c in text)


def _rearrange_root(app, doctree):
    if app.builder.format != "latex" or app.env.docname != app.config.root_doc:
        return
    top = next(iter(doctree.findall(nodes.section)), None)
    if top is None or not isinstance(top[0], nodes.title):
        return
    wrappers = [
        node.parent
        for node in doctree.findall(addnodes.toctree)
        if isinstance(node.parent, nodes.compound)
    ]
    for wrapper in wrappers:
        wrapper.parent.remove(wrapper)
    intro = nodes.section(ids=["about-this-book"], names=["about this book"])
    chinese = (app.config.language or "en").startswith("zh")
    intro += nodes.title("", "关于本书" if chinese else "About this book")
    intro.extend(top.children[1:])
    top.children = top.children[:1]
    top += intro
    for i, wrapper in enumerate(wrappers):
        caption = wrapper[0].get("caption")
        if caption:
            if i == len(wrappers) - 1:  # the last part, "Reference", is the appendix
                top += nodes.raw("", "\\appendix\n", format="latex")
            name = _escape(_PART_PREFIX.sub("", caption))
            top += nodes.raw("", f"\\part{{{name}}}\n", format="latex")
        top += wrapper


class HideFoldedInputs(SphinxPostTransform):
    """Leave out, in LaTeX, the source of code cells folded in HTML."""

    default_priority = 199
    formats = ("latex",)

    def run(self, **kwargs):
        for node in list(self.document.findall(nodes.container)):
            if node.get("nb_element") != "cell_code" or not node.children:
                continue
            if node.get("hide_mode") not in ("input", "input+output", "all"):
                continue
            source = node.children[0]
            if source.get("nb_element") == "cell_code_source":
                node.remove(source)


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


class WrapCJK(SphinxPostTransform):
    """Set runs of Chinese characters in the CJK font (\\mathgradcjk, see conf.py).

    XeTeX has no font fallback: the main font lacks these glyphs and would drop them.
    """

    default_priority = 900  # after the bibliography is rendered
    formats = ("latex",)

    def run(self, **kwargs):
        if (self.config.language or "en").startswith("zh"):
            return  # xeCJK sets Chinese in the CJK font (see _chinese_pdf)
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if parent is None or isinstance(parent, (nodes.FixedTextElement, nodes.math)):
                continue
            if not _CJK.search(text):
                continue
            parts, last = [], 0
            for match in _CJK.finditer(text):
                parts.append(nodes.Text(text[last : match.start()]))
                parts.append(nodes.raw("", f"\\mathgradcjk{{{match.group()}}}", format="latex"))
                last = match.end()
            parts.append(nodes.Text(text[last:]))
            index = parent.index(text)
            parent[index : index + 1] = [p for p in parts if not isinstance(p, nodes.Text) or p]


# The Chinese edition's PDF: xeCJK (which Sphinx loads for Chinese) sets every Chinese
# character in Noto CJK, so WrapCJK is not needed there; Debian: fonts-noto-cjk and
# texlive-lang-chinese.
_CHINESE_FONTS = r"""
\setCJKmainfont{Noto Serif CJK SC}
\setCJKsansfont{Noto Sans CJK SC}
\setCJKmonofont{Noto Sans Mono CJK SC}
"""
# LaTeX's English names (babel sets them as the document begins): parts "第一部分",
# chapters by their number alone, the appendix "附录".
_CHINESE_NAMES = r"""
\usepackage{zhnumber}
\AtBeginDocument{%
  \renewcommand{\partname}{}%
  \renewcommand{\thepart}{第\zhnum{part}部分}%
  \renewcommand{\chaptername}{}%
  \renewcommand{\appendixname}{附录}}
"""


def _chinese_pdf(app, config):
    if not (config.language or "en").startswith("zh"):
        return
    elements = dict(config.latex_elements)
    elements["fontpkg"] = elements.get("fontpkg", "") + _CHINESE_FONTS
    elements["preamble"] = elements.get("preamble", "") + _CHINESE_NAMES
    elements["tableofcontents"] = r"\renewcommand{\contentsname}{目录}\sphinxtableofcontents"
    config.latex_elements = elements
    config.latex_documents = [
        (start, target, "mathgrad：神经网络的导数，推导与检验", author, theme)
        for start, target, _title, author, theme in config.latex_documents
    ]


def setup(app):
    app.connect("doctree-read", _rearrange_root)
    app.connect("config-inited", _chinese_pdf)
    app.add_post_transform(HideFoldedInputs)
    app.add_post_transform(WrapCJK)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
