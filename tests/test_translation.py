"""The Chinese edition's catalogues: complete, current and faithful to what they carry.

Every page of docs/ has ``locales/zh_CN/LC_MESSAGES/<page>.po``; every entry in it is
translated (no empty, fuzzy or obsolete entry), and a translation keeps what the build
would otherwise lose silently: inline math, code, roles (a ``{glue:text}`` carries an
executed number), link targets, the numbers in the prose, a heading's escaped number
and the glossary's terms. Display math never reaches a catalogue (``_ext/mathgrad_i18n.py``
keeps it out: a translated math entry rendered as ``\\[::\\]`` with no warning).

After an English edit the catalogues are stale until ``make gettext`` and a translation
carry the change over: once the book is built, the English of every page (read from its
doctree, as the gettext builder reads it) must be in its catalogue; the strict Chinese
build fails on the same condition ("not translated in locales/zh_CN/...").
"""

from __future__ import annotations

import os
import pickle
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

pofile = pytest.importorskip("babel.messages.pofile")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LOCALE = ROOT / "locales" / "zh_CN" / "LC_MESSAGES"
PAGES = sorted(p.stem for p in DOCS.glob("*.md"))

ROLE = re.compile(r"(?<![A-Za-z0-9_{])\{([\w:.-]+)\}`([^`]*)`")
# The API reference's docstrings use reStructuredText roles (:func:`x`); Sphinx parses a
# translation with the page's parser, MyST, so their translations write {func}`x`.
RST_ROLE = re.compile(r"(?<![\w`]):(\w+(?::\w+)?):`")
DOUBLE_CODE = re.compile(r"``(.+?)``")
CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
MATH = re.compile(r"(?<![\\$])\$([^$]+)\$")
LINK = re.compile(r"\]\(([^)\s]+)\)")
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*")
CJK = re.compile(r"[\u4e00-\u9fff]")


def load(page: str):
    with open(LOCALE / f"{page}.po", "rb") as f:
        return pofile.read_po(f, abort_invalid=True)


def messages(page: str):
    return [m for m in load(page) if m.id]


def role_keys(text: str) -> Counter:
    """(role, target) pairs: a role's title may be translated, its target may not."""
    keys = Counter()
    for name, content in ROLE.findall(text):
        target = re.search(r"<([^<>]+)>\s*$", content)
        keys[name, target.group(1) if target else content] += 1
    return keys


# a numpydoc field of the API reference: "**name** (*type*) -- ..."
FIELD = re.compile(r"\*\*[A-Za-z_][\w.]*\*\*(\s*\(\*[^)]*\*\))?(?=\s*(--|$))")


def strip_markup(text: str) -> str:
    """The prose of an entry: roles, code, math, link targets and field names removed."""
    text = FIELD.sub(" ", text)
    text = ROLE.sub(" ", text)
    text = DOUBLE_CODE.sub(" ", text)
    text = CODE.sub(" ", text)
    text = MATH.sub(" ", text)
    return LINK.sub("] ", text)


def glossary() -> list[tuple[str, str]]:
    """(English term, Chinese term) for the glossary rows marked "enforced"."""
    rows = []
    for line in (DOCS / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2] == "yes":
            english = re.sub(r"\s*\([^)]*\)", "", cells[0]).strip()
            rows.append((english, cells[1]))
    return rows


def problems(msgid: str, msgstr: str, terms) -> list[str]:
    found = []
    msgid = RST_ROLE.sub(r"{\1}`", msgid)
    if RST_ROLE.search(msgstr):
        found.append("a reStructuredText role: MyST reads translations, write {func}`x`")
    for what, pattern in (("inline math", MATH), ("code", DOUBLE_CODE), ("link", LINK)):
        if Counter(pattern.findall(msgid)) != Counter(pattern.findall(msgstr)):
            found.append(f"its {what} differs from the English")
    bare = lambda s: CODE.findall(DOUBLE_CODE.sub(" ", ROLE.sub(" ", s)))  # noqa: E731
    if Counter(bare(msgid)) != Counter(bare(msgstr)):
        found.append("its `code` differs from the English")
    if role_keys(msgid) != role_keys(msgstr):
        found.append("its roles or their targets differ from the English")
    missing = Counter(NUMBER.findall(strip_markup(msgid))) - Counter(
        NUMBER.findall(strip_markup(msgstr))
    )
    if missing:
        found.append(f"numbers of the English are missing: {sorted(missing)}")
    if re.match(r"\d+\. ", msgid) and not re.match(r"\d+\\\. ", msgstr):
        found.append("a heading's number must be escaped (`1\\. ...`), or it becomes a list")
    for marker in (r"\d+\. ", r"[-*+] ", r"#+ "):
        if re.match(marker, msgstr) and not re.match(marker, msgid):
            found.append("it starts with a list or heading marker the English lacks")
    if msgid.count("**") % 2 == 0 and msgstr.count("**") % 2:
        found.append("unbalanced ** in the translation")
    prose = strip_markup(msgid)
    # longest terms first, each removed once checked: "bias correction" is not a "bias"
    for english, chinese in sorted(terms, key=lambda t: -len(t[0])):
        # the term as a word of its own, not part of a compound ("bias-corrected")
        word = re.compile(rf"(?<!-)\b{re.escape(english)}(s|es)?\b(?!-)", re.IGNORECASE)
        if word.search(prose):
            if chinese.lower() not in msgstr.lower():
                found.append(f"the glossary's {chinese!r} for {english!r} is missing")
            prose = word.sub(" ", prose)
    if msgid != msgstr and CJK.search(msgid) is None and CJK.search(msgstr) is None:
        if re.search(r"[A-Za-z]{4,}", prose) and len(prose.split()) > 6:
            found.append("the translation has no Chinese in it")
    return found


def test_every_page_has_a_catalogue():
    missing = [p for p in PAGES if not (LOCALE / f"{p}.po").is_file()]
    assert not missing, f"no catalogue for {missing}: run `make gettext` and translate them"
    extra = sorted({p.stem for p in LOCALE.glob("*.po")} - set(PAGES))
    assert not extra, f"catalogues of pages that no longer exist: {extra}"


@pytest.mark.parametrize("page", PAGES)
def test_catalogue_is_complete(page):
    catalog = load(page)
    assert not catalog.obsolete, (
        f"{page}.po has {len(catalog.obsolete)} obsolete entries (#~): English that changed or "
        f"went; carry their translation over to the new entries, then delete them"
    )
    empty = [m.id[:60] for m in messages(page) if not m.string]
    fuzzy = [m.id[:60] for m in messages(page) if m.fuzzy]
    assert not empty, f"{page}.po: {len(empty)} entries not translated, first: {empty[:3]}"
    assert not fuzzy, f"{page}.po: {len(fuzzy)} fuzzy entries (English changed): {fuzzy[:3]}"


@pytest.mark.parametrize("page", PAGES)
def test_translations_keep_what_they_carry(page):
    terms = glossary()
    bad = []
    for m in messages(page):
        if m.string:
            bad += [f"{m.id[:70]!r}: {p}" for p in problems(m.id, m.string, terms)]
    assert not bad, f"{page}.po, {len(bad)} problems:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", PAGES)
def test_display_math_is_not_in_the_catalogue(page):
    """A display-math entry looks like LaTeX outside any $...$: commands, no prose."""
    math = [
        m.id[:60]
        for m in messages(page)
        if re.search(r"\\[a-zA-Z]+", strip_markup(m.id))
        and not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,} [A-Za-z]{3,}", strip_markup(m.id))
    ]
    assert not math, f"{page}.po holds display math (leave it untranslated): {math[:3]}"


DOCTREES = ROOT / "_build" / "doctrees"


@pytest.mark.parametrize("page", PAGES)
def test_catalogue_holds_the_current_english(page):
    """Every message of the page as last built is in its catalogue (else: make gettext)."""
    doctree = DOCTREES / f"{page}.doctree"
    if not doctree.is_file():
        if os.environ.get("MATHGRAD_REQUIRE_BOOK") == "1":
            pytest.fail(f"no doctree of {page}: run `make html` first", pytrace=False)
        pytest.skip("the book is not built (make html)")
    if str(ROOT / "_ext") not in sys.path:  # doctrees refer to the book's extensions
        sys.path.insert(0, str(ROOT / "_ext"))
    i18n = pytest.importorskip("mathgrad_i18n")  # the Chinese build's own check
    with open(doctree, "rb") as f:
        tree = pickle.load(f)
    ids = {m.id for m in messages(page)}
    stale = [msg[:70] for _, msg in i18n.untranslated(tree, ids.__contains__)]
    assert not stale, (
        f"{page}: {len(stale)} messages of the English are not in {page}.po (run `make "
        f"gettext`, then translate the new and fuzzy entries): {stale[:3]}"
    )


def test_glossary_terms_are_unique():
    rows = glossary()
    english = Counter(e.lower() for e, _ in rows)
    assert all(n == 1 for n in english.values()), english.most_common(3)
    assert len(rows) > 40


@pytest.mark.parametrize(
    ("msgid", "msgstr", "expected"),
    [
        ("The loss is {glue:text}`x:.2f`.", "损失为 。", "roles"),
        ("See {doc}`notation`.", "见 {doc}`记号 <notation>`。", None),
        ("See {doc}`notation`.", "见 {doc}`记号 <rnn>`。", "roles"),
        ("1. Two classes", "1. 两个类别", "escaped"),
        ("1. Two classes", "1\\. 两个类别", None),
        ("It costs $O(n)$ in `np.dot`.", "它在 `np.dot` 中耗时 $O(n^2)$。", "inline math"),
        ("A gradient of 3 terms.", "有 4 项的梯度。", "numbers"),
        ("The gradient is zero.", "导数为零。", "梯度"),
        ("Adam's bias correction.", "Adam 的偏差修正。", None),
        ("Adam's bias correction.", "Adam 的偏置修正。", "偏差修正"),
        ("The softmax is **smooth** here.", "这里 softmax 是**光滑的。", "**"),
        ("From :func:`f_forward`.", "来自 :func:`f_forward`。", "reStructuredText"),
        ("From :func:`f_forward`.", "来自 {func}`f_forward`。", None),
        ("Shape ``h_{t-1}`` then {eq}`e`.", "形状 ``h_{t-1}``，然后 {eq}`e`。", None),
    ],
)
def test_the_checks_catch_what_they_should(msgid, msgstr, expected):
    found = problems(msgid, msgstr, glossary())
    if expected is None:
        assert not found, found
    else:
        assert any(expected in p for p in found), found
