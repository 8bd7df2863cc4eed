"""The repository as a newcomer meets it: the README, the Makefile, the build's messages,
the benchmark script.

These tests run the real commands (the README's example, ``make`` with a fake or an old
``PYTHON``, a throwaway Sphinx book with a failing cell, the benchmark) in subprocesses,
in temporary folders, so nothing here touches the working tree's ``.venv`` or ``_build``.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd, cwd=ROOT, env=None, timeout=120):
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --------------------------------------------------------------------------- benchmarks


def test_bench_is_split_into_cases_timing_report():
    bench = ROOT / "benchmarks"
    for name in ("cases.py", "timing.py", "machine.py", "report.py"):
        assert (bench / name).is_file(), name
    sizes = {p.name: len(p.read_text().splitlines()) for p in bench.glob("*.py")}
    assert sizes["bench.py"] < 250, sizes  # the CLI only; it was 952 lines
    assert "def prep_conv" in (bench / "cases.py").read_text()
    assert "def measure_many" in (bench / "timing.py").read_text()


def test_bench_json_has_results_and_machine_facts(tmp_path):
    out = tmp_path / "run.json"
    cmd = [sys.executable, "benchmarks/bench.py", "--quick", "--no-torch", "--dtype", "float32"]
    r = run([*cmd, "--case", "pool2", "--json", str(out)])
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
    (case,) = data["cases"]
    assert case["key"] == "pool2" and case["dtype"] == "float32"
    assert case["grad_dtype"] == "float32"
    assert 0 < case["mathgrad_s"] < 10 and case["torch_s"] is None and case["ratio"] is None
    assert [lp["dtype"] for lp in data["loops"]] == ["float32"] * 3
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
    import shutil

    docs = tmp_path / "docs"
    shutil.copy(ROOT / "conf.py", tmp_path / "conf.py")
    for item in (ROOT / "docs").iterdir():  # everything but the pages: _ext, _static, .bib
        if item.suffix in (".md", ".ipynb"):
            continue
        if item.is_dir():
            shutil.copytree(item, docs / item.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            docs.mkdir(exist_ok=True)
            shutil.copy(item, docs / item.name)
    (docs / "index.md").write_text(_FAILING_PAGE)
    (docs / "ok.md").write_text(_PASSING_PAGE)
    assert (docs / "index.md").read_text().splitlines()[24] == "z = y / 0"

    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", ".", "docs", "_build/html"]
    r = run([*cmd, "-d", "_build/doctrees", "-W", "--keep-going", "-n", "-q"], cwd=tmp_path)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert "without encryption" not in out and "IPKernelApp" not in out
    assert "\x1b[" not in out
    first = r.stderr.splitlines()[:3]
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
