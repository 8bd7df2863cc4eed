"""The fully connected (affine) layer ``y = x @ w.T + b``.

``w`` is ``(out_features, in_features)``: row ``i`` feeds neuron ``i`` of this layer from
every neuron ``j`` of the layer below, as ``w_ij`` in the derivations. With one sample per
row of ``x``, the book's column-vector ``z = W a + b`` becomes ``y = x @ w.T + b``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import (
    as_float_array,
    check_cache,
    check_dout,
    check_nonzero_sizes,
    fmt_shape,
)

__all__ = [
    "linear_backward",
    "linear_forward",
]


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs: ``x``, ``w`` and the dtype of ``b``."""

    x: np.ndarray
    w: np.ndarray
    b_dtype: np.dtype


def linear_forward(x, w, b):
    """Affine layer ``y = x @ w.T + b``.

    Parameters
    ----------
    x : array_like of shape (N, D)
        One sample per row. ``N = 0`` gives an empty ``y`` (and zero ``dw``, ``db``);
        ``D = 0`` raises ``ValueError``.
    w : array_like of shape (M, D)
        Weights; ``w[i, j]`` connects input feature ``j`` to output ``i``. ``M >= 1``.
    b : array_like of shape (M,)
        Biases, one per output.

    Returns
    -------
    y : ndarray of shape (N, M)
        In the common floating dtype of ``x``, ``w``, ``b``.
    cache : LinearCache
        Holds ``x``, ``w`` and ``b``'s dtype.
    """
    func = "linear_forward"
    x = as_float_array(x, "x", func, ndim=2)
    w = as_float_array(w, "w", func, ndim=2)
    b = as_float_array(b, "b", func, ndim=1)
    check_nonzero_sizes(x, ("", "D"), "x", func)
    check_nonzero_sizes(w, ("M", "D"), "w", func)
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"{func}: w has {w.shape[1]} input features but x has {x.shape[1]} "
            f"(x: {fmt_shape(x.shape)}, w: {fmt_shape(w.shape)}); expected w of shape "
            f"(M, {x.shape[1]})"
        )
    if b.shape[0] != w.shape[0]:
        raise ValueError(
            f"{func}: b has {b.shape[0]} entries but w has {w.shape[0]} outputs "
            f"(w: {fmt_shape(w.shape)}, b: {fmt_shape(b.shape)}); expected b of shape "
            f"({w.shape[0]},), one bias per row of w"
        )
    y = (x @ w.T).astype(np.result_type(x, w, b), copy=False)  # (N, D) @ (D, M) -> (N, M)
    y += b  # (M,) added to every row, in place
    return y, LinearCache(x, w, b.dtype)


def linear_backward(dy, cache):
    """Gradients of :func:`linear_forward`.

    Parameters
    ----------
    dy : array_like of shape (N, M)
        Upstream gradient ``∂C/∂y``.
    cache : LinearCache
        The second value returned by :func:`linear_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D), in ``x``'s dtype
        ``dy @ w``.
    dw : ndarray of shape (M, D), in ``w``'s dtype
        ``dy.T @ x``: ``dw[i, j] = Σ_n dy[n, i] · x[n, j]``, the book's
        ``∂C/∂w_ij = a_j δ_i`` summed over the batch.
    db : ndarray of shape (M,), in ``b``'s dtype
        ``dy`` summed over the batch.
    """
    func = "linear_backward"
    x, w, b_dtype = check_cache(cache, LinearCache, func)
    dy = check_dout(dy, (x.shape[0], w.shape[0]), func, name="dy")
    dx = (dy @ w).astype(x.dtype, copy=False)
    dw = (dy.T @ x).astype(w.dtype, copy=False)
    db = dy.sum(axis=0).astype(b_dtype, copy=False)
    return dx, dw, db


def _linear_param_backward(dy, cache):
    """``(dw, db)`` of :func:`linear_backward` without ``dx``.

    For a first layer, whose input (the data) needs no gradient: it skips the product
    ``dy @ w``.
    """
    func = "linear_backward"
    x, w, b_dtype = check_cache(cache, LinearCache, func)
    dy = check_dout(dy, (x.shape[0], w.shape[0]), func, name="dy")
    dw = (dy.T @ x).astype(w.dtype, copy=False)
    db = dy.sum(axis=0).astype(b_dtype, copy=False)
    return dw, db
