"""The repository's metadata agrees with itself: one version, one licence, pinned docs."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import mathgrad

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_is_written_once_and_read_everywhere():
    version = mathgrad.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", version)
    # The distribution reads it from the package (no second copy in pyproject.toml).
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "mathgrad.__version__"}
    assert importlib.metadata.version("mathgrad") == version, "reinstall: pip install -e ."
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(rf'^version: "?{re.escape(version)}"?$', cff, re.M), "CITATION.cff"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = re.search(r"^## \[?(\d[^\]\s]*)", changelog, re.M)
    assert newest and newest.group(1) == version, "CHANGELOG.md's newest entry"


def test_licence_is_mit_in_spdx_form_with_its_file():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert re.search(r"^license: MIT$", (ROOT / "CITATION.cff").read_text("utf-8"), re.M)
    requires = PYPROJECT["build-system"]["requires"]
    setuptools = next(r for r in requires if r.startswith("setuptools"))
    assert int(re.search(r">=(\d+)", setuptools).group(1)) >= 77  # PEP 639 support


def test_every_docs_dependency_is_pinned_in_the_lock():
    lock = (ROOT / "requirements" / "docs.txt").read_text(encoding="utf-8")
    assert "make lock" in lock.splitlines()[1], "the refresh command heads the lock file"
    pinned = {
        re.sub(r"[-_.]+", "-", m.group(1).lower())
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)
    }
    wanted = PYPROJECT["project"]["optional-dependencies"]["docs"] + ["numpy"]
    names = {
        re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower()) for r in wanted
    }
    assert names <= pinned, f"not pinned: {sorted(names - pinned)}"


def test_project_urls_point_at_the_repository_and_the_book():
    urls = PYPROJECT["project"]["urls"]
    assert {"Documentation", "Source", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
