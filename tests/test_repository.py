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
    assert len(data["loops"]) >= 3 and {lp["dtype"] for lp in data["loops"]} == {"float32"}
    assert all(lp["grad_diff"] < 1e-5 for lp in data["loops"])
    assert data["process"]["wall_s"] > 0
