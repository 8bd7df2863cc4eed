"""Tests of what the built book offers for download: each chapter as a notebook.

Like tests/test_book.py they need `make html` first and skip without a build, unless
MATHGRAD_REQUIRE_BOOK=1 (as CI sets it).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from book_pages import EXECUTED

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"

if not (SITE / "index.html").is_file():
    if os.environ.get("MATHGRAD_REQUIRE_BOOK") == "1":
        pytest.fail(f"no built book in {SITE}: run `make html` first", pytrace=False)
    pytest.skip("no built book (run `make html` first)", allow_module_level=True)

# MyST that Jupyter would show raw: roles, directive fences, labelled display math, targets.
RAW_MYST = re.compile(
    r"\{[a-z][\w:]*\}`|^\s*(`{3,}|:{3,})\{|\$\$[ \t]*\([\w-]+\)|^\([\w-]+\)=", re.M
)


def _notebook(name: str) -> dict:
    path = SITE / "_sources" / f"{name}.ipynb"
    assert path.is_file(), f"{name}: no notebook to download ({path.relative_to(ROOT)})"
    nb = json.loads(path.read_text(encoding="utf-8"))
    try:
        import nbformat
    except ImportError:  # the docs extra is not installed: the JSON checks below still run
        pass
    else:
        nbformat.validate(nbformat.from_dict(nb))
    return nb


@pytest.mark.parametrize("name", EXECUTED)
def test_notebook_has_the_outputs_of_every_code_cell(name):
    nb = _notebook(name)
    assert nb["nbformat"] == 4
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code, f"{name}.ipynb has no code cell"
    assert all(cell["execution_count"] for cell in code), f"{name}.ipynb: unexecuted cells"
    outputs = [out for cell in code for out in cell["outputs"]]
    assert any(out.get("data", {}).get("image/png") for out in outputs), f"{name}: no figure"
    text = "".join(
        "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
        for out in outputs
    )
    assert re.findall(r"^(passed|FAILED)$", text, re.M)[-1:] == ["passed"], name
    assert not any(out["output_type"] == "error" for out in outputs), name


@pytest.mark.parametrize("name", EXECUTED)
def test_notebook_markdown_has_no_raw_myst(name):
    nb = _notebook(name)
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    leftovers = sorted({m.group(0) for m in RAW_MYST.finditer(markdown)})
    assert not leftovers, f"{name}.ipynb shows MyST syntax raw in Jupyter: {leftovers}"
    # Labelled equations keep their numbers (on the pages that have any: not the front
    # page); cross-references point at other notebooks.
    source = (ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8")
    if re.search(r"^\$\$ \(", source, re.M):
        assert "\\tag{" in markdown, f"{name}.ipynb: the equation numbers were lost"
    for target in re.findall(r"\]\(([\w-]+)\.ipynb", markdown):
        assert (SITE / "_sources" / f"{target}.ipynb").is_file(), f"{name} -> {target}"


@pytest.mark.parametrize("name", EXECUTED)
def test_chapter_page_offers_its_notebook(name):
    page = (SITE / f"{name}.html").read_text(encoding="utf-8")
    assert f'href="_sources/{name}.ipynb"' in page, f"{name}.html has no .ipynb download"


# -- The PDF (after `make pdf`; CI builds it) ------------------------------------------------

# Both editions: (LaTeX folder, PDF, title of the front page's chapter, a part's prefix)
PDFS = {
    "en": ("latex", "mathgrad.pdf", "About this book", "Part "),
    "zh_CN": ("latex-zh_CN", "mathgrad-zh_CN.pdf", "关于本书", "第"),
}


@pytest.fixture(scope="module", params=list(PDFS))
def edition(request):
    return request.param


@pytest.fixture(scope="module")
def latex_source(edition):
    tex = ROOT / "_build" / PDFS[edition][0] / "mathgrad.tex"
    newest_page = max(p.stat().st_mtime for p in (ROOT / "docs").glob("*.md"))
    if not tex.is_file() or tex.stat().st_mtime < newest_page:
        if os.environ.get("MATHGRAD_REQUIRE_PDF") == "1":
            pytest.fail(f"no {edition} PDF build of these pages: run `make pdf`", pytrace=False)
        pytest.skip(f"no {edition} PDF build of these pages (run `make pdf` first)")
    return tex.read_text(encoding="utf-8")


def test_pdf_has_parts_and_a_chapter_per_page(latex_source, edition):
    from book_pages import CHAPTERS

    folder, pdf, about, part = PDFS[edition]
    chapters = re.findall(r"^\\chapter\{", latex_source, re.M)
    # The front page's text becomes "About this book"; every other page is a chapter.
    assert len(chapters) == len(CHAPTERS), (len(chapters), len(CHAPTERS))
    assert f"\\chapter{{{about}}}" in latex_source
    assert re.findall(r"^\\part\{", latex_source, re.M), "no parts"
    assert f"\\part{{{part}" not in latex_source, "the part number is printed twice"
    assert "\\setcounter{secnumdepth}{0}" in latex_source, "sections numbered twice"
    assert (ROOT / "_build" / "pdf" / pdf).stat().st_size > 100_000
    if edition == "zh_CN":
        assert "\\usepackage{xeCJK}" in latex_source
        assert "\\setCJKmainfont{Noto Serif CJK SC}" in latex_source
        assert len(re.findall(r"[\u4e00-\u9fff]", latex_source)) > 20_000, "hardly any Chinese"


def test_pdf_misses_no_glyph_and_prints_no_folded_code(latex_source, edition):
    log = ROOT / "_build" / PDFS[edition][0] / "mathgrad.log"
    log = log.read_text(encoding="utf-8", errors="replace")
    assert "Missing character" not in log
    # Code as typeset (Pygments' \\PYG{style}{text} macros removed).
    code = re.sub(r"\\PYG\{[^{}]*\}", "", latex_source).replace("\\PYGZus{}", "_")
    code = code.replace("{", "").replace("}", "")
    assert "def numerical_gradient(f, x, eps=1e" in code  # a shown listing reads as code
    # Every chapter starts with a folded (hide-input) cell of imports: not on paper.
    assert "from myst_nb import glue" not in code
