"""Forward+backward timings of mathgrad's ops, against PyTorch CPU when it is installed.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench.py [--quick]
[--dtype float64|float32|both] [--no-torch]``). A plain script: it prints tables and
asserts nothing. Everything runs on ONE thread: the BLAS thread-count variables are set
below, before NumPy is imported, and PyTorch is told ``torch.set_num_threads(1)``.

What is printed (see ``benchmarks/README.md``):

1. the environment (NumPy, BLAS and its thread count, PyTorch, CPU);
2. per case and dtype, the median forward+backward time of mathgrad and of PyTorch
   autograd on the same inputs and the same upstream gradient, their ratio, and the largest
   relative difference between the two sets of gradients (a check that both computed the
   same thing, not a test);
3. for the GEMM-bound cases, the op's FLOP rate as a share of ``np.matmul``'s rate measured
   in the same run, both on a 512x512x512 product and on the op's own GEMM shapes;
4. the loop (oracle) versions against the vectorised ones on a small size;
5. the summary against the targets, and peak memory.
"""

import os

# Thread counts only, and before NumPy (or PyTorch) is imported: BLAS libraries read them
# once, when they load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

import mathgrad as mgd  # noqa: E402

try:  # optional: confirms (and enforces) the BLAS thread count
    import threadpoolctl  # noqa: E402
except ImportError:
    threadpoolctl = None

DASH = "—"

# Targets from the issue.
TARGET_GEOMEAN = 0.85  # float64 geometric mean of mathgrad/torch
TARGET_WORST = 1.0  # no float64 case slower than torch
TARGET_CONV_SHARE = 0.50  # conv forward+backward at >= 50 % of GEMM throughput


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    median: float  # seconds per call
    samples: int
    inner: int  # calls per sample


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
    gc.collect()
    start = time.perf_counter()
    rounds = 0
    while rounds < min_samples or (
        time.perf_counter() - start < min_total * len(fns) and rounds < 2000
    ):
        for name, fn in fns.items():
            k = inner[name]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
        rounds += 1
    return {name: Timing(statistics.median(s), len(s), inner[name]) for name, s in samples.items()}


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


# --------------------------------------------------------------------------- environment


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or DASH


def openblas_via_ctypes() -> str | None:
    """Config string and thread count of the OpenBLAS NumPy loaded, read from the library."""
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                if (
                    "openblas" in path.lower()
                    and path.endswith((".so", ".dylib"))
                    or ("openblas" in path.lower() and ".so" in path)
                ):
                    libs.add(path)
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        threads = config = None
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                if threads is None:
                    fn = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    if fn is not None:
                        fn.restype = ctypes.c_int
                        threads = fn()
                if config is None:
                    fn = getattr(lib, f"{prefix}_get_config{suffix}", None)
                    if fn is not None:
                        fn.restype = ctypes.c_char_p
                        config = fn().decode(errors="replace").strip()
        if threads is not None or config is not None:
            return f"{config or os.path.basename(path)}; threads = {threads}"
    return None


def blas_description() -> list[str]:
    lines = []
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(1)
        for info in threadpoolctl.threadpool_info():
            lines.append(
                f"{info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture', '?')}), threads = {info.get('num_threads')} "
                f"[threadpoolctl, {os.path.basename(info.get('filepath', ''))}]"
            )
        return lines
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        lines.append(f"{blas.get('name')} {blas.get('version')} (numpy build config)")
    except (AttributeError, KeyError, TypeError):
        pass
    runtime = openblas_via_ctypes()
    if runtime:
        lines.append(f"runtime: {runtime} [read via ctypes; threadpoolctl not installed]")
    else:
        lines.append("runtime thread count unknown (threadpoolctl not installed)")
    return lines


def load_torch(enabled: bool):
    if not enabled:
        return None, "disabled (--no-torch)"
    try:
        import torch
        import torch.nn.functional  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any failure means "no comparison"
        return None, f"not available ({type(exc).__name__}: {exc})"
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    return torch, (
        f"{torch.__version__}, intra-op threads = {torch.get_num_threads()}, "
        f"interop threads = {torch.get_num_interop_threads()}"
    )


# --------------------------------------------------------------------------- cases


@dataclass
class Prepared:
    mg: Callable[[], list]  # mathgrad forward+backward, returns the gradients (flat list)
    torch_fns: dict[str, Callable[[], list]] = field(default_factory=dict)
    flops: float | None = None  # forward+backward FLOPs of the GEMMs the op does
    gemms: list[tuple[int, int, int, int]] = field(default_factory=list)  # (M, K, N, count)
    note: str = ""


def flat(grads) -> list:
    out = []
    for g in grads if isinstance(grads, (tuple, list)) else [grads]:
        if isinstance(g, (tuple, list)):
            out.extend(flat(g))
        else:
            out.append(g)
    return out


def torch_grads(out, inputs, grad, reset=()):
    """``out.backward(grad)``, then the inputs' ``.grad`` (cleared, so nothing accumulates)."""
    out.backward(grad)
    grads = [t.grad for t in inputs]
    for t in (*inputs, *reset):
        t.grad = None
    return grads


def prep_conv(dtype, rng, torch, N, C, H, W, F, K, stride, pad) -> Prepared:
    conv2d_forward, conv2d_backward = mgd.conv2d_forward, mgd.conv2d_backward
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = (rng.standard_normal((F, C, K, K)) / math.sqrt(C * K * K)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    OH = (H + 2 * pad - K) // stride + 1
    OW = (W + 2 * pad - K) // stride + 1
    dy = rng.standard_normal((N, F, OH, OW)).astype(dtype)

    def mg():
        _, cache = conv2d_forward(x, w, b, stride=stride, padding=pad)
        return flat(conv2d_backward(dy, cache))

    p = Prepared(mg)
    ckk, m = C * K * K, N * OH * OW
    gemm = 2.0 * F * ckk * m
    p.flops = 3 * gemm  # forward, dw, dx (im2col form)
    p.gemms = [(F, ckk, m, 1), (F, m, ckk, 1), (ckk, F, m, 1)]
    if torch is not None:
        import torch.nn.functional as TF

        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        dyt = torch.from_numpy(dy)

        def tconv():
            y = TF.conv2d(xt, wt, bt, stride=stride, padding=pad)
            return torch_grads(y, (xt, wt, bt), dyt)

        p.torch_fns["F.conv2d"] = tconv
    return p


def prep_pool(dtype, rng, torch, shape, K, stride) -> Prepared:
    fwd, bwd = mgd.maxpool2d_forward, mgd.maxpool2d_backward
    x = rng.standard_normal(shape).astype(dtype)
    N, C, H, W = shape
    dy = rng.standard_normal((N, C, (H - K) // stride + 1, (W - K) // stride + 1)).astype(dtype)

    def mg():
        _, cache = fwd(x, K, stride)
        return flat(bwd(dy, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        xt = torch.from_numpy(x).requires_grad_()
        dyt = torch.from_numpy(dy)

        def tpool():
            y = TF.max_pool2d(xt, K, stride)
            return torch_grads(y, (xt,), dyt)

        p.torch_fns["F.max_pool2d"] = tpool
    return p


def prep_rnn(dtype, rng, torch, N, T, D, H) -> Prepared:
    rnn_forward, rnn_backward = mgd.rnn_forward, mgd.rnn_backward
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype) * 0.5
    wx = (rng.standard_normal((H, D)) / math.sqrt(D)).astype(dtype)
    wh = (rng.standard_normal((H, H)) / math.sqrt(H)).astype(dtype)
    b = (rng.standard_normal(H) * 0.1).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)

    def mg():
        _, cache = rnn_forward(x, h0, wx, wh, b)
        return flat(rnn_backward(dh, cache))

    p = Prepared(mg)
    # forward: x_t wx^T and h_{t-1} wh^T; backward: dwx, dx, dwh, dh_{t-1}: 3 of each.
    p.flops = 3 * (2.0 * N * T * D * H + 2.0 * N * T * H * H)
    p.gemms = [
        (N * T, D, H, 1),  # input projection, all steps at once
        (N, H, H, T),  # recurrent step h_{t-1} wh^T
        (N, H, H, T),  # backward step dz_t wh
        (H, N * T, D, 1),  # dwx
        (N * T, H, D, 1),  # dx
        (H, N * T, H, 1),  # dwh
    ]
    if torch is not None:
        xt, h0t, wxt, wht, bt = (torch.from_numpy(a).requires_grad_() for a in (x, h0, wx, wh, b))
        dht = torch.from_numpy(dh)

        def tloop():
            xp = xt @ wxt.T + bt
            h = h0t
            hs = []
            for t in range(T):
                h = torch.tanh(xp[:, t] + h @ wht.T)
                hs.append(h)
            out = torch.stack(hs, 1)
            return torch_grads(out, (xt, h0t, wxt, wht, bt), dht)

        p.torch_fns["tanh loop"] = tloop

        tdtype = getattr(torch, np.dtype(dtype).name)
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=tdtype)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(wx))
            rnn.weight_hh_l0.copy_(torch.from_numpy(wh))
            rnn.bias_ih_l0.copy_(torch.from_numpy(b))
            rnn.bias_hh_l0.zero_()
        h0_3 = torch.from_numpy(h0[None].copy()).requires_grad_()
        params = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0)

        def tmodule():
            out, _ = rnn(xt, h0_3)
            gx, gh0, gwx, gwh, gb = torch_grads(
                out, (xt, h0_3, *params), dht, reset=(rnn.bias_hh_l0,)
            )
            return [gx, gh0[0], gwx, gwh, gb]

        p.torch_fns["nn.RNN"] = tmodule
    return p


def prep_ce(dtype, rng, torch, N, K) -> Prepared:
    fwd, bwd = mgd.cross_entropy_forward, mgd.cross_entropy_backward
    z = (rng.standard_normal((N, K)) * 3).astype(dtype)
    y = rng.integers(0, K, N)

    def mg():
        _, cache = fwd(z, y)
        return flat(bwd(1.0, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        zt = torch.from_numpy(z).requires_grad_()
        yt = torch.from_numpy(y.astype(np.int64))

        def tce():
            loss = TF.cross_entropy(zt, yt)
            return torch_grads(loss, (zt,), None)

        p.torch_fns["F.cross_entropy"] = tce
    return p


def prep_mlp(dtype, rng, torch, sizes, N) -> Prepared:
    MLP = mgd.MLP
    net0 = MLP.init(sizes, "sigmoid", 0, dtype=dtype)
    weights, biases = net0.weights, net0.biases
    note = "weights from MLP.init"
    net = MLP(weights, biases, activation="sigmoid")
    x = rng.standard_normal((N, sizes[0])).astype(dtype)
    g = rng.standard_normal((N, sizes[-1])).astype(dtype)

    def mg():
        net.forward(x)
        dws, dbs = net.backward(g)
        return [a for pair in zip(dws, dbs, strict=True) for a in pair]

    p = Prepared(mg, note=note)
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    # The products MLP does: forward and dW for every layer, dx for every layer but the
    # first (MLP.backward does not compute the gradient of the input x).
    p.flops = sum(3 * 2.0 * N * i * o for i, o in pairs) - 2.0 * N * pairs[0][0] * pairs[0][1]
    for li, (i, o) in enumerate(pairs):
        p.gemms += [(N, i, o, 1), (o, N, i, 1)] + ([(N, o, i, 1)] if li else [])
    if torch is not None:
        tdtype = getattr(torch, np.dtype(dtype).name)
        layers = []
        for li, (i, o) in enumerate(pairs):
            lin = torch.nn.Linear(i, o, dtype=tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(weights[li]))
                lin.bias.copy_(torch.from_numpy(biases[li]))
            layers.append(lin)
            if li < len(pairs) - 1:
                layers.append(torch.nn.Sigmoid())
        seq = torch.nn.Sequential(*layers)
        params = [prm for lin in layers[::2] for prm in (lin.weight, lin.bias)]
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)

        def tmlp():
            return torch_grads(seq(xt), params, gt)

        p.torch_fns["nn.Sequential"] = tmlp
    return p


@dataclass
class Case:
    key: str
    label: str
    prep: Callable  # (dtype, rng, torch) -> Prepared
    gemm_bound: bool = False
    is_conv: bool = False


CASES = [
    Case(
        "conv1",
        "conv2d N32 C16 32x32 F32 3x3 s1 p1",
        lambda d, r, t: prep_conv(d, r, t, 32, 16, 32, 32, 32, 3, 1, 1),
        True,
        True,
    ),
    Case(
        "conv2",
        "conv2d N16 C32 16x16 F64 3x3 s2 p1",
        lambda d, r, t: prep_conv(d, r, t, 16, 32, 16, 16, 64, 3, 2, 1),
        True,
        True,
    ),
    Case(
        "pool1",
        "maxpool 2x2/2 (32,32,32,32)",
        lambda d, r, t: prep_pool(d, r, t, (32, 32, 32, 32), 2, 2),
    ),
    Case(
        "pool2",
        "maxpool 3x3/2 (16,32,33,33)",
        lambda d, r, t: prep_pool(d, r, t, (16, 32, 33, 33), 3, 2),
    ),
    Case(
        "rnn",
        "RNN N32 T64 D64 H128 full BPTT",
        lambda d, r, t: prep_rnn(d, r, t, 32, 64, 64, 128),
        True,
    ),
    Case(
        "ce",
        "softmax CE N1024 K1000 int labels",
        lambda d, r, t: prep_ce(d, r, t, 1024, 1000),
    ),
    Case(
        "mlp",
        "MLP 784-256-256-10 sigmoid N256",
        lambda d, r, t: prep_mlp(d, r, t, [784, 256, 256, 10], 256),
        True,
    ),
]


# --------------------------------------------------------------------------- helpers


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


def fmt_ms(t: float | None) -> str:
    return DASH if t is None else f"{t * 1e3:.3f}"


def fmt_ratio(r: float | None) -> str:
    return DASH if r is None else f"{r:.2f}"


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def table(header: list[str], rows: list[list[str]], align: str) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def line(cells):
        out = []
        for c, w, a in zip(cells, widths, align, strict=True):
            out.append(c.ljust(w) if a == "l" else c.rjust(w))
        return "  ".join(out).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


# --------------------------------------------------------------------------- main


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
        try:
            res.diff = max_rel_diff(grads, torch_out[best[1]])
        except Exception as exc:  # noqa: BLE001
            note(f"diff failed: {exc}")
    return res


def loop_benchmarks(dtype, reps, min_total) -> list[list[str]]:
    rows = []
    rng = np.random.default_rng(1)

    def row(label, vec, loop, loop_names):
        try:
            ts = measure_many({"vec": vec, "loop": loop}, reps, min_total)
            tv, tl = ts["vec"].median, ts["loop"].median
            # also check they agree (printed, not asserted)
            d = max_rel_diff(vec(), loop())
            rows.append([label, fmt_ms(tv), fmt_ms(tl), f"{tl / tv:.0f}x", f"{d:.1e}", loop_names])
        except Exception as exc:  # noqa: BLE001
            rows.append([label, DASH, DASH, DASH, DASH, f"failed: {type(exc).__name__}: {exc}"])

    # conv2d N=2, C=3, 8x8, F=4, 3x3, stride 1, pad 1
    x = rng.standard_normal((2, 3, 8, 8)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    dy = rng.standard_normal((2, 4, 8, 8)).astype(dtype)

    def conv(f, bk):
        return lambda: flat(bk(dy, f(x, w, b, stride=1, padding=1)[1]))

    row(
        "conv2d N2 C3 8x8 F4 3x3 p1",
        conv(mgd.conv2d_forward, mgd.conv2d_backward),
        conv(mgd.conv2d_forward_loop, mgd.conv2d_backward_loop),
        "conv2d_forward_loop+conv2d_backward_loop",
    )

    # maxpool 2x2/2 on (2, 3, 8, 8)
    xp = rng.standard_normal((2, 3, 8, 8)).astype(dtype)
    dyp = rng.standard_normal((2, 3, 4, 4)).astype(dtype)

    def pool(f, bk):
        return lambda: flat(bk(dyp, f(xp, 2, 2)[1]))

    row(
        "maxpool 2x2/2 (2,3,8,8)",
        pool(mgd.maxpool2d_forward, mgd.maxpool2d_backward),
        pool(mgd.maxpool2d_forward_loop, mgd.maxpool2d_backward_loop),
        "maxpool2d_forward_loop+maxpool2d_backward_loop",
    )

    # RNN N=2, T=8, D=4, H=5
    xr = rng.standard_normal((2, 8, 4)).astype(dtype)
    h0 = rng.standard_normal((2, 5)).astype(dtype)
    wx = rng.standard_normal((5, 4)).astype(dtype) * 0.5
    wh = rng.standard_normal((5, 5)).astype(dtype) * 0.5
    br = rng.standard_normal(5).astype(dtype)
    dh = rng.standard_normal((2, 8, 5)).astype(dtype)

    def rnn(f, bk):
        return lambda: flat(bk(dh, f(xr, h0, wx, wh, br)[1]))

    row(
        "RNN N2 T8 D4 H5",
        rnn(mgd.rnn_forward, mgd.rnn_backward),
        rnn(mgd.rnn_forward_loop, mgd.rnn_backward_loop),
        "rnn_forward_loop+rnn_backward_loop",
    )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a rough number fast)")
    ap.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    reps, min_total = (3, 0.1) if args.quick else (7, 1.0)
    gemm_reps, gemm_total = (3, 0.05) if args.quick else (7, 0.3)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]

    torch, torch_desc = load_torch(not args.no_torch)
    mg_desc = f"{mgd.__version__} ({len(mgd.__all__)} names)"

    print("mathgrad benchmark: forward+backward median time, one thread")
    print("=" * 64)
    print(f"python     {platform.python_version()} on {platform.machine()}")
    print(f"cpu        {cpu_model()} ({os.cpu_count()} logical CPUs visible)")
    print(f"numpy      {np.__version__}")
    for i, line in enumerate(blas_description()):
        print(f"{'blas' if i == 0 else '':<10} {line}")
    print(
        "threads    "
        + ", ".join(
            f"{v}={os.environ.get(v)}"
            for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        )
    )
    print(f"torch      {torch_desc}")
    print(
        "load       1/5/15-min load average {:.2f} {:.2f} {:.2f} at the start".format(
            *os.getloadavg()
        )
    )
    print(f"mathgrad   {mg_desc}")
    mode = "quick" if args.quick else "full"
    print(
        f"timing     {mode}: median of >= {reps} samples and >= {min_total:g} s per "
        "measurement, after one warm-up call"
    )
    print()

    t_start = time.perf_counter()
    ru_start = resource.getrusage(resource.RUSAGE_SELF)
    results: list[Result] = []
    gemm512: dict[str, float] = {}
    shape_rate_cache: dict[tuple, float] = {}
    grng = np.random.default_rng(123)
    loop_rows: dict[str, list] = {}
    for dtype in dtypes:
        gemm512[dtype] = gemm_rate(dtype, 512, 512, 512, grng, gemm_reps, gemm_total)
        ga, gb = (grng.standard_normal((512, 512)).astype(dtype) for _ in range(2))
        gc_ = np.empty((512, 512), dtype=dtype)

        def gemm_ref(ga=ga, gb=gb, gc_=gc_):
            np.matmul(ga, gb, out=gc_)

        for case in CASES:
            res = run_case(case, np.dtype(dtype).type, torch, reps, min_total, args.seed, gemm_ref)
            results.append(res)
            if res.mg is not None and res.gemms:
                for M, K, N, _c in res.gemms:
                    key = (dtype, M, K, N)
                    if key not in shape_rate_cache:
                        shape_rate_cache[key] = gemm_relative_rate(
                            dtype, M, K, N, gemm_ref, grng, gemm_reps, gemm_total
                        )
        loop_rows[dtype] = loop_benchmarks(np.dtype(dtype).type, reps, min(min_total, 0.3))

    # Memory: tracemalloc peak of one mathgrad forward+backward per case (after timing, so
    # the tracing does not slow the timed runs).
    for res in results:
        if res.mg is None:
            continue
        try:
            prep = res.case.prep(np.dtype(res.dtype).type, np.random.default_rng(args.seed), None)
            res.peak = traced_peak(prep.mg)
        except Exception:  # noqa: BLE001
            res.peak = None

    # ---------------------------------------------------------------- main table
    print("1. forward+backward, median ms (ratio = mathgrad / torch; < 1 is mathgrad faster)")
    rows = []
    for r in results:
        ratio = r.mg / r.torch if (r.mg is not None and r.torch is not None) else None
        rows.append(
            [
                r.case.label,
                r.dtype,
                fmt_ms(r.mg),
                fmt_ms(r.torch),
                fmt_ratio(ratio),
                DASH if r.diff is None else f"{r.diff:.1e}",
                r.torch_impl or DASH,
                DASH if r.peak is None else fmt_bytes(r.peak),
                r.note,
            ]
        )
    table(
        [
            "case",
            "dtype",
            "mathgrad ms",
            "torch ms",
            "ratio",
            "grad diff",
            "torch impl",
            "mg peak",
            "notes",
        ],
        rows,
        "llrrrrlrl",
    )
    print("   grad diff: max|a-b|/max(|a|+|b|) of mathgrad vs torch gradients (worst input)")
    print("   mg peak: tracemalloc peak of one mathgrad forward+backward (NumPy buffers included)")
    print()

    # ---------------------------------------------------------------- GEMM shares
    print("2. share of matrix-multiply throughput (GEMM-bound ops)")
    for dtype in dtypes:
        near = [r.gemm512 for r in results if r.dtype == dtype and r.gemm512]
        spread = f" (interleaved with each case: {min(near):.1f}-{max(near):.1f})" if near else ""
        print(
            f"   np.matmul 512x512x512 {dtype}: {gemm512[dtype]:.1f} GFLOP/s at the start{spread}"
        )
    rows = []
    for r in results:
        if not r.case.gemm_bound:
            continue
        if r.mg is None or not r.flops:
            rows.append([r.case.label, r.dtype, DASH, DASH, DASH, DASH, DASH, DASH, r.note])
            continue
        rate = r.flops / r.mg / 1e9
        ref = r.gemm512 or gemm512[r.dtype]
        own_t = sum(
            c * 2.0 * M * K * N / (shape_rate_cache[(r.dtype, M, K, N)] * ref * 1e9)
            for (M, K, N, c) in r.gemms
        )
        own_rate = r.flops / own_t / 1e9
        rows.append(
            [
                r.case.label,
                r.dtype,
                f"{r.flops / 1e9:.3f}",
                f"{rate:.1f}",
                f"{ref:.1f}",
                f"{own_rate:.1f}",
                f"{rate / ref:.0%}",
                f"{rate / own_rate:.0%}",
                "",
            ]
        )
    table(
        [
            "case",
            "dtype",
            "GFLOP",
            "op GFLOP/s",
            "512^3 GFLOP/s",
            "own-shape GFLOP/s",
            "share vs 512^3",
            "share vs own shapes",
            "",
        ],
        rows,
        "llrrrrrrl",
    )
    print("   GFLOP counts the op's forward+backward GEMMs: conv 3 x 2*N*F*C*KH*KW*OH*OW;")
    print("   RNN 3 x 2*N*T*(D*H + H*H); MLP 2*N*in*out x 3 per layer (x 2 for the first: no dx).")
    print("   own-shape rate: the same FLOPs as np.matmul on the op's GEMM shapes (each timed")
    print("   interleaved with the 512^3 product, scaled to the 512^3 rate of the case's row)")
    print("   (conv: im2col products; RNN: one input projection, T steps of (N,H)@(H,H) each")
    print("   way, batched weight gradients; MLP: the products it does).")
    print()

    # ---------------------------------------------------------------- loop oracles
    print("3. loop (oracle) versions vs vectorised, small sizes, median ms")
    for dtype in dtypes:
        print(f"   {dtype}")
        table(
            ["case", "vectorised ms", "loop ms", "loop/vec", "diff", "loop functions"],
            loop_rows[dtype],
            "lrrrrl",
        )
    print()

    # ---------------------------------------------------------------- summary
    print("4. summary against the targets")
    for dtype in dtypes:
        rs = [r for r in results if r.dtype == dtype]
        ratios = [(r.mg / r.torch, r) for r in rs if r.mg is not None and r.torch is not None]
        missing = [r.case.label for r in rs if r.mg is None or r.torch is None]
        if not ratios:
            print(f"   {dtype}: no ratios (torch or ops unavailable)")
            continue
        g = geomean([x for x, _ in ratios])
        worst_ratio, worst = max(ratios, key=lambda p: p[0])
        over = [f"{r.case.label} ({x:.2f})" for x, r in ratios if x > TARGET_WORST]
        tag = (
            f" over {len(ratios)} of {len(rs)} cases (missing: {', '.join(missing)})"
            if missing
            else f" over {len(ratios)} cases"
        )
        if dtype == "float64":
            verdict = "MEETS" if g <= TARGET_GEOMEAN else "MISSES"
            print(
                f"   float64 geometric mean mathgrad/torch = {g:.2f}{tag}: "
                f"{verdict} target <= {TARGET_GEOMEAN}"
            )
            print(f"   float64 worst case: {worst.case.label} at {worst_ratio:.2f}x torch")
            if over:
                print(f"   float64 cases slower than torch (target: none): {'; '.join(over)}")
            else:
                print("   float64: no case slower than torch (target met)")
        else:
            print(f"   {dtype} geometric mean mathgrad/torch = {g:.2f}{tag} (reported, no target)")
            print(f"   {dtype} worst case: {worst.case.label} at {worst_ratio:.2f}x torch")
    for r in results:
        if r.case.is_conv and r.mg is not None and r.flops:
            share = r.flops / r.mg / 1e9 / (r.gemm512 or gemm512[r.dtype])
            verdict = "meets" if share >= TARGET_CONV_SHARE else "MISSES"
            print(
                f"   {r.case.label} {r.dtype}: {share:.0%} of 512^3 GEMM throughput, "
                f"{verdict} target >= {TARGET_CONV_SHARE:.0%}"
            )
    peaks = [r for r in results if r.peak is not None]
    if peaks:
        big = max(peaks, key=lambda r: r.peak)
        print(f"   largest tracemalloc peak: {big.case.label} {big.dtype}, {fmt_bytes(big.peak)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_bytes = rss if sys.platform == "darwin" else rss * 1024
    print(
        f"   peak resident set of this process (ru_maxrss, includes torch if loaded): "
        f"{fmt_bytes(rss_bytes)}"
    )
    print(
        "   load average at the end {:.2f} {:.2f} {:.2f} ({} logical CPUs): other".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    print("   processes competing for the CPU make every time above noisier and slower")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime - ru_start.ru_utime - ru_start.ru_stime
    wall = time.perf_counter() - t_start
    print(
        f"   this process got {cpu / wall:.0%} of one CPU over the run ({cpu:.0f} s CPU in "
        f"{wall:.0f} s); near 100 % means the machine was free for it"
    )
    print(f"   total run time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
