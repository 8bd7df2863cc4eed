"""Build the book as PDFs: Sphinx's LaTeX builder, then XeLaTeX through Sphinx's Makefile.

    python tools/build_pdf.py [OUTPUT_DIR [LANGUAGE]]   # default: _build/pdf, both editions

Both editions: OUTPUT_DIR/mathgrad.pdf in English and OUTPUT_DIR/mathgrad-zh_CN.pdf in
Chinese (its prose from locales/zh_CN, its Chinese set by xeCJK in Noto CJK). The LaTeX
sources go to _build/latex and _build/latex-zh_CN (doctrees in _build/doctrees-latex*, so
the HTML build's are not disturbed); the executed cells come from the same execution cache as
`make html`. Sphinx's generated Makefile is used rather than latexmk directly because it
sets XINDYOPTS (latexmk alone fails on xindy). The build fails on any warning, on a LaTeX
error and on any "Missing character" in the XeLaTeX log (a glyph the fonts lack would be
silently dropped). Nothing is installed here: without TeX it prints what to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEX_PACKAGES = (
    "texlive-xetex latexmk texlive-latex-recommended texlive-latex-extra "
    "texlive-fonts-recommended tex-gyre fonts-freefont-otf fonts-dejavu-core "
    "fonts-wqy-microhei xindy texlive-lang-chinese fonts-noto-cjk"
)
FONTS = (
    "FreeSerif",
    "DejaVu Sans",
    "DejaVu Sans Mono",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Noto Sans CJK SC",
    "Noto Sans Mono CJK SC",
)
NAME = "mathgrad"
# (Sphinx language, suffix of the LaTeX folder, the PDF's file name)
EDITIONS = (("en", "", f"{NAME}.pdf"), ("zh_CN", "-zh_CN", f"{NAME}-zh_CN.pdf"))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "pdf"
    missing = [tool for tool in ("xelatex", "latexmk", "xindy") if not shutil.which(tool)]
    if not missing:  # the fonts conf.py names (fontconfig comes with XeTeX)
        for font in FONTS:
            listed = subprocess.run(["fc-list", font], capture_output=True, text=True).stdout
            if not listed.strip():
                missing.append(f"the font {font!r}")
    if missing:
        print(
            f"make pdf: {', '.join(missing)} not found. Install TeX (Debian/Ubuntu):\n"
            f"  sudo apt-get install --no-install-recommends {TEX_PACKAGES}",
            file=sys.stderr,
        )
        return 2
    if (
        not shutil.which("kpsewhich")
        or not subprocess.run(
            ["kpsewhich", "xeCJK.sty"], capture_output=True, text=True
        ).stdout.strip()
    ):
        print(
            "make pdf: xeCJK (Debian: texlive-lang-chinese) not found; install:\n"
            f"  sudo apt-get install --no-install-recommends {TEX_PACKAGES}",
            file=sys.stderr,
        )
        return 2
    only = argv[2] if len(argv) > 2 else None  # one edition (Read the Docs: one per project)
    if only and only not in {e[0] for e in EDITIONS}:
        print(f"make pdf: no edition {only!r}; the editions: en, zh_CN", file=sys.stderr)
        return 2
    for language, suffix, name in EDITIONS:
        if only and language != only:
            continue
        if code := build(out, language, suffix, name):
            return code
    return 0


def build(out: Path, language: str, suffix: str, name: str) -> int:
    """One edition's PDF, as out/name."""
    latex = ROOT / "_build" / f"latex{suffix}"
    start = time.perf_counter()
    sphinx = [
        sys.executable, "-m", "sphinx", "-b", "latex", "-c", ".", "docs", str(latex),
        "-d", str(ROOT / "_build" / f"doctrees-latex{suffix}"), "-W", "--keep-going", "-n",
        "-q", "-D", f"language={language}",
    ]  # fmt: skip
    if subprocess.run(sphinx, cwd=ROOT).returncode:
        print(
            f"make pdf: the LaTeX build ({language}) failed (see the warnings above)",
            file=sys.stderr,
        )
        return 1
    mid = time.perf_counter()
    tex = subprocess.run(
        ["make", "-C", str(latex), f"{NAME}.pdf", "LATEXMKOPTS=-silent -halt-on-error"],
        cwd=ROOT,
    )
    log = latex / f"{NAME}.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    missing_chars = sorted(set(re.findall(r"^Missing character: .*$", text, re.M)))
    if tex.returncode or missing_chars:
        for line in missing_chars:
            print(f"make pdf: {line}", file=sys.stderr)
        print(f"make pdf: XeLaTeX failed; see {log.relative_to(ROOT)}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    pdf = out / name
    shutil.copyfile(latex / f"{NAME}.pdf", pdf)
    pages = re.search(r"Output written on .*\((\d+) pages?", text)
    end = time.perf_counter()
    print(
        f"make pdf: {pdf} ({pages.group(1) if pages else '?'} pages, "
        f"{pdf.stat().st_size / 1e6:.1f} MB) in {end - start:.0f} s "
        f"(Sphinx {mid - start:.0f} s, XeLaTeX {end - mid:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
