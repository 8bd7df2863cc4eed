"""The benchmark's report: the text tables ``make bench`` prints and the ``--json`` record.

A finished run is a :class:`Run` (machine facts, settings, the :class:`timing.Result` of each
case and dtype, the loop-oracle results, process facts). :func:`print_report` prints it as
four numbered sections; :func:`to_json` turns it into plain JSON-ready data (seconds, not
milliseconds; ``null`` where a number is missing) with the same derived numbers (ratios,
GEMM shares, the summary against the targets), so the text and the file never disagree.
"""

import json
import math
import statistics
from dataclasses import dataclass, field

from machine import blas_lines, torch_line
from timing import LoopResult, Result, gemm_shares

DASH = "—"

# Targets from the issue.
TARGET_GEOMEAN = 0.85  # float64 geometric mean of mathgrad/torch
TARGET_WORST = 1.0  # no float64 case slower than torch
TARGET_CONV_SHARE = 0.50  # conv forward+backward at >= 50 % of GEMM throughput

JSON_SCHEMA = 1


@dataclass
class Run:
    facts: dict  # machine.machine_facts()
    settings: dict  # mode, dtypes, seed, min_samples, min_total, cases
    results: list[Result] = field(default_factory=list)
    gemm512: dict[str, float] = field(default_factory=dict)  # dtype -> GFLOP/s at the start
    shape_rates: dict[tuple, float] = field(default_factory=dict)  # (dtype, M, K, N) -> x 512^3
    loops: dict[str, list[LoopResult]] = field(default_factory=dict)  # dtype -> results
    process: dict = field(default_factory=dict)  # load averages, peak RSS, CPU share, wall time


# --------------------------------------------------------------------------- numbers


def ratio(r: Result) -> float | None:
    """mathgrad/torch: the median of the rounds' ratios (none without torch)."""
    return statistics.median(r.round_ratios) if r.round_ratios else None


def ratio_range(r: Result) -> tuple[float, float] | None:
    """The smallest and the largest of the rounds' ratios."""
    return (min(r.round_ratios), max(r.round_ratios)) if r.round_ratios else None


def round_geomeans(rs: list[Result]) -> list[float]:
    """The geometric mean of the ratios in each round, over the cases with ratios."""
    rows = [r.round_ratios for r in rs if r.round_ratios]  # every one has a ratio a round
    return [geomean(list(col)) for col in zip(*rows, strict=True)]


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def summary(run: Run) -> dict:
    """Per dtype: geometric mean and worst mathgrad/torch ratio; conv GEMM shares; peaks."""
    out = {"dtypes": {}, "conv_share": []}
    for dtype in run.settings["dtypes"]:
        rs = [r for r in run.results if r.dtype == dtype]
        ratios = [(ratio(r), r) for r in rs if ratio(r) is not None]
        entry = {
            "cases": len(rs),
            "compared": len(ratios),
            "missing": [r.case.label for r in rs if ratio(r) is None],
            "geomean_ratio": None,
            "geomean_ratio_rounds": round_geomeans(rs),
            "worst_case": None,
            "worst_ratio": None,
            "slower_than_torch": [],
        }
        if ratios:
            worst_ratio, worst = max(ratios, key=lambda p: p[0])
            entry.update(
                geomean_ratio=geomean([x for x, _ in ratios]),
                worst_case=worst.case.label,
                worst_ratio=worst_ratio,
                slower_than_torch=[
                    {"case": r.case.label, "ratio": x, "ratio_range": ratio_range(r)}
                    for x, r in ratios
                    if x > TARGET_WORST
                ],
            )
            if dtype == "float64":
                entry["meets_geomean_target"] = entry["geomean_ratio"] <= TARGET_GEOMEAN
                entry["meets_worst_target"] = not entry["slower_than_torch"]
        out["dtypes"][dtype] = entry
    for r in run.results:
        shares = gemm_shares(r, run.gemm512[r.dtype], run.shape_rates)
        if r.case.is_conv and shares:
            share = shares["share_vs_512"]
            out["conv_share"].append(
                {
                    "case": r.case.label,
                    "dtype": r.dtype,
                    "share_vs_512": share,
                    "meets_target": share >= TARGET_CONV_SHARE,
                }
            )
    peaks = [r for r in run.results if r.peak is not None]
    if peaks:
        big = max(peaks, key=lambda r: r.peak)
        out["largest_peak"] = {"case": big.case.label, "dtype": big.dtype, "bytes": big.peak}
    return out


# --------------------------------------------------------------------------- JSON


def to_json(run: Run) -> dict:
    """The run as JSON-ready data: times in seconds, ``None`` where a number is missing."""
    cases = []
    for r in run.results:
        cases.append(
            {
                "key": r.case.key,
                "label": r.case.label,
                "dtype": r.dtype,
                "grad_dtype": r.out_dtype or None,
                "mathgrad_s": r.mg,
                "torch_s": r.torch,
                "torch_impl": r.torch_impl or None,
                "ratio": ratio(r),
                "ratio_rounds": r.round_ratios,
                "grad_diff": r.diff,
                "peak_bytes": r.peak,
                "mathgrad_faults_per_call": r.mg_faults,
                "torch_faults_per_call": r.torch_faults,
                "gemm": gemm_shares(r, run.gemm512[r.dtype], run.shape_rates),
                "note": r.note,
            }
        )
    loops = [
        {
            "dtype": dtype,
            "label": lr.label,
            "loop_functions": lr.loop_names,
            "vectorised_s": lr.vec,
            "loop_s": lr.loop,
            "loop_over_vectorised": lr.loop / lr.vec if lr.vec and lr.loop else None,
            "grad_diff": lr.diff,
            "error": lr.error or None,
        }
        for dtype, lrs in run.loops.items()
        for lr in lrs
    ]
    return {
        "schema": JSON_SCHEMA,
        "machine": run.facts,
        "settings": run.settings,
        "targets": {
            "float64_geomean_ratio_max": TARGET_GEOMEAN,
            "float64_ratio_max": TARGET_WORST,
            "conv_share_vs_512_min": TARGET_CONV_SHARE,
        },
        "gemm512_gflops": run.gemm512,
        "cases": cases,
        "loops": loops,
        "summary": summary(run),
        "process": run.process,
    }


def write_json(run: Run, path: str) -> None:
    with open(path, "w") as fh:
        json.dump(to_json(run), fh, indent=2, allow_nan=False)
        fh.write("\n")


# --------------------------------------------------------------------------- text


def fmt_ms(t: float | None) -> str:
    return DASH if t is None else f"{t * 1e3:.3f}"


def fmt_ratio(r: float | None) -> str:
    return DASH if r is None else f"{r:.2f}"


def fmt_range(lo_hi: tuple[float, float] | None) -> str:
    return DASH if lo_hi is None else f"{lo_hi[0]:.2f}-{lo_hi[1]:.2f}"


def fmt_faults(n: float | None) -> str:
    return DASH if n is None else f"{n:.0f}"


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


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


def print_header(facts: dict, settings: dict, load_start: tuple) -> None:
    print("mathgrad benchmark: forward+backward median time, one thread")
    print("=" * 64)
    print(f"python     {facts['python']} on {facts['arch']}")
    print(
        f"cpu        {facts['cpu_model'] or DASH} ({facts['logical_cpus']} logical CPUs visible)"
    )
    print(f"numpy      {facts['numpy']}")
    for i, line in enumerate(blas_lines(facts["blas"])):
        print(f"{'blas' if i == 0 else '':<10} {line}")
    print("threads    " + ", ".join(f"{k}={v}" for k, v in facts["thread_env"].items()))
    print(f"torch      {torch_line(facts['torch'])}")
    print(
        "load       1/5/15-min load average {:.2f} {:.2f} {:.2f} at the start".format(*load_start)
    )
    print(f"mathgrad   {facts['mathgrad']} ({facts['mathgrad_names']} names)")
    print(
        f"timing     {settings['mode']}: {settings['rounds']} round(s) over every case, in each "
        f"the median of >= {settings['min_samples']} samples and >= "
        f"{settings['min_total_s']:.2g} s per measurement, after one warm-up call"
    )
    print()


def print_report(run: Run) -> None:
    """Sections 1-4: the main table, the GEMM shares, the loop oracles, the summary."""
    dtypes = run.settings["dtypes"]
    print("1. forward+backward, median ms (ratio = mathgrad / torch; < 1 is mathgrad faster)")
    rows = [
        [
            r.case.label,
            r.dtype,
            fmt_ms(r.mg),
            fmt_ms(r.torch),
            fmt_ratio(ratio(r)),
            fmt_range(ratio_range(r)),
            DASH if r.diff is None else f"{r.diff:.1e}",
            r.torch_impl or DASH,
            DASH if r.peak is None else fmt_bytes(r.peak),
            fmt_faults(r.mg_faults),
            fmt_faults(r.torch_faults),
            r.note,
        ]
        for r in run.results
    ]
    table(
        [
            "case",
            "dtype",
            "mathgrad ms",
            "torch ms",
            "ratio",
            "rounds",
            "grad diff",
            "torch impl",
            "mg peak",
            "mg faults",
            "torch faults",
            "notes",
        ],
        rows,
        "llrrrrrlrrrl",
    )
    print(
        f"   ratio: the median of {run.settings['rounds']} rounds' ratios, each round a pass over"
        " every case with"
    )
    print("   mathgrad and torch interleaved; rounds: their smallest and largest ratio. A row")
    print("   whose rounds straddle 1 is not known to be faster or slower than torch")
    print("   grad diff: max|a-b|/max(|a|+|b|) of mathgrad vs torch gradients (worst input)")
    print("   mg peak: tracemalloc peak of one mathgrad forward+backward (NumPy buffers included)")
    print("   faults: minor page faults per call (memory the kernel maps in on first touch, after")
    print("   the allocator gave it back); each costs microseconds, more under a hypervisor,")
    print("   and their number depends on the allocator's state: a noisy row often has many")
    print()

    print("2. share of matrix-multiply throughput (GEMM-bound ops)")
    for dtype in dtypes:
        near = [r.gemm512 for r in run.results if r.dtype == dtype and r.gemm512]
        spread = f" (interleaved with each case: {min(near):.1f}-{max(near):.1f})" if near else ""
        print(
            f"   np.matmul 512x512x512 {dtype}: {run.gemm512[dtype]:.1f} GFLOP/s at the start"
            f"{spread}"
        )
    rows = []
    for r in run.results:
        if not r.case.gemm_bound:
            continue
        s = gemm_shares(r, run.gemm512[r.dtype], run.shape_rates)
        if s is None:
            rows.append([r.case.label, r.dtype, DASH, DASH, DASH, DASH, DASH, DASH, r.note])
            continue
        rows.append(
            [
                r.case.label,
                r.dtype,
                f"{s['gflop']:.3f}",
                f"{s['op_gflops']:.1f}",
                f"{s['gemm512_gflops']:.1f}",
                DASH if s["own_shape_gflops"] is None else f"{s['own_shape_gflops']:.1f}",
                f"{s['share_vs_512']:.0%}",
                DASH if s["share_vs_own_shapes"] is None else f"{s['share_vs_own_shapes']:.0%}",
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
    print("   RNN 3 x 2*N*T*(D*H + H*H); MLP 2*N*in*out x 3 per layer (x 2 for the first: no dx);")
    print("   LSTM 3 x 2*N*T*(D*4H + H*4H); attention 6 x 2*T*T*d per sequence and head.")
    print("   own-shape rate: the same FLOPs as np.matmul on the op's GEMM shapes (each timed")
    print("   interleaved with the 512^3 product, scaled to the 512^3 rate of the case's row)")
    print("   (conv: im2col products; RNN: one input projection, T steps of (N,H)@(H,H) each")
    print("   way, batched weight gradients; LSTM: the same with 4H gate rows; attention: the")
    print("   six batched (T,d)x(d,T) and (T,T)x(T,d) products; MLP: the products it does).")
    print()

    print("3. loop (oracle) versions vs vectorised, small sizes, median ms")
    for dtype in dtypes:
        print(f"   {dtype}")
        rows = [
            [lr.label, DASH, DASH, DASH, DASH, lr.error]
            if lr.error
            else [
                lr.label,
                fmt_ms(lr.vec),
                fmt_ms(lr.loop),
                f"{lr.loop / lr.vec:.0f}x",
                f"{lr.diff:.1e}",
                lr.loop_names,
            ]
            for lr in run.loops[dtype]
        ]
        table(
            ["case", "vectorised ms", "loop ms", "loop/vec", "diff", "loop functions"],
            rows,
            "lrrrrl",
        )
    print()

    print("4. summary against the targets")
    s = summary(run)
    for dtype in dtypes:
        e = s["dtypes"][dtype]
        if not e["compared"]:
            print(f"   {dtype}: no ratios (torch or ops unavailable)")
            continue
        tag = (
            f" over {e['compared']} of {e['cases']} cases (missing: {', '.join(e['missing'])})"
            if e["missing"]
            else f" over {e['compared']} cases"
        )
        g = e["geomean_ratio"]
        if len(e["geomean_ratio_rounds"]) > 1:
            tag += " (rounds: " + ", ".join(f"{x:.2f}" for x in e["geomean_ratio_rounds"]) + ")"
        if dtype == "float64":
            verdict = "MEETS" if e["meets_geomean_target"] else "MISSES"
            print(
                f"   float64 geometric mean mathgrad/torch = {g:.2f}{tag}: "
                f"{verdict} target <= {TARGET_GEOMEAN}"
            )
            print(f"   float64 worst case: {e['worst_case']} at {e['worst_ratio']:.2f}x torch")
            over = [
                f"{o['case']} ({o['ratio']:.2f}"
                + (f", rounds {fmt_range(o['ratio_range'])})" if o["ratio_range"] else ")")
                for o in e["slower_than_torch"]
            ]
            if over:
                print(f"   float64 cases slower than torch (target: none): {'; '.join(over)}")
            else:
                print("   float64: no case slower than torch (target met)")
        else:
            print(f"   {dtype} geometric mean mathgrad/torch = {g:.2f}{tag} (reported, no target)")
            print(f"   {dtype} worst case: {e['worst_case']} at {e['worst_ratio']:.2f}x torch")
    for c in s["conv_share"]:
        verdict = "meets" if c["meets_target"] else "MISSES"
        print(
            f"   {c['case']} {c['dtype']}: {c['share_vs_512']:.0%} of 512^3 GEMM throughput, "
            f"{verdict} target >= {TARGET_CONV_SHARE:.0%}"
        )
    if "largest_peak" in s:
        big = s["largest_peak"]
        print(
            f"   largest tracemalloc peak: {big['case']} {big['dtype']}, {fmt_bytes(big['bytes'])}"
        )
    p = run.process
    print(
        f"   peak resident set of this process (ru_maxrss, includes torch if loaded): "
        f"{fmt_bytes(p['peak_rss_bytes'])}"
    )
    print(
        "   load average at the end {:.2f} {:.2f} {:.2f} ({} logical CPUs): other".format(
            *p["load_end"], run.facts["logical_cpus"]
        )
    )
    print("   processes competing for the CPU make every time above noisier and slower")
    print(
        f"   this process got {p['cpu_share']:.0%} of one CPU over the run ({p['cpu_s']:.0f} s "
        f"CPU in {p['wall_s']:.0f} s); near 100 % means the machine was free for it"
    )
    print(f"   total run time {p['wall_s']:.0f} s")
