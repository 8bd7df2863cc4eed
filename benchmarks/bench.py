"""Forward+backward timings of mathgrad's ops, against PyTorch CPU when it is installed.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench.py [--quick]
[--dtype float64|float32|both] [--no-torch] [--case KEY ...] [--json PATH]``). A plain
script: it prints tables and asserts nothing. Everything runs on ONE thread: the BLAS
thread-count variables are set below, before NumPy is imported, and PyTorch is told
``torch.set_num_threads(1)``.

The parts, one file each (see ``benchmarks/README.md``):

- ``cases.py``: what is timed (the inputs, mathgrad's and PyTorch's forward+backward);
- ``timing.py``: how (interleaved medians, the GEMM reference, memory peaks);
- ``machine.py``: the machine facts (CPU, BLAS kernel and threads, versions);
- ``report.py``: the printed tables and the ``--json`` record;
- this file: the command line, running the cases in order.
"""

import os

# Thread counts only, and before NumPy (or PyTorch) is imported: BLAS libraries read them
# once, when they load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from cases import CASES, loop_cases  # noqa: E402
from machine import load_torch, machine_facts  # noqa: E402
from report import Run, print_header, print_report, write_json  # noqa: E402
from timing import (  # noqa: E402
    gemm_rate,
    gemm_relative_rate,
    merge_rounds,
    run_case,
    run_loop_case,
    traced_peak,
)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a rough number fast)")
    ap.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--case",
        action="append",
        choices=[c.key for c in CASES],
        metavar="KEY",
        help="run only this case (repeatable); keys: " + ", ".join(c.key for c in CASES),
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=None,
        metavar="R",
        help="time every case R times, a whole pass over the cases each, and report the "
        "median ratio with its range (default 3, 1 with --quick)",
    )
    ap.add_argument(
        "--json",
        metavar="PATH",
        help="also write the results, with the machine facts, as JSON to PATH",
    )
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if rounds < 1:
        raise SystemExit(f"bench.py: --rounds must be at least 1, got {rounds}")
    # the rounds share the time one measurement used to have, so a run lasts about as long
    reps, min_total = (3, 0.1) if args.quick else (7, 1.0 / rounds)
    gemm_reps, gemm_total = (3, 0.05) if args.quick else (7, 0.3)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    cases = [c for c in CASES if not args.case or c.key in args.case]

    torch, torch_facts = load_torch(not args.no_torch)
    load_start = os.getloadavg()
    settings = {
        "mode": "quick" if args.quick else "full",
        "dtypes": dtypes,
        "cases": [c.key for c in cases],
        "seed": args.seed,
        "rounds": rounds,
        "min_samples": reps,
        "min_total_s": min_total,
        "threads": 1,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    run = Run(machine_facts(torch_facts), settings)
    print_header(run.facts, settings, load_start)

    t_start = time.perf_counter()
    ru_start = resource.getrusage(resource.RUSAGE_SELF)
    grng = np.random.default_rng(123)
    gemm_refs = {}
    for dtype in dtypes:
        run.gemm512[dtype] = gemm_rate(dtype, 512, 512, 512, grng, gemm_reps, gemm_total)
        ga, gb = (grng.standard_normal((512, 512)).astype(dtype) for _ in range(2))
        gc_ = np.empty((512, 512), dtype=dtype)

        def gemm_ref(ga=ga, gb=gb, gc_=gc_):
            np.matmul(ga, gb, out=gc_)

        gemm_refs[dtype] = gemm_ref
    # Round after round over every case: a row's time moves with the state the earlier rows
    # left (the allocator's, the caches'), so each round meets a different one.
    per_round = {}  # (dtype, key) -> the case's Result in each round
    for _ in range(rounds):
        for dtype in dtypes:
            for case in cases:
                res = run_case(
                    case, np.dtype(dtype).type, torch, reps, min_total, args.seed, gemm_refs[dtype]
                )
                per_round.setdefault((dtype, case.key), []).append(res)
    for dtype in dtypes:
        for case in cases:
            res = merge_rounds(per_round[(dtype, case.key)])
            run.results.append(res)
            if res.mg is not None and res.gemms:
                for M, K, N, _c in res.gemms:
                    key = (dtype, M, K, N)
                    if key not in run.shape_rates:
                        run.shape_rates[key] = gemm_relative_rate(
                            dtype, M, K, N, gemm_refs[dtype], grng, gemm_reps, gemm_total
                        )
        run.loops[dtype] = [
            run_loop_case(lc, reps, 0.1 if args.quick else 0.3)
            for lc in loop_cases(np.dtype(dtype).type)
        ]

    # Memory: tracemalloc peak of one mathgrad forward+backward per case (after timing, so
    # the tracing does not slow the timed runs).
    for res in run.results:
        if res.mg is None:
            continue
        try:
            prep = res.case.prep(np.dtype(res.dtype).type, np.random.default_rng(args.seed), None)
            res.peak = traced_peak(prep.mg)
        except Exception:  # noqa: BLE001
            res.peak = None

    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime - ru_start.ru_utime - ru_start.ru_stime
    wall = time.perf_counter() - t_start
    rss = ru.ru_maxrss if sys.platform == "darwin" else ru.ru_maxrss * 1024
    run.process = {
        "load_start": list(load_start),
        "load_end": list(os.getloadavg()),
        "peak_rss_bytes": rss,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_share": cpu / wall,
    }
    print_report(run)
    if args.json:
        write_json(run, args.json)
        print(f"   results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
