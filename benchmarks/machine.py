"""Facts about the machine a benchmark ran on: CPU, BLAS (kernel and threads), versions.

:func:`machine_facts` returns them as a plain dict (written by ``--json`` and printed at the
top of the text report), so two runs can be compared knowing what differed. The BLAS thread
count is read from the running library: through ``threadpoolctl`` when it is installed, else
from OpenBLAS itself via ``ctypes``.
"""

import ctypes
import os
import platform

import numpy as np

import mathgrad as mgd

try:  # optional: confirms (and enforces) the BLAS thread count
    import threadpoolctl
except ImportError:
    threadpoolctl = None

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _openblas_call(lib, names, restype):
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            return fn()
    return None


def openblas_via_ctypes() -> dict | None:
    """Config string, kernel and thread count of the OpenBLAS NumPy loaded, read from it."""
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                if "openblas" in path.lower() and (".so" in path or path.endswith(".dylib")):
                    libs.add(path)
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue

        def names(what):
            return [
                f"{prefix}_{what}{suffix}"
                for prefix in ("scipy_openblas", "openblas")
                for suffix in ("64_", "_64_", "")
            ]

        threads = _openblas_call(lib, names("get_num_threads"), ctypes.c_int)
        config = _openblas_call(lib, names("get_config"), ctypes.c_char_p)
        kernel = _openblas_call(lib, names("get_corename"), ctypes.c_char_p)
        if threads is not None or config is not None:
            return {
                "name": "openblas",
                "version": None,
                "kernel": kernel.decode(errors="replace") if kernel else None,
                "threads": threads,
                "config": config.decode(errors="replace").strip() if config else None,
                "library": os.path.basename(path),
                "source": "ctypes (threadpoolctl not installed)",
            }
    return None


def blas_info() -> list[dict]:
    """One dict per BLAS library loaded: name, version, kernel, threads, library, source."""
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(1)
        return [
            {
                "name": info.get("internal_api"),
                "version": info.get("version"),
                "kernel": info.get("architecture"),
                "threads": info.get("num_threads"),
                "config": None,
                "library": os.path.basename(info.get("filepath", "")),
                "source": "threadpoolctl",
            }
            for info in threadpoolctl.threadpool_info()
        ]
    runtime = openblas_via_ctypes()
    build = None
    try:
        build = np.__config__.CONFIG["Build Dependencies"]["blas"]
    except (AttributeError, KeyError, TypeError):
        pass
    if runtime is None:
        return [
            {
                "name": build.get("name") if build else None,
                "version": build.get("version") if build else None,
                "kernel": None,
                "threads": None,
                "config": None,
                "library": None,
                "source": "numpy build config (runtime thread count unknown)",
            }
        ]
    if build:
        runtime["version"] = build.get("version")
    return [runtime]


def blas_lines(infos: list[dict]) -> list[str]:
    """The BLAS facts as text lines for the report."""
    return [
        f"{b['name']} {b['version'] or ''} (kernel {b['kernel'] or '?'}), "
        f"threads = {b['threads'] if b['threads'] is not None else '?'} "
        f"[{b['source']}{', ' + b['library'] if b['library'] else ''}]"
        for b in infos
    ]


def load_torch(enabled: bool):
    """``(torch module or None, facts)``; torch is set to one intra-op and interop thread."""
    if not enabled:
        return None, {"status": "disabled (--no-torch)"}
    try:
        import torch
        import torch.nn.functional  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any failure means "no comparison"
        return None, {"status": f"not available ({type(exc).__name__}: {exc})"}
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    return torch, {
        "status": "loaded",
        "version": torch.__version__,
        "intra_op_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
    }


def torch_line(facts: dict) -> str:
    if facts["status"] != "loaded":
        return facts["status"]
    return (
        f"{facts['version']}, intra-op threads = {facts['intra_op_threads']}, "
        f"interop threads = {facts['interop_threads']}"
    )


def machine_facts(torch_facts: dict) -> dict:
    """Everything about the machine and the software that a timing depends on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "arch": platform.machine(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "thread_env": {v: os.environ.get(v) for v in THREAD_VARS},
        "torch": torch_facts,
        "mathgrad": mgd.__version__,
        "mathgrad_names": len(mgd.__all__),
    }
