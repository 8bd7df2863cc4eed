"""How the benchmark times: interleaved medians, the GEMM reference, memory peaks.

:func:`measure_many` samples several functions round-robin (so a change in machine load hits
them alike); :func:`run_case` times one case of ``cases.py`` (mathgrad, each PyTorch
variant and, for GEMM-bound cases, a 512x512x512 ``np.matmul``) and returns a
:class:`Result`; :func:`run_loop_case` times a loop oracle against its vectorised op;
:func:`gemm_shares` turns a result's FLOPs into shares of the matrix-multiply rate.
Nothing here prints (that is ``report.py``).
"""

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from cases import Case, LoopCase

try:
    import resource
except ImportError:  # Windows: no getrusage, no page-fault counts
    resource = None


def minor_faults() -> int | None:
    """Minor page faults of this process so far (pages the kernel mapped in on first
    touch), or None where ``getrusage`` is missing."""
    return None if resource is None else resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@dataclass
class Timing:
    median: float  # seconds per call
    samples: int
    inner: int  # calls per sample
    faults: float | None = None  # minor page faults per call, averaged over every sample


def measure_many(
    fns: dict[str, Callable[[], object]], min_samples: int, min_total: float
) -> dict[str, Timing]:
    """Median seconds per call of each function, sampled round-robin after a warm-up.

    Interleaving the samples (one of ``a``, one of ``b``, one of ``a``, ...) makes a change
    in machine load during the measurement hit every function alike, so ratios between them
    stay fair. Each sample runs a function ``inner`` times, ``inner`` chosen so a sample
    lasts at least ~1 ms (so microsecond GEMMs are not dominated by the clock). Sampling
    goes on until every function has ``min_samples`` samples and about ``min_total``
    seconds each.
    """
    inner = {}
    for name, fn in fns.items():
        fn()  # warm-up: first-call allocations, lazy initialisation, caches
        t0 = time.perf_counter()
        fn()
        est = max(time.perf_counter() - t0, 1e-7)
        inner[name] = max(1, int(1e-3 / est))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    faults: dict[str, int] = dict.fromkeys(fns, 0)
    gc.collect()
    start = time.perf_counter()
    rounds = 0
    while rounds < min_samples or (
        time.perf_counter() - start < min_total * len(fns) and rounds < 2000
    ):
        for name, fn in fns.items():
            k = inner[name]
            f0 = minor_faults()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
            if f0 is not None:
                faults[name] += minor_faults() - f0
        rounds += 1
    return {
        name: Timing(
            statistics.median(s),
            len(s),
            inner[name],
            None if resource is None else faults[name] / (len(s) * inner[name]),
        )
        for name, s in samples.items()
    }


def measure(fn: Callable[[], object], min_samples: int, min_total: float) -> Timing:
    """Median seconds per call of ``fn`` after a warm-up (see :func:`measure_many`)."""
    return measure_many({"fn": fn}, min_samples, min_total)["fn"]


def traced_peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (as tracemalloc sees them, NumPy buffers included) by ``fn``."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return peak - base


def max_rel_diff(a_list, b_list) -> float:
    """max |a - b| / max(|a| + |b|) over each gradient pair, the worst pair."""
    worst = 0.0
    for a, b in zip(a_list, b_list, strict=True):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b.detach().numpy() if hasattr(b, "detach") else b, dtype=np.float64)
        if a.shape != b.shape:
            return float("inf")
        den = float(np.max(np.abs(a) + np.abs(b))) if a.size else 0.0
        if den > 0:
            worst = max(worst, float(np.max(np.abs(a - b))) / den)
    return worst


def gemm_fn(dtype, M, K, N, rng) -> Callable[[], object]:
    """One ``np.matmul`` of contiguous (M, K) @ (K, N) arrays into a preallocated output."""
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    c = np.empty((M, N), dtype=dtype)
    return lambda: np.matmul(a, b, out=c)


def gemm_rate(dtype, M, K, N, rng, min_samples, min_total) -> float:
    """GFLOP/s of ``np.matmul`` for an (M, K) @ (K, N) product of contiguous arrays."""
    t = measure(gemm_fn(dtype, M, K, N, rng), min_samples, min_total).median
    return 2.0 * M * K * N / t / 1e9


def gemm_relative_rate(dtype, M, K, N, ref, rng, min_samples, min_total) -> float:
    """``np.matmul``'s rate on (M, K) @ (K, N) as a fraction of its 512^3 rate ``ref``,
    the two sampled interleaved (so the fraction does not depend on the machine's load)."""
    ts = measure_many({"shape": gemm_fn(dtype, M, K, N, rng), "ref": ref}, min_samples, min_total)
    return (2.0 * M * K * N / ts["shape"].median) / (2.0 * 512**3 / ts["ref"].median)


@dataclass
class Result:
    case: Case
    dtype: str
    mg: float | None = None
    torch: float | None = None
    torch_impl: str = ""
    diff: float | None = None
    flops: float | None = None
    gemms: list = field(default_factory=list)
    note: str = ""
    peak: int | None = None
    gemm512: float | None = None  # np.matmul 512^3 GFLOP/s measured right after this case
    out_dtype: str = ""
    mg_faults: float | None = None  # minor page faults per call, mathgrad
    torch_faults: float | None = None  # the same for the fastest PyTorch variant
    round_ratios: list[float] = field(default_factory=list)  # mathgrad/torch in each round


def merge_rounds(results: list[Result]) -> Result:
    """One case's results from several rounds as one: the median of each time, of the
    512^3 rate and of the mathgrad/torch ratios (each round's ratio comes from samples
    interleaved within that round), the mean page faults; the rest from the first round.
    With one round, that round's result with its one ratio."""
    first = results[0]
    merged = Result(
        first.case,
        first.dtype,
        torch_impl=first.torch_impl,
        diff=first.diff,
        flops=first.flops,
        gemms=first.gemms,
        note=first.note,
        out_dtype=first.out_dtype,
    )

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if len(values) == len(results) else None

    merged.mg = med([r.mg for r in results])
    merged.torch = med([r.torch for r in results])
    merged.gemm512 = med([r.gemm512 for r in results])
    for name in ("mg_faults", "torch_faults"):
        values = [getattr(r, name) for r in results]
        if None not in values:
            setattr(merged, name, statistics.fmean(values))
    if merged.mg is not None and merged.torch is not None:
        merged.round_ratios = [r.mg / r.torch for r in results]
    return merged


def run_case(case: Case, dtype, torch, reps, min_total, seed, gemm_ref) -> Result:
    """Time one case: mathgrad, each torch variant and (GEMM-bound cases) the 512^3 GEMM
    reference, interleaved."""
    res = Result(case, np.dtype(dtype).name)
    rng = np.random.default_rng(seed)

    def note(text):
        res.note = f"{res.note}; {text}" if res.note else text

    try:
        prep = case.prep(dtype, rng, torch)
    except Exception as exc:  # noqa: BLE001 - report, keep going
        res.note = f"setup failed: {type(exc).__name__}: {exc}"
        return res
    res.note = prep.note
    res.flops, res.gemms = prep.flops, prep.gemms
    try:
        grads = prep.mg()
    except Exception as exc:  # noqa: BLE001
        res.note = f"mathgrad failed: {type(exc).__name__}: {exc}"
        return res
    res.out_dtype = ",".join(sorted({np.asarray(g).dtype.name for g in grads}))
    if res.out_dtype != res.dtype:
        note(f"grads are {res.out_dtype}")
    fns = {"mathgrad": prep.mg}
    torch_out = {}
    for impl, fn in prep.torch_fns.items():
        try:
            torch_out[impl] = fn()
        except Exception as exc:  # noqa: BLE001
            note(f"torch {impl} failed: {type(exc).__name__}: {exc}")
            continue
        fns[f"torch:{impl}"] = fn
    if case.gemm_bound:
        fns["gemm512"] = gemm_ref
    timings = measure_many(fns, reps, min_total)
    res.mg = timings["mathgrad"].median
    res.mg_faults = timings["mathgrad"].faults
    if case.gemm_bound:
        res.gemm512 = 2.0 * 512**3 / timings["gemm512"].median / 1e9
    best = None
    for impl in torch_out:
        t = timings[f"torch:{impl}"].median
        if len(torch_out) > 1:
            note(f"torch {impl} {t * 1e3:.2f} ms")
        if best is None or t < best[0]:
            best = (t, impl)
    if best is not None:
        res.torch, res.torch_impl = best
        res.torch_faults = timings[f"torch:{best[1]}"].faults
        try:
            res.diff = max_rel_diff(grads, torch_out[best[1]])
        except Exception as exc:  # noqa: BLE001
            note(f"diff failed: {exc}")
    return res


def gemm_shares(res: Result, gemm512: float, shape_rates: dict[tuple, float]) -> dict | None:
    """The op's GEMM rate and its share of ``np.matmul``'s rate, for a GEMM-bound result.

    ``op_gflops`` is the op's GEMM FLOPs over its median time; ``gemm512_gflops`` the 512^3
    product's rate measured interleaved with the case (else ``gemm512``, measured at the
    start); ``own_shape_gflops`` the rate ``np.matmul`` reaches on the op's own GEMM shapes
    (``shape_rates`` holds each shape's rate relative to the 512^3 product).
    """
    if not res.case.gemm_bound or res.mg is None or not res.flops:
        return None
    rate = res.flops / res.mg / 1e9
    ref = res.gemm512 or gemm512
    own_rate = None
    if res.gemms:
        own_t = sum(
            c * 2.0 * M * K * N / (shape_rates[(res.dtype, M, K, N)] * ref * 1e9)
            for (M, K, N, c) in res.gemms
        )
        own_rate = res.flops / own_t / 1e9
    return {
        "gflop": res.flops / 1e9,
        "op_gflops": rate,
        "gemm512_gflops": ref,
        "own_shape_gflops": own_rate,
        "share_vs_512": rate / ref,
        "share_vs_own_shapes": rate / own_rate if own_rate else None,
    }


@dataclass
class LoopResult:
    label: str
    loop_names: str
    vec: float | None = None  # seconds per forward+backward
    loop: float | None = None
    diff: float | None = None  # max_rel_diff of the two sets of gradients
    error: str = ""


def run_loop_case(case: LoopCase, reps, min_total) -> LoopResult:
    """Time a loop oracle against its vectorised op (interleaved) and compare their grads."""
    res = LoopResult(case.label, case.loop_names)
    try:
        ts = measure_many({"vec": case.vec, "loop": case.loop}, reps, min_total)
        res.vec, res.loop = ts["vec"].median, ts["loop"].median
        res.diff = max_rel_diff(case.vec(), case.loop())  # printed, not asserted
    except Exception as exc:  # noqa: BLE001 - report, keep going
        res.error = f"failed: {type(exc).__name__}: {exc}"
    return res
