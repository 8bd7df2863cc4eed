"""The built book in real headless Chromium: what a reader would notice.

Run with `make test-browser` after `make html`. Needs Playwright (the project's `browser`
extra) and Debian's Chromium at /usr/bin/chromium; no browser is ever downloaded. The
site (default `_build/html`, or the folder in MATHGRAD_SITE) is served from 127.0.0.1 by
the test itself. Without Playwright, Chromium or a built book these tests skip, unless
MATHGRAD_REQUIRE_BROWSER=1 (as `make test-browser` sets it), which makes that a failure.

Both editions are checked: the English book at the site's root and the Chinese edition in
its `zh_CN/` folder (a page of it is named `zh_CN/<page>` below). Every page must load with
no console error, no failed request and no request to another
host, MathJax must finish with no raw TeX or error node left, every image must load; every
chapter must be in the sidebar, search must find its pages, the download button must offer
each chapter's source. axe-core (bundled by the `axe-playwright-python` package, injected
into the page, so it runs offline) checks every chapter for accessibility: a serious or
critical violation fails, as does an image whose alt text is empty or a file name; the
moderate and minor ones are reported as warnings. Every page's language link must land on
the same page of the other edition; Chinese search must find its words (split by jieba);
a Chinese page must draw Chinese glyphs, not the empty boxes of a missing font. Full-page
screenshots of every chapter at desktop and phone width land in `screenshots/` next to the
site (`_build/screenshots/` for the default site; the Chinese ones in `screenshots/zh_CN/`).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from book_pages import CHAPTERS as CHAPTERS_IN_ORDER

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("MATHGRAD_SITE") or ROOT / "_build" / "html").resolve()
SCREENSHOTS = SITE.parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
REQUIRED = os.environ.get("MATHGRAD_REQUIRE_BROWSER") == "1"

EXPECTED_CHAPTERS = CHAPTERS_IN_ORDER
# The editions: the folder each is built into, below the site's root.
EDITIONS = {"en": "", "zh_CN": "zh_CN/"}
# Pages Sphinx makes itself: checked like the chapters, but not chapters.
GENERATED = ["search", "genindex", "py-modindex"]
SEARCHES = [
    ("softmax", "softmax"),
    ("truncated", "rnn"),
    ("梯度", "zh_CN/gradcheck"),
    ("卷积", "zh_CN/conv"),
    ("截断", "zh_CN/rnn"),
]

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 1,
}
RAW_TEX = ["\\(", "\\begin{", "$$"]
MATH_ERRORS = "mjx-merror, .MathJax_Error, [data-mjx-error]"


# -- Which pages there are (read at collection, so failures name the page) -----------------


class _SidebarLinks(HTMLParser):
    """The hrefs of the links inside the primary sidebar's <nav class="bd-links ...">."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # >0 while inside the nav
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav" and ("bd-links" in (a.get("class") or "").split() or self.depth):
            self.depth += 1
        elif tag == "a" and self.depth and a.get("href"):
            self.hrefs.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1


def _chapters_on_disk(folder: str) -> list[str]:
    """One edition's chapters: its index.html's toctree plus every page that isn't Sphinx's."""
    root = SITE / folder
    if not (root / "index.html").is_file():
        return []
    others = {f.rstrip("/") for f in EDITIONS.values() if f and f != folder}
    names = {
        p.relative_to(root).with_suffix("").as_posix()
        for p in root.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(root).parts)
        and p.relative_to(root).parts[0] not in others
    }
    parser = _SidebarLinks()
    parser.feed((root / "index.html").read_text(encoding="utf-8"))
    for href in parser.hrefs:
        path = urlparse(href).path
        if path.endswith(".html") and (root / path).is_file():
            names.add(path.removesuffix(".html"))
    names -= set(GENERATED)
    order = {name: i for i, name in enumerate(EXPECTED_CHAPTERS)}
    return [folder + n for n in sorted(names, key=lambda n: (order.get(n, len(order)), n))]


def _edition(name: str) -> str:
    """The folder of the edition a page name belongs to ("" or "zh_CN/")."""
    return next((f for f in EDITIONS.values() if f and name.startswith(f)), "")


CHAPTERS = [c for folder in EDITIONS.values() for c in _chapters_on_disk(folder)]
PAGES = CHAPTERS + [
    folder + g
    for folder in EDITIONS.values()
    for g in GENERATED
    if (SITE / f"{folder}{g}.html").is_file()
]


# -- Fixtures ------------------------------------------------------------------------------


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (MATHGRAD_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        _unavailable(f"no built book in {SITE} (run `make html` first)")
    return SITE


@pytest.fixture(scope="session")
def base_url(site) -> str:
    """The site served over HTTP on 127.0.0.1, on a free port, for the whole session."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser(site):
    """One headless Debian Chromium for the session; never a downloaded browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (make .venv/.installed-browser)")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(site) -> Path:
    for folder in EDITIONS.values():
        (SCREENSHOTS / folder).mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class Visit:
    """A fresh context and page that record everything a reader would call broken."""

    def __init__(self, browser, base_url: str, skip_math: bool = False, **context_options):
        self.base_url = base_url
        self.skip_math = skip_math
        self.host = urlparse(base_url).netloc
        self.problems: list[str] = []
        self.context = browser.new_context(**context_options)
        self.context.set_default_timeout(20_000)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _route(self, route):
        url = route.request.url
        if self.skip_math and "/_static/mathjax/" in url:
            route.abort("blockedbyclient")  # not what this test looks at, and the slow part
        elif (
            urlparse(url).scheme in ("data", "blob", "about") or urlparse(url).netloc == self.host
        ):
            route.continue_()
        else:
            self.problems.append(f"request to another host: {url}")
            route.abort("blockedbyclient")

    def _console(self, msg):
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.problems.append(f"console error: {msg.text} ({where})")

    def _failed(self, request):
        if urlparse(request.url).netloc == self.host:  # other hosts are reported by _route
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def url(self, name: str) -> str:
        return urljoin(self.base_url, name)

    def open(self, path: str):
        response = self.page.goto(self.url(path), wait_until="load")
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        if not self.skip_math:
            self.wait_for_math()
            self.page.evaluate("document.fonts.ready.then(() => true)")
        return self.page

    def wait_for_math(self):
        """Wait until MathJax (where the page loads it) has typeset the whole page."""
        state = self.page.evaluate(
            """async () => {
                if (!document.querySelector('script[src*="mathjax"]')) return 'no mathjax';
                const t0 = Date.now();
                while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
                    if (Date.now() - t0 > 15000) return 'MathJax never started';
                    await new Promise(r => setTimeout(r, 50));
                }
                await MathJax.startup.promise;
                return 'typeset';
            }"""
        )
        if state not in ("typeset", "no mathjax"):
            self.problems.append(state)

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, base_url):
    """Open pages at desktop width; `visit.problems` lists what went wrong."""
    v = Visit(browser, base_url, **DESKTOP)
    yield v
    v.close()


@pytest.fixture
def phone_visit(browser, base_url):
    v = Visit(browser, base_url, **PHONE)
    yield v
    v.close()


@pytest.fixture(scope="session")
def sidebar_hrefs(browser, base_url) -> dict[str, set[str]]:
    """Per edition, the paths of the pages linked from the left navigation of its
    index.html, as rendered."""
    found = {}
    for folder in EDITIONS.values():
        if not (SITE / folder / "index.html").is_file():
            continue
        v = Visit(browser, base_url, **DESKTOP)
        try:
            page = v.open(f"{folder}index.html")
            hrefs = page.eval_on_selector_all("nav.bd-links a[href]", "as => as.map(a => a.href)")
            assert not v.problems, v.problems
        finally:
            v.close()
        ours = [h for h in hrefs if urlparse(h).netloc == v.host]
        found[folder] = {urlparse(h).path.lstrip("/") for h in ours}
    return found


# -- What the page shows -------------------------------------------------------------------

_TEXT_JS = """() => {
    // Visible prose, as body.innerText would show it, less code blocks (where TeX source
    // may be shown on purpose) and less MathJax's own output.
    const skip = 'pre, code, script, style, noscript, textarea, mjx-container';
    const parts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!el || el.closest(skip)) continue;
        if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden')
            continue;
        parts.push(n.nodeValue);
    }
    return parts.join('');
}"""

_IMAGES_JS = """async () => {
    const imgs = [...document.images];
    imgs.forEach(i => { i.loading = 'eager'; });
    await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
        i.addEventListener('load', r); i.addEventListener('error', r);
        setTimeout(r, 10000);
    })));
    return imgs.filter(i => !(i.complete && i.naturalWidth > 0))
               .map(i => i.getAttribute('src'));
}"""


def _page_problems(page) -> list[str]:
    problems = []
    text = page.evaluate(_TEXT_JS)
    for tex in RAW_TEX:
        i = text.find(tex)
        if i >= 0:
            near = " ".join(text[max(0, i - 60) : i + 60].split())
            problems.append(f"raw TeX {tex!r} in the text: ...{near}...")
    for node in page.eval_on_selector_all(MATH_ERRORS, "es => es.map(e => e.textContent)"):
        problems.append(f"MathJax error node: {node[:200]!r}")
    for src in page.evaluate(_IMAGES_JS):
        problems.append(f"image did not load: {src}")
    return problems


# Draws a Chinese character and a code point no font has (U+FFFF, drawn as the missing-glyph
# box) in the body's font; where no CJK font is installed, the two pictures are the same.
_CJK_GLYPH_JS = """() => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 64;
    const ctx = c.getContext('2d');
    const text = document.querySelector('article') || document.body;
    ctx.font = '40px ' + getComputedStyle(text).fontFamily;
    const draw = ch => { ctx.clearRect(0, 0, 64, 64); ctx.fillText(ch, 4, 48);
                         return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(','); };
    const missing = draw('\\uffff');
    return ['梯', '度', '卷', '积'].filter(ch => draw(ch) === missing);
}"""


def _normalize(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


# -- Tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", EDITIONS.values(), ids=EDITIONS.keys())
def test_every_expected_chapter_is_built(folder, site):
    missing = [c for c in EXPECTED_CHAPTERS if not (site / f"{folder}{c}.html").is_file()]
    assert not missing, f"chapters not built in {site / folder}: {missing}"


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_and_typesets(name, visit, screenshots):
    page = visit.open(f"{name}.html")
    problems = visit.problems + _page_problems(page)
    if name in CHAPTERS:
        page.screenshot(path=str(screenshots / f"{name}-desktop.png"), full_page=True)
    if _edition(name):
        lang = page.evaluate("document.documentElement.lang")
        if lang != "zh-CN":
            problems.append(f"<html lang={lang!r}>, expected 'zh-CN'")
        text = page.evaluate(_TEXT_JS)
        if len(re.findall(r"[\u4e00-\u9fff]", text)) < 20:
            problems.append("hardly any Chinese text on a page of the Chinese edition")
        tofu = page.evaluate(_CJK_GLYPH_JS)
        if tofu:
            problems.append(f"Chinese drawn as missing-glyph boxes ({tofu}): install a CJK font")
    assert not problems, f"{name}.html:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", CHAPTERS)
def test_page_on_a_phone(name, phone_visit, screenshots):
    page = phone_visit.open(f"{name}.html")
    page.screenshot(path=str(screenshots / f"{name}-phone.png"), full_page=True)
    problems = phone_visit.problems + _page_problems(page)
    # A mobile viewport widens itself to fit what overflows, so compare with the 390 px.
    width = page.evaluate("document.documentElement.scrollWidth")
    phone = PHONE["viewport"]["width"]
    if width > phone + 1:
        problems.append(f"the page scrolls sideways: {width}px wide on a {phone}px phone")
    assert not problems, f"{name}.html at 390px:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_in_the_sidebar(name, sidebar_hrefs):
    folder = _edition(name)
    hrefs = sidebar_hrefs[folder]
    if name == f"{folder}index":  # the home link: href="#" on index.html itself
        assert f"{folder}index.html" in hrefs or folder in hrefs, hrefs
    else:
        assert f"{name}.html" in hrefs, f"{name}.html not in {sorted(hrefs)}"


@pytest.mark.parametrize("name", PAGES)
def test_language_link_lands_on_the_same_page(name, browser, base_url):
    """The link in the page's header opens the same page in the other edition."""
    folder = _edition(name)
    other = next(f for f in EDITIONS.values() if f != folder)
    visit = Visit(browser, base_url, skip_math=True, **DESKTOP)
    try:
        page = visit.open(f"{name}.html")
        link = page.locator("a.mathgrad-language-link")
        assert link.count() == 1, f"{name}.html: {link.count()} language links"
        with page.expect_navigation():
            link.first.click()
        path = urlparse(page.url).path.lstrip("/")
        assert path == f"{other}{name.removeprefix(folder)}.html", (name, page.url)
        assert page.locator("a.mathgrad-language-link").count() == 1
    finally:
        visit.close()


@pytest.mark.parametrize(("query", "chapter"), SEARCHES)
def test_search_finds(query, chapter, visit):
    page = visit.open(f"{_edition(chapter)}search.html?q={query}")
    page.wait_for_function(  # the heading Sphinx writes when the search has finished
        """() => {
            const h = document.querySelector('#search-results h2');
            return h && ['Search Results', '搜索结果'].includes(h.textContent.trim());
        }""",
        timeout=15_000,
    )
    hrefs = page.eval_on_selector_all("#search-results li a[href]", "as => as.map(a => a.href)")
    assert hrefs, f"search for {query!r} found nothing"
    paths = {urlparse(h).path.lstrip("/") for h in hrefs}
    assert f"{chapter}.html" in paths, f"search for {query!r}: no {chapter}.html in {paths}"
    assert not visit.problems, visit.problems


@pytest.mark.parametrize("name", CHAPTERS)
def test_download_button_offers_the_source(name, browser, base_url):
    visit = Visit(browser, base_url, skip_math=True, **DESKTOP)
    try:
        _check_download(name, visit)
    finally:
        visit.close()


def _check_download(name, visit):
    # MathJax is blocked here (the page test covers it), so visit.problems isn't checked.
    folder = _edition(name)
    page = visit.open(f"{name}.html")
    page.click(".dropdown-download-buttons > button")
    link = page.locator(".dropdown-download-buttons a.btn-download-source-button")
    link.first.wait_for(state="visible", timeout=5_000)
    href = link.first.evaluate("a => a.href")
    path = urlparse(href).path.lstrip("/")
    base = name.removeprefix(folder)
    assert re.fullmatch(rf"{folder}_sources/{re.escape(base)}\.(md|ipynb)(\.txt)?", path), href
    response = page.request.get(href)
    assert response.ok, f"{href}: HTTP {response.status}"
    source = response.text()
    if folder:  # both editions come from one source: the Chinese edition offers the same
        english = page.request.get(visit.url(path.removeprefix(folder)))
        assert english.ok and english.text() == source, f"{path} differs from the English"
        return
    title = page.eval_on_selector("article h1, main h1", "h => h.textContent")
    title = title.replace("#", "").strip()
    assert _normalize(title) in _normalize(source), f"{path} lacks the title {title!r}"
    if page.locator("div.cell").count():  # executed code: must open as a notebook
        assert "jupytext:" in source and "kernelspec:" in source, f"{path}: no jupytext header"


# -- Accessibility ------------------------------------------------------------------------

# An alt text that is a file name or a hash (Sphinx's `_images/59b758d5....png`) tells a
# screen reader nothing.
_FILE_NAME_ALT = re.compile(r"\.(png|jpe?g|gif|svg|webp)\b|[0-9a-f]{16,}|^_images/", re.I)
_ALTS_JS = "() => [...document.images].map(i => [i.getAttribute('src'), i.getAttribute('alt')])"


@pytest.fixture(scope="session")
def axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        _unavailable("axe-playwright-python is not installed (make .venv/.installed-browser)")
    return Axe()


def _bad_alts(page) -> list[str]:
    problems = []
    for src, alt in page.evaluate(_ALTS_JS):
        if not (alt or "").strip():
            problems.append(f"image with no alt text: {src}")
        elif _FILE_NAME_ALT.search(alt):
            problems.append(f"image whose alt text is a file name: {src} (alt={alt!r})")
    return problems


@pytest.mark.parametrize("name", CHAPTERS)
def test_page_is_accessible(name, visit, axe):
    page = visit.open(f"{name}.html")
    violations = axe.run(page).response["violations"]
    problems, minor = _bad_alts(page), []
    for v in violations:
        where = "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        line = f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} at {where}"
        (problems if v["impact"] in ("serious", "critical") else minor).append(line)
    if minor:
        warnings.warn(f"{name}.html accessibility: " + " | ".join(minor), stacklevel=1)
    assert not problems, f"{name}.html:\n" + "\n".join(problems)


_MATH_FONTS_JS = """async () => {
    await document.fonts.ready;
    return [...document.fonts].filter(f => f.family.replace(/"/g, '').startsWith('MJX'))
                              .map(f => f.family.replace(/"/g, '') + ':' + f.status);
}"""


@pytest.mark.parametrize("name", ["softmax", "conv", "rnn"])
def test_math_renders_from_file_urls(name, browser, site):
    """Opened straight from disk (file://), the math still typesets with its own fonts."""
    v = Visit(browser, site.resolve().as_uri() + "/", **DESKTOP)
    try:
        v.page.goto(v.url(f"{name}.html"), wait_until="load")
        v.wait_for_math()
        fonts = v.page.evaluate(_MATH_FONTS_JS)
        problems = v.problems + _page_problems(v.page)
        assert not problems, problems
        assert v.page.locator("mjx-container").count() > 10
        # fonts no glyph on the page needs stay "unloaded"; none may fail, and the main
        # TeX font must have come from the vendored files
        assert "MJXTEX:loaded" in fonts and not [f for f in fonts if f.endswith(":error")], fonts
    finally:
        v.close()
