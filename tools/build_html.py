"""Build both editions of the book, as `make html` does.

    python tools/build_html.py [SPHINX_OPTION ...]

1. The notebooks whose code is not in the execution cache yet run first, in a pool of
   processes (_ext/mathgrad_parallel.py's execute_missing; the cache folder is the one
   conf.py names).
2. Then the two editions are built at the same time, each by its own Sphinx process, from
   that cache: English into _build/html, Chinese (-D language=zh_CN, prose from
   locales/zh_CN) into _build/html/zh_CN. Both are strict (-W --keep-going -n): any
   warning, broken reference, failing cell or untranslated entry fails the build.

Reading and writing the pages takes one core per edition, so on two cores the Chinese
edition costs almost no extra time. Each process's messages are printed as they come, the
Chinese edition's prefixed with "[zh_CN] ". A failed edition's doctrees are deleted, so the
next build reads every page again and fails again until the cause is fixed (an incremental
build would skip the unchanged pages and hide it). Exit status 1 if either edition failed.
"""

from __future__ import annotations

import hashlib
import os
import runpy
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (language, output folder, doctrees folder, prefix of its messages)
EDITIONS = (
    ("en", "_build/html", "_build/doctrees", ""),
    ("zh_CN", "_build/html/zh_CN", "_build/doctrees-zh_CN", "[zh_CN] "),
)


def _sources_stamp(paths: list[str]) -> str:
    """Names, sizes and modification times of the pages: changes whenever a page does."""
    parts = []
    for path in paths:
        st = os.stat(path)
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def execute(conf: dict) -> None:
    """Run the pages' notebooks that are not in the execution cache (a second or less when
    nothing changed: the check is skipped while no page has changed since every notebook
    was last found in the cache, whose folder conf.py names after the package sources)."""
    paths = sorted(str(p) for p in (ROOT / "docs").glob("*.md"))
    cache = Path(conf["nb_execution_cache_path"])
    stamp = cache / "mathgrad-all-cached"
    current = _sources_stamp(paths)
    if stamp.is_file() and stamp.read_text() == current:
        return
    sys.path.insert(0, str(ROOT / "_ext"))
    from mathgrad_build_messages import kernel_profile
    from mathgrad_parallel import execute_missing

    kernel_profile(ROOT)  # quiet kernels, as in a build: no "running over TCP" warning

    def log(message: str) -> None:
        if "failed" in message or "took" in message:
            print(message, flush=True)

    left = execute_missing(
        paths,
        cache_path=str(cache),
        timeout=conf.get("nb_execution_timeout", 30),
        allow_errors=conf.get("nb_execution_allow_errors", False),
        exclude=conf.get("nb_execution_excludepatterns", ()),
        jobs=conf.get("mathgrad_execution_jobs", 0),
        log=log,
    )
    if left == 0:  # every notebook is in the cache (a failed one is not: checked again)
        stamp.write_text(current)


def _relay(stream, prefix: str, out) -> None:
    for line in stream:
        out.write(prefix + line)
        out.flush()


def build(options: list[str]) -> int:
    processes = []
    for language, outdir, doctrees, prefix in EDITIONS:
        shutil.rmtree(ROOT / outdir / "reports", ignore_errors=True)  # this build's only
        cmd = [
            sys.executable, "-m", "sphinx", "-b", "html", "-c", ".", "docs", outdir,
            "-d", doctrees, "-D", f"language={language}", "-W", "--keep-going", "-n", "-q",
            *options,
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        relays = [
            threading.Thread(target=_relay, args=(proc.stdout, prefix, sys.stdout)),
            threading.Thread(target=_relay, args=(proc.stderr, prefix, sys.stderr)),
        ]
        for relay in relays:
            relay.start()
        processes.append((language, outdir, doctrees, proc, relays))
    failed = []
    for language, outdir, doctrees, proc, relays in processes:
        proc.wait()
        for relay in relays:
            relay.join()
        if proc.returncode:
            shutil.rmtree(ROOT / doctrees, ignore_errors=True)
            failed.append((language, outdir))
    for language, outdir in failed:
        hint = " (an entry not translated? see README, Translating)" if language != "en" else ""
        print(
            f"make html: the {language} edition failed{hint}; logs of failing pages: "
            f"{outdir}/reports/",
            file=sys.stderr,
        )
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    conf = runpy.run_path(str(ROOT / "conf.py"))  # the execution cache's folder, as Sphinx
    if conf.get("nb_execution_mode") == "cache":
        execute(conf)
    code = build(argv[1:])
    if not code:
        print(f"make html: both editions built in {time.perf_counter() - start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
