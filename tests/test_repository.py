"""The repository as a newcomer meets it: the README, the Makefile, the build's messages,
the benchmark script.

These tests run the real commands (the README's example, ``make`` with a fake or an old
``PYTHON``, a throwaway Sphinx book with a failing cell, the benchmark) in subprocesses,
in temporary folders, so nothing here touches the working tree's ``.venv`` or ``_build``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(cmd, cwd=ROOT, env=None, timeout=120):
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --------------------------------------------------------------------------- README


def readme() -> str:
    return (ROOT / "README.md").read_text()


def test_readme_example_runs(tmp_path):
    (code,) = re.findall(r"```python\n(.*?)```", readme(), re.S)
    script = tmp_path / "example.py"
    script.write_text(code)
    r = run([sys.executable, str(script)], cwd=tmp_path)  # outside the repository
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("passed")


def test_readme_says_how_to_run_the_example_and_install_the_package():
    text = readme()
    intro = text[text.index("## Checking a gradient") : text.index("```python")]
    assert ".venv/bin/python example.py" in intro
    assert "source .venv/bin/activate" in intro
    assert "ModuleNotFoundError" in intro
    assert "python3 -m pip install ." in intro


def test_readme_lists_the_prerequisites():
    text = readme()
    pre = text[text.index("## Prerequisites") : text.index("## The two commands")]
    for needed in ("Python 3.11", "python3-venv", "make", "PYTHON=python3.12"):
        assert needed in pre, needed


# --------------------------------------------------------------------------- make


def make_env() -> dict:
    """The environment without the outer make's flags (``make test`` runs these tests)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.fixture
def clone(tmp_path):
    """The files make reads, in a temporary folder (no .venv)."""
    for name in ("Makefile", "pyproject.toml", "requirements/docs.txt", "tools/venv.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def fake_python(folder: Path, version: str, has_venv: bool = True) -> Path:
    """A stand-in for PYTHON that reports ``version``; without venv/ensurepip if asked."""
    path = folder / f"fakepython{version}"
    no_venv = (
        'case "$2" in *ensurepip*) echo "No module named ensurepip" >&2; exit 1;; esac\n'
        if not has_venv
        else ""
    )
    path.write_text(f"#!/bin/sh\n{no_venv}echo {version}\n")
    path.chmod(0o755)
    return path


def test_make_refuses_an_old_python_in_one_line(clone):
    py = fake_python(clone, "3.10.13")
    r = run(["make", "test", f"PYTHON={py}"], cwd=clone, env=make_env())
    assert r.returncode != 0
    assert r.stdout.splitlines()[0] == (
        f"make: mathgrad needs Python 3.11 or newer, but {py} is Python 3.10.13; "
        "name a newer one, e.g. make test PYTHON=python3.12"
    )
    assert not (clone / ".venv").exists()


def test_make_names_the_missing_venv_module_and_leaves_no_venv(clone):
    py = fake_python(clone, "3.12.1", has_venv=False)
    r = run(["make", "html", f"PYTHON={py}"], cwd=clone, env=make_env())
    assert r.returncode != 0
    (line,) = [ln for ln in r.stdout.splitlines() if ln.startswith("make: ")]
    assert "has no venv/ensurepip module" in line and "sudo apt install python3-venv" in line
    assert "python3.12-venv" in line
    assert not (clone / ".venv").exists()


def test_make_replaces_a_half_made_venv(clone):
    """A .venv whose python has no pip (what a failed ``python3 -m venv`` left) is removed."""
    bindir = clone / ".venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n')
    (bindir / "python").chmod(0o755)
    assert run([str(bindir / "python"), "-c", "import pip"]).returncode != 0
    py = fake_python(clone, "3.12.1", has_venv=False)  # stop right after the check
    r = run(["make", "test", f"PYTHON={py}"], cwd=clone, env=make_env())
    lines = r.stdout.splitlines()
    assert lines[0] == (
        "make: .venv is incomplete (no pip in it: an earlier creation failed); "
        "removing it and making it again"
    )
    assert "no venv/ensurepip module" in lines[1]
    assert not (clone / ".venv").exists()


def test_make_keeps_a_working_venv_quietly(clone):
    venv = Path(sys.prefix)
    (clone / ".venv").symlink_to(venv)
    r = run(["sh", "tools/venv.sh", "python3", ".venv", "test"], cwd=clone, env=make_env())
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert (clone / ".venv").is_symlink()


def test_first_install_says_what_and_how_long(clone):
    r = run(["make", "-n", "html", "test"], cwd=clone, env=make_env())
    assert r.returncode == 0, r.stderr
    assert "installing mathgrad and the book's tools (Sphinx, MyST-NB" in r.stdout
    assert "about 2-4 minutes the" in r.stdout
    assert "installing mathgrad and its test tools (pytest" in r.stdout


def test_make_test_uses_every_core_and_lists_the_slowest(clone):
    r = run(["make", "-n", "test"], cwd=clone, env=make_env())
    (pytest_line,) = [ln for ln in r.stdout.splitlines() if " -m pytest " in ln]
    assert " -n auto " in pytest_line and " --durations=10 " in pytest_line
    r = run(["make", "-n", "test", "TESTJOBS=0"], cwd=clone, env=make_env())
    assert " -n 0 " in r.stdout


# --------------------------------------------------------------------------- benchmarks


def test_bench_is_split_into_cases_timing_report():
    bench = ROOT / "benchmarks"
    for name in ("cases.py", "timing.py", "machine.py", "report.py"):
        assert (bench / name).is_file(), name
    sizes = {p.name: len(p.read_text().splitlines()) for p in bench.glob("*.py")}
    assert sizes["bench.py"] < 250, sizes  # the CLI only; it was 952 lines
    assert "def prep_conv" in (bench / "cases.py").read_text()
    assert "def measure_many" in (bench / "timing.py").read_text()


def test_bench_rounds_merge_into_medians_and_a_range(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from cases import CASES
    from report import ratio, ratio_range, round_geomeans
    from timing import Result, merge_rounds

    def result(mg, torch, faults):
        return Result(CASES[0], "float64", mg=mg, torch=torch, mg_faults=faults, torch_faults=0)

    merged = merge_rounds([result(2.0, 1.0, 10), result(3.0, 1.0, 20), result(1.0, 4.0, 30)])
    assert merged.mg == 2.0 and merged.torch == 1.0 and merged.mg_faults == 20
    assert merged.round_ratios == [2.0, 3.0, 0.25]
    assert ratio(merged) == 2.0 and ratio_range(merged) == (0.25, 3.0)
    other = merge_rounds([result(1.0, 1.0, 0), result(1.0, 4.0, 0), result(4.0, 1.0, 0)])
    assert round_geomeans([merged, other]) == pytest.approx([2**0.5, 3**0.5 / 2, 1.0])
    no_torch = merge_rounds([result(1.0, None, 0), result(1.0, None, 0)])
    assert no_torch.round_ratios == [] and ratio(no_torch) is None


def test_bench_json_has_results_and_machine_facts(tmp_path):
    out = tmp_path / "run.json"
    cmd = [sys.executable, "benchmarks/bench.py", "--quick", "--no-torch", "--dtype", "float32"]
    r = run([*cmd, "--case", "pool2", "--rounds", "2", "--json", str(out)])
    assert r.returncode == 0, r.stderr
    assert "1. forward+backward" in r.stdout and f"results written to {out}" in r.stdout
    data = json.loads(out.read_text())
    m = data["machine"]
    assert m["numpy"] == __import__("numpy").__version__
    assert m["cpu_model"] and m["logical_cpus"] >= 1
    assert m["blas"] and {"name", "kernel", "threads"} <= set(m["blas"][0])
    assert m["thread_env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert m["torch"]["status"].startswith("disabled")
    assert data["settings"]["dtypes"] == ["float32"] and data["settings"]["cases"] == ["pool2"]
    assert data["settings"]["rounds"] == 2
    (case,) = data["cases"]
    assert case["key"] == "pool2" and case["dtype"] == "float32"
    assert case["grad_dtype"] == "float32"
    assert 0 < case["mathgrad_s"] < 10 and case["torch_s"] is None and case["ratio"] is None
    assert case["ratio_rounds"] == []  # no torch, no ratio in any round
    assert case["mathgrad_faults_per_call"] >= 0 and case["torch_faults_per_call"] is None
    assert len(data["loops"]) >= 3 and {lp["dtype"] for lp in data["loops"]} == {"float32"}
    assert all(lp["grad_diff"] < 1e-5 for lp in data["loops"])
    assert data["process"]["wall_s"] > 0


# --------------------------------------------------------------------------- the build's messages

_HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---

"""
_FAILING_PAGE = (
    _HEADER
    + """\
# A page with a failing cell

```{toctree}
ok
```

```{code-cell} ipython3
from myst_nb import glue

glue("a", 1, display=False)
```

```{code-cell} ipython3
y = 2
z = y / 0
glue("z", z, display=False)
```

The first number is {glue:text}`a` and the lost ones {glue:text}`z` and {glue:text}`z:.2f`.
"""
)
_PASSING_PAGE = (
    _HEADER
    + """\
# A page that runs

```{code-cell} ipython3
print("fine")
```

A number nobody glued: {glue:text}`never_glued`.
"""
)


def test_failing_cell_is_reported_by_page_line_and_exception(tmp_path):
    """A throwaway book with the project's conf.py: one page fails at its line 25, one runs.

    The first warning names docs/index.md:25, the exception and the report; nothing of the
    kernels' TCP warning, no colour codes, no follow-on glue warnings of the failed page (but
    the glue warning of the page that ran still shows).
    """
    try:
        import myst_nb  # noqa: F401
    except ImportError:
        if os.environ.get("MATHGRAD_REQUIRE_BOOK") == "1":
            raise
        pytest.skip("the book's tools are not installed (make html installs them)")
    docs = tmp_path / "docs"
    shutil.copy(ROOT / "conf.py", tmp_path / "conf.py")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "_ext", tmp_path / "_ext", ignore=ignore)  # conf.py's extensions
    for item in (ROOT / "docs").iterdir():  # everything but the pages: _static, .bib
        if item.suffix in (".md", ".ipynb"):
            continue
        if item.is_dir():
            shutil.copytree(item, docs / item.name, ignore=ignore)
        else:
            docs.mkdir(exist_ok=True)
            shutil.copy(item, docs / item.name)
    (docs / "index.md").write_text(_FAILING_PAGE)
    (docs / "ok.md").write_text(_PASSING_PAGE)
    assert (docs / "index.md").read_text().splitlines()[24] == "z = y / 0"

    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", ".", "docs", "_build/html"]
    # As a reader's build writes to a pipe or a log file. Sphinx colours its own warnings
    # on purpose when CI=true or FORCE_COLOR is set (CI logs render colour), so those are
    # left out here; the saved report below must be plain in every case.
    plain = {k: v for k, v in os.environ.items() if k not in ("CI", "FORCE_COLOR", "FORCE_COLOUR")}
    r = run(
        [*cmd, "-d", "_build/doctrees", "-W", "--keep-going", "-n", "-q"], cwd=tmp_path, env=plain
    )
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert "without encryption" not in out and "IPKernelApp" not in out
    assert "\x1b[" not in out
    # libzmq in a kernel being shut down sometimes aborts with this one line on stderr (seen
    # once in four CI runs); it is a third-party race, not a message of this build, and is
    # the only line left out here.
    zmq_abort = re.compile(r"^Assertion failed: .* \(src/signaler\.cpp:\d+\)$")
    first = [ln for ln in r.stderr.splitlines() if not zmq_abort.match(ln)][:3]
    assert first[0].endswith(
        "docs/index.md:25: WARNING: code cell failed: ZeroDivisionError: division by zero"
    ), first
    assert "line 2 of a cell whose code starts at line 24" in first[1]
    assert "_build/html/reports/index.err.log" in first[2]
    assert "Traceback" not in r.stderr and "nbclient" not in r.stderr
    no_key = [ln for ln in r.stderr.splitlines() if "No key" in ln]
    assert len(no_key) == 1 and "ok.md" in no_key[0] and "never_glued" in no_key[0]

    report = (tmp_path / "_build/html/reports/index.err.log").read_text()
    assert "\x1b[" not in report
    assert report.startswith("docs/index.md:25: ZeroDivisionError: division by zero\n")
    assert "----> 2 z = y / 0" in report
