"""Embedding lookup: forward, backward (a scatter-add), and the loop oracle.

``embedding_forward(ids, weight)`` returns ``weight[ids]``: row ``ids[p]`` of the table for
every position ``p`` of an integer array of any shape. That is the product of a one-hot
matrix with the table, so the gradient of the table is the one-hot matrix transposed
times the upstream gradient: each position's gradient is added to the row it looked up.
Rows looked up several times receive the sum; rows never looked up receive exactly 0.
PyTorch's ``embedding``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, as_plain_array, check_cache, check_dout, fmt_shape

__all__ = [
    "embedding_backward",
    "embedding_backward_loop",
    "embedding_forward",
]


class EmbeddingCache(NamedTuple):
    """What :func:`embedding_backward` needs from :func:`embedding_forward`."""

    ids: np.ndarray  # any shape, intp, values in [0, V)
    weight_shape: tuple[int, int]  # (V, E)
    weight_dtype: np.dtype


def _check_ids(ids, n_rows, func):
    """Integer ids of any shape with values in ``[0, n_rows)``, returned as ``intp``."""
    if isinstance(ids, (str, bytes, dict, set)) or ids is None:
        raise TypeError(f"{func}: ids must be an integer array, got {type(ids).__name__}")
    arr = as_plain_array(ids, "ids", func)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{func}: ids must hold integers (row indices into weight), got dtype "
            f"{arr.dtype} (shape {fmt_shape(arr.shape)}); convert with ids.astype(int) "
            "if the values are whole numbers"
        )
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi >= n_rows:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{func}: ids holds {int(bad)}, outside [0, {n_rows}) for a weight with "
                f"{n_rows} rows"
            )
    return arr.astype(np.intp, copy=False)


def _check_rows_finite(out, ids, weight, func):
    """Raise ``ValueError`` if a row of ``weight`` that ``ids`` looks up holds NaN or inf.

    Only those rows reach ``out`` and the gradient; the others are not read. The check
    reads ``out`` or, when ``out`` is the larger, ``weight``.
    """
    if out.size <= weight.size:
        if np.isfinite(out).all():
            return
        bad_ids = ids[~np.isfinite(out).all(axis=-1)]
    else:
        finite_rows = np.isfinite(weight).all(axis=1)  # (V,)
        if finite_rows[ids].all():
            return
        bad_ids = ids[~finite_rows[ids]]
    raise ValueError(
        f"{func}: weight row {int(bad_ids.flat[0])}, which ids looks up, contains NaN or "
        "infinity; expected finite values in every row looked up"
    )


def embedding_forward(ids, weight):
    """Look up rows of an embedding table (PyTorch's ``embedding``).

    Parameters
    ----------
    ids : array_like of int, any shape
        Row indices in ``[0, V)``; data, not differentiated. Bool and float ids raise
        ``TypeError``.
    weight : array_like of shape (V, E)
        The table, one row per id. The rows ``ids`` looks up must be finite (the others
        are not read).

    Returns
    -------
    out : ndarray of shape ids.shape + (E,)
        ``weight[ids]``, dtype of ``weight`` (float64 for integer input).
    cache : EmbeddingCache
        The ids, the table's shape and dtype.
    """
    func = "embedding_forward"
    weight = as_float_array(weight, "weight", func, ndim=2, finite=False)  # rows: see below
    ids = _check_ids(ids, weight.shape[0], func)
    out = np.take(weight, ids, axis=0)
    _check_rows_finite(out, ids, weight, func)
    return out, EmbeddingCache(ids, weight.shape, weight.dtype)


def _check_backward_args(dout, cache, func):
    check_cache(cache, EmbeddingCache, func)
    return check_dout(dout, cache.ids.shape + cache.weight_shape[1:], func)


def embedding_backward(dout, cache):
    """Gradient of the embedding table: a scatter-add of ``dout`` into the looked-up rows.

    Parameters
    ----------
    dout : array_like of shape ids.shape + (E,)
        Upstream gradient.
    cache : EmbeddingCache
        The second value returned by :func:`embedding_forward`.

    Returns
    -------
    dweight : ndarray of shape (V, E)
        Row ``r`` is the sum of ``dout`` over the positions whose id is ``r`` (0 for rows
        never looked up); dtype of ``weight``.
    """
    dout = _check_backward_args(dout, cache, "embedding_backward")
    n_rows, width = cache.weight_shape
    dtype = np.result_type(dout.dtype, cache.weight_dtype)
    flat_ids = cache.ids.ravel()
    rows = dout.reshape(-1, width).astype(dtype, copy=False)  # (P, E), P positions
    dweight = np.zeros((n_rows, width), dtype=dtype)
    if not flat_ids.size:
        return dweight.astype(cache.weight_dtype, copy=False)
    # Every position's row into place. An id looked up more than once keeps one of its
    # rows here; those ids get their sums below.
    dweight[flat_ids] = rows
    order = np.argsort(flat_ids, kind="stable")  # positions grouped by id, each group in order
    sorted_ids = flat_ids[order]
    first = np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]  # the first position of each id
    if first.all():  # every id looked up once: done
        return dweight.astype(cache.weight_dtype, copy=False)
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, flat_ids.size])  # positions per id
    group = np.cumsum(first) - 1  # the id group of each sorted position
    rank = np.arange(flat_ids.size) - starts[group]  # 0 for an id's first position, 1, ...
    many = counts > 1  # the ids looked up more than once
    slot = np.cumsum(many) - 1  # row of the sums below for each repeated id's group
    repeated = many[group]
    # Rank 0 of each repeated id starts its sum; later ranks add, in the order of positions.
    # Within one rank the ids are distinct, so a fancy-indexed += is safe.
    sums = np.take(rows, order[repeated & (rank == 0)], axis=0)  # (repeated ids, E)
    for r in range(1, counts.max()):
        at = rank == r
        sums[slot[group[at]]] += np.take(rows, order[at], axis=0)
    dweight[sorted_ids[starts[many]]] = sums
    return dweight.astype(cache.weight_dtype, copy=False)


def embedding_backward_loop(dout, cache):
    """The table's gradient position by position (a test oracle).

    For every position ``p``, ``dweight[ids[p]] += dout[p]``. Same parameters and return
    as :func:`embedding_backward`.
    """
    dout = _check_backward_args(dout, cache, "embedding_backward_loop")
    dweight = np.zeros(cache.weight_shape)
    for p in np.ndindex(cache.ids.shape):
        dweight[cache.ids[p]] += dout[p]
    return dweight.astype(cache.weight_dtype)
