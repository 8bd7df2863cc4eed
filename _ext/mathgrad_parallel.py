"""Execute the book's notebooks in parallel, into MyST-NB's execution cache.

MyST-NB (cache mode) executes each page's notebook while Sphinx reads it, one page after
the other, so a cold build uses one core. This extension runs first: when Sphinx is about
to read pages (``env-before-read-docs``), it finds the MyST notebooks among them whose code
is not in the jupyter-cache yet and executes them in a pool of processes (one kernel per
process, ``mathgrad_execution_jobs`` at once, default: the number of cores), then stores
each successful result in the cache exactly as MyST-NB would. MyST-NB then finds every page
in the cache and only merges the outputs.

Nothing is hidden: a notebook that fails here is not cached, so MyST-NB executes it again
while reading and reports the failure as usual (warning, ``reports/<page>.err.log``,
failed ``-W`` build). Only the parent process writes to the cache's sqlite database.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

from sphinx.util import logging

logger = logging.getLogger(__name__)

# Each kernel gets cores // jobs BLAS threads, so that parallel kernels do not oversubscribe.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _execute(path: str, source: str, timeout: int, allow_errors: bool, threads: int):
    """Run one notebook (in a worker process); return it executed, or the error."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution
    from myst_nb.core.read import read_myst_markdown_notebook

    for var in _THREAD_VARS:  # inherited by the kernel this process starts
        os.environ.setdefault(var, str(threads))
    nb = read_myst_markdown_notebook(source, path=path)
    result = single_nb_execution(
        nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=allow_errors
    )
    if result.err is not None:
        return path, None, result.time, f"{type(result.err).__name__}"
    return path, nbformat.writes(nb), result.time, None


def _pre_execute(app, env, docnames):
    config = app.config
    if config.nb_execution_mode != "cache" or not docnames:
        return
    execute_missing(
        [env.doc2path(docname) for docname in sorted(docnames)],
        cache_path=config.nb_execution_cache_path or ".jupyter_cache",
        timeout=config.nb_execution_timeout,
        allow_errors=config.nb_execution_allow_errors,
        exclude=config.nb_execution_excludepatterns,
        jobs=config.mathgrad_execution_jobs,
        log=logger.info,
    )


def execute_missing(paths, *, cache_path, timeout, allow_errors, exclude=(), jobs=0, log=print):
    """Execute, in parallel, the MyST notebooks among ``paths`` that are not in the cache.

    Also called before Sphinx runs at all by tools/build_html.py, which then builds both
    editions at once from the filled cache. Returns the number of notebooks left out of
    the cache (0: every one is in it; -1: none was looked at).
    """
    jobs = jobs or os.cpu_count() or 1
    if jobs < 2:
        return -1

    from jupyter_cache import get_cache
    from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook

    cache = get_cache(cache_path)
    todo = []
    for path in map(Path, paths):
        posix = PurePosixPath(path.as_posix())  # excluded as MyST-NB excludes them
        if path.suffix != ".md" or any(posix.match(p) for p in exclude):
            continue
        source = path.read_text(encoding="utf-8")
        if not is_myst_markdown_notebook(source):
            continue
        try:
            cache.match_cache_notebook(read_myst_markdown_notebook(source, path=str(path)))
        except KeyError:
            todo.append((str(path), source))
    if len(todo) < 2:  # nothing to gain: MyST-NB executes it while reading
        return len(todo)

    todo.sort(key=lambda item: -len(item[1]))  # longest first, to balance the workers
    jobs = min(jobs, len(todo))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    log(f"[mathgrad] executing {len(todo)} notebook(s) with {jobs} processes")
    import nbformat
    from jupyter_cache.base import CacheBundleIn

    start = time.perf_counter()
    left = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_execute, p, s, timeout, allow_errors, threads) for p, s in todo]
        for future in futures:
            path, executed, seconds, error = future.result()
            name = os.path.relpath(path)
            if executed is None:
                # Not cached: MyST-NB runs it again while reading and reports the failure.
                log(f"[mathgrad] {name} failed ({error}) after {seconds:.1f} s")
                left += 1
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nbformat.reads(executed, as_version=4),
                    path,
                    data={"execution_seconds": seconds},
                ),
                check_validity=False,
                overwrite=True,
            )
            log(f"[mathgrad] {name} executed in {seconds:.1f} s")
    log(f"[mathgrad] parallel execution took {time.perf_counter() - start:.1f} s")
    return left


def setup(app):
    # 0 = one process per core; 1 = leave execution to MyST-NB (serial).
    app.add_config_value("mathgrad_execution_jobs", 0, "env", types=(int,))
    # Before MyST-NB reads the pages (it connects to nothing earlier than reading).
    app.connect("env-before-read-docs", _pre_execute, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
