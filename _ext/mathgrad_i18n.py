"""The Chinese edition: what Sphinx's gettext translation needs beyond ``locale_dirs``.

Both editions come from the same sources. ``make gettext`` extracts the prose of every
page into ``locales/zh_CN/LC_MESSAGES/<page>.po``; the Chinese build
(``-D language=zh_CN``) puts the translations back in. This extension

* keeps display math out of the catalogues (a translated math entry rendered as
  ``\\[::\\]`` with no warning), and anything inside a ``notranslate`` container (the
  glossary's table, which both editions show as written);
* makes the translated build strict: a message of a page with no translation in its
  catalogue (new or changed English, an entry left empty or fuzzy) is a warning, so
  ``-W`` fails the Chinese build until ``make gettext`` and a translation carry it over;
* links every page to the same page of the other edition (``language-switch.html``);
* translates what MyST-NB writes around folded cells, which its own catalogue lacks;
* lets ``{glue:text}`` roles inside a translation find the page's executed numbers;
* works around Sphinx 9.0's Chinese search (``window.Stemmer = ChineseStemmer`` is
  undefined, fixed in Sphinx 9.1): the index is still split into words by jieba.
"""

from __future__ import annotations

import os
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain
from sphinx.util.nodes import extract_messages, traverse_parent

logger = logging.getLogger(__name__)

# The editions: language code (Sphinx's `language`), the folder of the site it is built
# into, and the name of the language as its readers write it.
EDITIONS = {"en": ("", "English"), "zh_CN": ("zh_CN", "中文")}

# Read the Docs serves each language under its own code (a translation project).
_RTD_CODES = {"en": "en", "zh_CN": "zh-cn"}


class KeepUntranslated(SphinxTransform):
    """Mark display math and ``notranslate`` containers as not translatable.

    Runs before Sphinx's own i18n transform (priority 20), so the marked nodes are neither
    extracted by the gettext builder nor replaced in a translated build.
    """

    default_priority = 10

    def apply(self, **kwargs) -> None:
        for node in self.document.findall(nodes.math_block):
            node["translatable"] = False
        # a paragraph or cell of nothing but math and code has nothing to translate
        for node in self.document.findall(nodes.TextElement):
            if node.children and all(
                isinstance(child, (nodes.math, nodes.literal))
                or (isinstance(child, nodes.Text) and not child.astext().strip(" ,.;:()"))
                for child in node.children
            ):
                node["translatable"] = False
        for box in self.document.findall(nodes.Element):
            if "notranslate" in box.get("classes", ()):
                for inner in box.findall(nodes.TextElement):
                    inner["translatable"] = False


class ReportUntranslated(SphinxTransform):
    """In a translated build, warn about every message its page's catalogue lacks."""

    default_priority = 19  # just before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs) -> None:
        language = self.config.language
        docname = self.env.current_document.docname
        if not language or language == "en" or not docname:
            return
        domain = docname_to_domain(docname, self.config.gettext_compact)
        dirs = [os.path.join(self.env.srcdir, d) for d in self.config.locale_dirs]
        catalog, has_catalog = init_locale(dirs, language, domain)
        if not has_catalog:
            logger.warning(
                "no %s catalogue for page %r: run `make gettext` and translate "
                "locales/%s/LC_MESSAGES/%s.po",
                language,
                docname,
                language,
                domain,
                location=docname,
                type="mathgrad",
                subtype="i18n",
            )
            return
        merged: dict[str, str] = {}
        while catalog is not None:  # the page's catalogue and its fallbacks
            merged = getattr(catalog, "_catalog", {}) | merged
            catalog = catalog._fallback
        missing = 0
        for node, msg in untranslated(self.document, lambda m: merged.get(m, "").strip()):
            missing += 1
            if missing <= 3:
                logger.warning(
                    "not translated in locales/%s/LC_MESSAGES/%s.po: %r",
                    language,
                    domain,
                    msg if len(msg) < 80 else msg[:77] + "...",
                    location=node,
                    type="mathgrad",
                    subtype="i18n",
                )
        if missing > 3:
            logger.warning(
                "%d more messages of %r are not translated (make gettext, then translate "
                "the empty and fuzzy entries)",
                missing - 3,
                docname,
                location=docname,
                type="mathgrad",
                subtype="i18n",
            )


def untranslated(doctree, translated) -> list[tuple[nodes.Element, str]]:
    """The messages of ``doctree`` (as the gettext builder extracts them) for which
    ``translated(msg)`` is false, less those there is nothing to translate in: text with
    no Latin letter (Sphinx's own labels, already in Chinese: 参数, 返回) and the front
    matter (jupytext's header, metadata that is neither shown nor extracted).

    The Chinese build warns about each; tests/test_translation.py asks the same of the
    catalogues and the built English doctrees.
    """
    return [
        (node, msg)
        for node, msg in extract_messages(doctree)
        if not translated(msg)
        and re.search("[A-Za-z]", msg)
        and not any(_is_front_matter(p) for p in traverse_parent(node))
    ]


def _is_front_matter(node) -> bool:
    """A page's front matter: docinfo, or the field list MyST makes of it at the top."""
    if isinstance(node, nodes.docinfo):
        return True
    return isinstance(node, nodes.field_list) and isinstance(node.parent, nodes.document)


# -- Glued numbers inside translated text -------------------------------------------------
# Sphinx parses each translation into a new, empty document (sphinx.transforms.i18n's
# _publish_msgstr), which lacks the page's executed notebook, so MyST-NB's {glue:text}
# roles in it found no data and rendered nothing (a warning each). MyST-NB keeps the
# page's notebook renderer on the document only while it parses the page; the parser is
# wrapped to remember it, and while that page is translated the glue lookup of a
# translation's document falls back to it. (Pages are read one after another.)

_page_renderer: dict[str, object] = {}
_TRANSLATED = ":<translated>"


class _RememberRenderer(dict):
    """A document's attributes that keep the notebook renderer MyST-NB sets on them."""

    def __setitem__(self, key, value):
        if key == "nb_renderer":
            _page_renderer["page"] = value
        super().__setitem__(key, value)


def _patch_glue_lookup() -> None:
    from myst_nb import sphinx_
    from myst_nb.ext.glue import directives, roles, utils

    if getattr(utils.retrieve_glue_data, "mathgrad_fallback", False):
        return
    original_parse = sphinx_.Parser.parse
    original_retrieve = utils.retrieve_glue_data

    def parse(self, inputstring, document):
        if not str(document.get("source", "")).endswith(_TRANSLATED):
            _page_renderer.clear()
            document.attributes = _RememberRenderer(document.attributes)
        return original_parse(self, inputstring, document)

    def retrieve_glue_data(document, key):
        translated = str(document.get("source", "")).endswith(_TRANSLATED)
        if translated and "page" in _page_renderer:
            document.attributes["nb_renderer"] = _page_renderer["page"]
            try:
                return original_retrieve(document, key)
            finally:
                del document.attributes["nb_renderer"]
        return original_retrieve(document, key)

    retrieve_glue_data.mathgrad_fallback = True
    sphinx_.Parser.parse = parse
    for module in (utils, roles, directives):
        module.retrieve_glue_data = retrieve_glue_data


def _edition_roots(config: Config) -> dict[str, str]:
    """The address of each edition's root, absolute on Read the Docs, else relative."""
    canonical = os.environ.get("READTHEDOCS_CANONICAL_URL", "")
    here = _RTD_CODES.get(config.language or "en", "en")
    if os.environ.get("READTHEDOCS") == "True" and f"/{here}/" in canonical:
        return {
            lang: canonical.replace(f"/{here}/", f"/{code}/", 1)
            for lang, code in _RTD_CODES.items()
        }
    return {}


def _configure(app: Sphinx, config: Config) -> None:
    if (config.language or "en").startswith("zh"):
        # MyST-NB's prompts for folded cells (the book folds only cell sources)
        config.nb_code_prompt_show = "显示代码"
        config.nb_code_prompt_hide = "隐藏代码"
        _chinese_pdf_link(app, config)
        import logging as _logging

        import jieba  # Sphinx's Chinese search splits words with it; quiet its start-up log
        import sphinx.search.zh

        jieba.setLogLevel(_logging.WARNING)
        # Sphinx loads jieba's own default dictionary a second time, as a user dictionary
        # (349,000 words, 4.8 s of every Chinese build); jieba already uses it.
        config.html_search_options = {**config.html_search_options, "dict": ""}

        if not hasattr(sphinx.search.zh, "ChineseStemmer"):
            # Sphinx 9.0 writes `window.Stemmer = ChineseStemmer` for Chinese, which no
            # script defines, so the search page stays empty. Words are still split by
            # jieba; only the (Latin) stemmer falls back to the English one.
            sphinx.search.zh.SearchChinese.language_name = "English"


def _chinese_pdf_link(app: Sphinx, config: Config) -> None:
    """The front page's {{ pdf }}: the Chinese PDF (`make pdf` builds both editions)."""
    subs = dict(config.myst_substitutions)
    link = subs.get("pdf", "")
    if os.environ.get("READTHEDOCS") == "True":  # the translation project's own PDF
        subs["pdf"] = link.replace("download the PDF", "下载 PDF")
    else:
        pdf = os.path.join(app.confdir, "_build", "pdf", "mathgrad-zh_CN.pdf")
        if os.path.isfile(pdf):
            subs["pdf"] = "{download}`下载 PDF <../_build/pdf/mathgrad-zh_CN.pdf>`"
        else:
            subs["pdf"] = "`make pdf` 会生成 `_build/pdf/mathgrad-zh_CN.pdf`"
    config.myst_substitutions = subs


def _language_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    language = app.config.language or "en"
    if language not in EDITIONS:
        return
    roots = _edition_roots(app.config)
    # relative address of the site root from this page (pages may sit in folders)
    up = "../" * pagename.count("/")
    here_folder = EDITIONS[language][0]
    links = []
    for lang, (folder, name) in EDITIONS.items():
        if lang == language:
            continue
        if roots:
            href = f"{roots[lang]}{pagename}.html"
        else:
            # from this edition's root to the English root, then into the other's folder
            to_en = "../" if here_folder else ""
            href = f"{up}{to_en}{folder + '/' if folder else ''}{pagename}.html"
        links.append({"lang": lang.replace("_", "-"), "name": name, "href": href})
    context["mathgrad_editions"] = links


def setup(app: Sphinx) -> dict:
    app.add_transform(KeepUntranslated)
    app.add_transform(ReportUntranslated)
    _patch_glue_lookup()
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _language_links)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
