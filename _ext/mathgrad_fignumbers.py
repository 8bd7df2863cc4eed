"""Number figures (and other captioned items) within each chapter, like the equations.

Without a ``:numbered:`` toctree, Sphinx numbers captioned figures in one sequence across
the whole book, so the third chapter's first figure is "Fig. 8". The book numbers its
equations per chapter, and its chapters number their own sections, so a numbered toctree
(which would prefix "3.1" to every heading) is not wanted either. This extension runs
after Sphinx has assigned the book-wide numbers and renumbers each page's figures from 1,
in the same order; ``{numref}`` reads the same table, so references follow.

Sphinx's toctree collector decides which pages to rewrite by comparing its new numbers
with the table it finds in the environment; so before it runs, the table is put back to
the book-wide numbers of the last build, and an unchanged book rewrites no page.

When a build reads no page at all (nothing changed), the numbers cannot change either,
and the collector's walk through every page's doctree (2.5 s of a 5 s rebuild) is skipped.
"""

from __future__ import annotations

import copy

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.environment.collectors.toctree import TocTreeCollector

_SKIP = "_mathgrad_nothing_read"


def _count_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    setattr(env, _SKIP, not docnames and hasattr(env, "mathgrad_page_fignumbers"))


_assign_figure_numbers = TocTreeCollector.assign_figure_numbers


def _assign_unless_nothing_read(self, env: BuildEnvironment) -> list[str]:
    if getattr(env, _SKIP, False):
        return []  # no page was read: the numbers of the last build stand
    return _assign_figure_numbers(self, env)


def _restore_bookwide(app: Sphinx, env: BuildEnvironment) -> list[str]:
    bookwide = getattr(env, "mathgrad_bookwide_fignumbers", None)
    if bookwide is not None:
        env.toc_fignumbers = copy.deepcopy(bookwide)
    return []


def _renumber_per_page(app: Sphinx, env: BuildEnvironment) -> list[str]:
    if getattr(env, _SKIP, False):
        delattr(env, _SKIP)
        env.toc_fignumbers = copy.deepcopy(env.mathgrad_page_fignumbers)
        return []
    env.mathgrad_bookwide_fignumbers = copy.deepcopy(env.toc_fignumbers)
    previous = getattr(env, "mathgrad_page_fignumbers", {})
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        for numbers in by_type.values():
            for k, figure_id in enumerate(sorted(numbers, key=numbers.__getitem__), start=1):
                numbers[figure_id] = (k,)
        if previous.get(docname) != by_type:
            changed.append(docname)
    env.mathgrad_page_fignumbers = copy.deepcopy(env.toc_fignumbers)
    return changed


def setup(app: Sphinx) -> dict:
    TocTreeCollector.assign_figure_numbers = _assign_unless_nothing_read
    app.connect("env-before-read-docs", _count_read)
    # the toctree collector assigns the book-wide numbers at the default priority, 500
    app.connect("env-get-updated", _restore_bookwide, priority=100)
    app.connect("env-get-updated", _renumber_per_page, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
