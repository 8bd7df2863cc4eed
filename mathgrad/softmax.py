"""Softmax, log-softmax, the softmax Jacobian, and the cross-entropy loss on logits.

``softmax`` and ``log_softmax`` subtract the largest entry first, so every finite input
gives finite output. ``softmax_backward`` is the vector-Jacobian product
``p * (dp - sum(dp * p))``, which never builds the ``K x K`` Jacobian;
``softmax_jacobian`` builds it, for the book and for tests. ``cross_entropy_forward``
works from ``log_softmax`` (never ``log(softmax)``), so the loss stays finite and exact
for logits of any magnitude, and its backward is ``(p - y) / N``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _blocks
from ._validation import (
    as_float_array,
    as_label_array,
    check_cache,
    check_dout,
    check_int,
    check_shape,
    fmt_shape,
    loss_value,
)

__all__ = [
    "cross_entropy_backward",
    "cross_entropy_forward",
    "log_softmax",
    "softmax",
    "softmax_backward",
    "softmax_forward",
    "softmax_jacobian",
]

_ROW_SUM_TOL = 1e-6


def _check_axis(axis, z: np.ndarray, func: str) -> int:
    """Return ``axis`` as a non-negative int, checking ``z`` has entries along it."""
    axis = check_int(axis, "axis", func)
    if z.ndim == 0:
        raise ValueError(
            f"{func}: z must have at least 1 dimension to take a softmax over, got a 0-d array"
        )
    if not -z.ndim <= axis < z.ndim:
        raise ValueError(
            f"{func}: axis {axis} is out of range for z with {z.ndim} dimension"
            f"{'s' if z.ndim != 1 else ''} (shape {fmt_shape(z.shape)}); expected an int in "
            f"[{-z.ndim}, {z.ndim})"
        )
    axis %= z.ndim
    if z.shape[axis] == 0:
        raise ValueError(
            f"{func}: z has no entries along axis {axis} (shape {fmt_shape(z.shape)}); "
            "expected at least one class"
        )
    return axis


def _shifted(z: np.ndarray, axis: int) -> np.ndarray:
    """``z`` minus its largest entry along ``axis``: every entry <= 0, one entry == 0."""
    return z - np.max(z, axis=axis, keepdims=True)


def _softmax_parts(z: np.ndarray, axis: int):
    """The softmax ``p = exp(z - m) / s`` in one new array, with its shift and its sum.

    Returns ``(p, m, s)``: ``m`` the largest entry along ``axis`` and ``s`` the sum of
    ``exp(z - m)`` along it (both with kept dims). ``s`` is at least 1 (the largest entry
    contributes ``exp(0)``), so ``log(s)`` is finite.
    """
    if axis == z.ndim - 1:
        return _softmax_last(z)
    m = np.max(z, axis=axis, keepdims=True)
    p = np.subtract(z, m)  # a new array: z is left alone
    np.exp(p, out=p)
    s = np.sum(p, axis=axis, keepdims=True)
    p /= s
    return p, m, s


def _softmax_last(z: np.ndarray):
    """:func:`_softmax_parts` along the last axis, a block of rows at a time so that the
    four passes over a block (shift, exp, sum, divide) find it in cache."""
    k = z.shape[-1]
    z2 = z.reshape(-1, k)  # (M, K)
    p = np.empty(z2.shape, z.dtype)
    m = np.empty((z2.shape[0], 1), z.dtype)
    s = np.empty((z2.shape[0], 1), z.dtype)
    for rows in _blocks.row_blocks(z2):
        np.max(z2[rows], axis=1, keepdims=True, out=m[rows])
        pb = np.subtract(z2[rows], m[rows], out=p[rows])
        np.exp(pb, out=pb)
        np.sum(pb, axis=1, keepdims=True, out=s[rows])
        pb /= s[rows]
    keep = z.shape[:-1] + (1,)
    return p.reshape(z.shape), m.reshape(keep), s.reshape(keep)


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    return _softmax_parts(z, axis)[0]


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    logp = _shifted(z, axis)
    # the sum is at least 1 (the largest entry contributes exp(0)), so its log is finite
    logp -= np.log(np.sum(np.exp(logp), axis=axis, keepdims=True))
    return logp


def softmax(z, axis=-1):
    """Softmax along one axis, stable for any finite input.

    Parameters
    ----------
    z : array_like of shape (..., K, ...)
        Logits; int and bool input become float64. ``K >= 1`` (else ``ValueError``);
        the other axes may be empty, giving an empty result.
    axis : int, default -1
        The axis of the ``K`` classes.

    Returns
    -------
    p : ndarray of the shape and floating dtype of ``z``
        Entries in ``[0, 1]`` summing to 1 along ``axis``.
    """
    func = "softmax"
    z = as_float_array(z, "z", func)
    return _softmax(z, _check_axis(axis, z, func))


def log_softmax(z, axis=-1):
    """Logarithm of the softmax along one axis, computed without taking ``log(softmax)``.

    ``log_softmax(z) = (z - max z) - log(sum(exp(z - max z)))``, finite for any finite
    ``z`` even where the softmax itself underflows to 0.

    Parameters
    ----------
    z : array_like of shape (..., K, ...)
        Logits; int and bool input become float64. ``K >= 1`` (else ``ValueError``);
        the other axes may be empty, giving an empty result.
    axis : int, default -1
        The axis of the ``K`` classes.

    Returns
    -------
    logp : ndarray of the shape and floating dtype of ``z``
        Entries ``<= 0``.
    """
    func = "log_softmax"
    z = as_float_array(z, "z", func)
    return _log_softmax(z, _check_axis(axis, z, func))


def softmax_jacobian(z):
    """Jacobian of the softmax over the last axis, ``J[..., i, j] = p_i (δ_ij - p_j)``.

    Parameters
    ----------
    z : array_like of shape (..., K)
        Logits, ``K >= 1``; the leading axes may be empty.

    Returns
    -------
    J : ndarray of shape (..., K, K), the floating dtype of ``z``
        ``J[..., i, j] = ∂p_i / ∂z_j``; symmetric, each row and column sums to 0.
    """
    func = "softmax_jacobian"
    z = as_float_array(z, "z", func)
    p = _softmax(z, _check_axis(-1, z, func))
    eye = np.eye(z.shape[-1], dtype=z.dtype)
    return p[..., :, None] * (eye - p[..., None, :])  # (..., K, K), i rows, j columns


class SoftmaxCache(NamedTuple):
    """What ``softmax_backward`` needs: the output ``p`` (a copy) and the softmax axis."""

    p: np.ndarray
    axis: int


def softmax_forward(z, axis=-1):
    """Softmax along one axis, with a cache for :func:`softmax_backward`.

    Parameters
    ----------
    z : array_like of shape (..., K, ...)
        Logits, ``K >= 1``; the other axes may be empty, giving an empty result.
    axis : int, default -1
        The axis of the ``K`` classes.

    Returns
    -------
    p : ndarray of the shape and floating dtype of ``z``
        The softmax.
    cache : SoftmaxCache
        ``(p, axis)``, with a copy of ``p``: the caller may write into the returned one.
    """
    func = "softmax_forward"
    z = as_float_array(z, "z", func)
    axis = _check_axis(axis, z, func)
    p = _softmax(z, axis)
    return p, SoftmaxCache(p.copy(), axis)


def softmax_backward(dp, cache):
    """Vector-Jacobian product of the softmax: ``dz = p * (dp - sum(dp * p))``.

    Parameters
    ----------
    dp : array_like of the shape of ``p``
        Upstream gradient ``∂C/∂p``.
    cache : SoftmaxCache
        From :func:`softmax_forward`.

    Returns
    -------
    dz : ndarray of the shape and dtype of ``z``
        ``∂C/∂z``; the ``K x K`` Jacobian is never formed.
    """
    func = "softmax_backward"
    p, axis = check_cache(cache, SoftmaxCache, func)
    dp = check_dout(dp, p.shape, func, name="dp")
    dz = p * (dp - np.sum(dp * p, axis=axis, keepdims=True))
    return dz.astype(p.dtype, copy=False)


class CrossEntropyCache(NamedTuple):
    """What ``cross_entropy_backward`` needs.

    ``p`` is the softmax of the logits, ``(N, K)``; ``target`` holds either the labels
    ``(N,)`` as ``intp`` or the probability rows ``(N, K)``.
    """

    p: np.ndarray
    target: np.ndarray


def _check_target(target, n: int, k: int, func: str) -> np.ndarray:
    """Labels ``(N,)`` in ``[0, K)`` or probability rows ``(N, K)`` summing to 1."""
    if isinstance(target, np.ndarray):
        arr = target
    else:
        arr = as_float_array(target, "target", func)
    if arr.ndim == 1:
        return as_label_array(arr, "target", func, n_classes=k, shape=(n,))
    arr = as_float_array(arr, "target", func)
    if arr.ndim != 2:
        raise ValueError(
            f"{func}: target must be labels of shape ({n},) or probability rows of shape "
            f"({n}, {k}), got {arr.ndim} dimensions (shape {fmt_shape(arr.shape)})"
        )
    check_shape(arr, (n, k), "target", func, hint="(one probability row per row of logits)")
    outside = (arr < 0) | (arr > 1)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(
            f"{func}: target as probability rows must hold values in [0, 1], got "
            f"{arr[row, col]:g} at row {row}, column {col}"
        )
    sums = np.sum(arr, axis=1, dtype=np.float64)
    off = np.abs(sums - 1.0) > _ROW_SUM_TOL
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(
            f"{func}: target as probability rows must sum to 1 (within {_ROW_SUM_TOL:g}), "
            f"got row {row} summing to {sums[row]:.9g}"
        )
    return arr


def cross_entropy_forward(logits, target):
    """Mean cross-entropy between ``softmax(logits)`` and a target, from the logits.

    ``loss = -(1/N) Σ_n Σ_k y_nk log p_nk`` with ``log p`` from :func:`log_softmax`,
    so the loss is finite and exact for logits of any finite magnitude.

    Parameters
    ----------
    logits : array_like of shape (N, K)
        Unnormalised scores, ``N >= 1`` rows of ``K >= 1`` classes.
    target : array_like of shape (N,) or (N, K)
        Integer labels in ``[0, K)`` (whole-valued floats accepted), or probability
        rows with entries in ``[0, 1]`` summing to 1 within 1e-6 (one-hot included).

    Returns
    -------
    loss : float or 0-d ndarray
        A Python ``float`` for float64 (and integer) logits, a 0-d float32 array for
        float32 logits.
    cache : CrossEntropyCache
        ``(p, target)``.
    """
    func = "cross_entropy_forward"
    logits = as_float_array(logits, "logits", func, ndim=2)
    n, k = logits.shape
    if n == 0 or k == 0:
        raise ValueError(
            f"{func}: logits must have at least one row and one class, got shape "
            f"{fmt_shape(logits.shape)}"
        )
    y = _check_target(target, n, k, func)
    p, m, s = _softmax_parts(logits, 1)  # p = exp(z - m) / s, the softmax, (N, K)
    log_s = np.log(s)  # (N, 1): log p = (z - m) - log s, the log-softmax
    if y.ndim == 1:
        rows = np.arange(n)
        # the log-softmax at the labels only, (N,)
        logp_y = (logits[rows, y] - m[:, 0]) - log_s[:, 0]
        total = -np.sum(logp_y, dtype=np.float64)
    else:
        logp = np.subtract(logits, m)
        logp -= log_s
        # y * logp only where y > 0: 0 * log p stays 0 even if log p were -inf
        terms = np.multiply(y, logp, out=np.zeros(logp.shape, np.float64), where=y != 0)
        total = -np.sum(terms, dtype=np.float64)
    loss = loss_value(total / n, logits.dtype)
    return loss, CrossEntropyCache(p, y)


def cross_entropy_backward(dloss, cache):
    """Gradient of the mean cross-entropy with respect to the logits.

    Parameters
    ----------
    dloss : float or 0-d array_like
        Upstream gradient ``∂C/∂loss``.
    cache : CrossEntropyCache
        From :func:`cross_entropy_forward`.

    Returns
    -------
    dlogits : ndarray of shape (N, K), the logits' dtype
        ``dloss * (p - y) / N``, with ``y`` the one-hot rows of labels.
    """
    func = "cross_entropy_backward"
    p, y = check_cache(cache, CrossEntropyCache, func)
    dloss = check_dout(dloss, (), func, name="dloss")
    n = p.shape[0]
    scale = float(dloss) / n
    if y.ndim == 1:
        rows = np.arange(n)
        dlogits = p * scale
        # y is one-hot: only the label entries (rows, y) become (p - 1) * scale
        dlogits[rows, y] = (p[rows, y] - 1) * scale
    else:
        dlogits = (p - y) * scale
    return dlogits.astype(p.dtype, copy=False)
