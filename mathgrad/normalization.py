"""Batch normalisation and layer normalisation: forward and backward.

Batch norm normalises each feature of ``x (N, D)`` over the batch, or each channel of
``x (N, C, H, W)`` over ``N, H, W`` (PyTorch's ``BatchNorm1d``/``BatchNorm2d`` in training
mode); layer norm normalises each row of ``x (..., D)`` over its last axis. Both compute

    x̂ = (x − μ) / sqrt(v + eps),    y = gamma · x̂ + beta

with the mean ``μ`` and the biased variance ``v`` of the values they normalise together,
and both have the same compact backward (the book's chapter derives it)::

    dx = (gamma / sqrt(v + eps)) · (dy − mean(dy) − x̂ · mean(dy · x̂))

with the means taken over the same values. The vectorised batch-norm pair works on ``x``
as ``(N, D)`` or on a view of it as ``(N, C, L)`` with ``L = H·W``, with the per-feature
arrays shaped to broadcast against either, so one code path serves both ranks.
The loop pair below writes batch norm's backward out feature by feature from the chain
rule through ``μ`` and ``v``, without the compact form; it is a test oracle.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _blocks
from ._validation import (
    as_float_array,
    check_cache,
    check_dout,
    check_finite,
    check_real,
    check_shape,
    fmt_shape,
)

__all__ = [
    "batchnorm_backward",
    "batchnorm_backward_loop",
    "batchnorm_forward",
    "batchnorm_forward_loop",
    "batchnorm_inference",
    "batchnorm_running_stats",
    "layernorm_backward",
    "layernorm_forward",
]


class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs from :func:`batchnorm_forward`."""

    xhat: np.ndarray  # (N, C, L) with L = H·W, or (N, D): the normalised input
    inv_std: np.ndarray  # (C,): 1 / sqrt(v + eps)
    gamma: np.ndarray  # (C,)
    x_shape: tuple[int, ...]


class BatchNormLoopCache(NamedTuple):
    """What :func:`batchnorm_backward_loop` needs from :func:`batchnorm_forward_loop`."""

    x: np.ndarray
    gamma: np.ndarray
    eps: float


class LayerNormCache(NamedTuple):
    """What :func:`layernorm_backward` needs from :func:`layernorm_forward`.

    ``x`` is the input itself (a view, as :func:`~mathgrad.linear.linear_forward` keeps
    its ``x``), not a copy; the normalised rows are recomputed from it, block by block,
    so the forward pass writes one array, not two.
    """

    x: np.ndarray  # (M, D): the input rows, M the product of the leading axes
    mu: np.ndarray  # (M,): the mean of each row
    inv_std: np.ndarray  # (M,): 1 / sqrt(v + eps) of each row
    gamma: np.ndarray  # (D,)
    x_shape: tuple[int, ...]

    @property
    def xhat(self) -> np.ndarray:
        """The normalised rows ``(x − μ) / sqrt(v + eps)``, shape (M, D)."""
        return (self.x - self.mu[:, None]) * self.inv_std[:, None]


def _check_affine(x, gamma, beta, eps, func, what):
    """Validate ``gamma``, ``beta`` (one entry per ``what`` of ``x``) and ``eps``."""
    n_feat = x.shape[1] if what != "entry of the last axis" else x.shape[-1]
    gamma = as_float_array(gamma, "gamma", func, ndim=1)
    beta = as_float_array(beta, "beta", func, ndim=1)
    hint = f"(one per {what} of x: {fmt_shape(x.shape)})"
    check_shape(gamma, (n_feat,), "gamma", func, hint)
    check_shape(beta, (n_feat,), "beta", func, hint)
    eps = check_real(eps, "eps", func, low=0, low_open=True)
    return gamma, beta, eps


def _batch_input(x, func, finite=True):
    """Validate a batch-norm input: ``x`` of rank 2 or 4 with at least 2 values a feature
    (``finite=False``: the caller checks finiteness, see ``check_finite``)."""
    x = as_float_array(x, "x", func, ndim=(2, 4), finite=finite)
    m = x.size // x.shape[1] if x.shape[1] else 0
    if m < 2:
        over = "N" if x.ndim == 2 else "N·H·W"
        raise ValueError(
            f"{func}: x has {m} value per {'feature' if x.ndim == 2 else 'channel'} "
            f"(x: {fmt_shape(x.shape)}); batch statistics need at least 2 ({over} >= 2), "
            "as in PyTorch's training mode"
        )
    return x, m


def _as_ncl(a):
    """View ``(N, C, H, W)`` as ``(N, C, H·W)``; a 2-D ``(N, D)`` stays as it is."""
    return a if a.ndim == 2 else a.reshape(a.shape[0], a.shape[1], -1)


def _per_channel(p, a):
    """Shape a ``(C,)`` array to broadcast against ``a``, ``(N, C)`` or ``(N, C, L)``."""
    return p if a.ndim == 2 else p[:, None]


def _channel_sum(a):
    """Sum of ``a``, ``(N, C)`` or ``(N, C, L)``, over every axis but ``C``: shape ``(C,)``."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf − inf: the caller says so
        if a.ndim == 2:
            return a.sum(axis=0)
        n, c, length = a.shape
        return (a.reshape(n * c, length) @ np.ones(length, a.dtype)).reshape(n, c).sum(axis=0)


def _row_dot(a, b):
    """Dot product of each row of ``a`` with the same row of ``b``, both ``(M, D)``: ``(M,)``."""
    return (a[:, None, :] @ b[:, :, None])[:, 0, 0]  # a batch of 1×1 matmuls, vectorised


def _channel_dot(a, b):
    """Sum of ``a · b`` over every axis but ``C``, for two arrays as in :func:`_channel_sum`."""
    if a.ndim == 2:
        return np.einsum("nc,nc->c", a, b)
    n, c, length = a.shape
    rows = _row_dot(a.reshape(n * c, length), b.reshape(n * c, length))
    return rows.reshape(n, c).sum(axis=0)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalisation in training mode, with the batch's own statistics.

    Parameters
    ----------
    x : array_like of shape (N, D) or (N, C, H, W)
        Each feature (2-D) or channel (4-D) is normalised over the ``m`` values it takes
        in the batch (``m = N`` or ``N·H·W``, at least 2).
    gamma : array_like of shape (D,) or (C,)
        Scale applied after normalising.
    beta : array_like of shape (D,) or (C,)
        Shift applied after normalising.
    eps : float, optional
        Added to the variance before the square root; must be > 0.

    Returns
    -------
    y : ndarray of the shape of x
        ``gamma · (x − μ) / sqrt(v + eps) + beta`` with the batch mean ``μ`` and biased
        batch variance ``v``; in the common floating dtype of the inputs.
    cache : BatchNormCache
        The normalised input ``x̂``, ``1 / sqrt(v + eps)``, ``gamma`` and the input shape.
    """
    func = "batchnorm_forward"
    x, m = _batch_input(x, func, finite=False)
    what = "feature" if x.ndim == 2 else "channel"
    gamma, beta, eps = _check_affine(x, gamma, beta, eps, func, what)
    dtype = np.result_type(x, gamma, beta)
    x3 = _as_ncl(x)  # (N, C, L), or (N, D) for 2-D input
    blocks = _blocks.row_blocks(x3)  # blocks of samples small enough to stay in cache
    total = _channel_sum(x3)
    check_finite(x, "x", func, total=total)  # a NaN or inf in x makes its channel's sum one
    mu = _per_channel(total / m, x3)
    xhat, y = np.empty(x3.shape, dtype), np.empty(x3.shape, dtype)
    var = 0
    for b in blocks:
        xc = np.subtract(x3[b], mu, out=xhat[b], dtype=dtype)  # centred; normalised below
        var = var + _channel_dot(xc, xc)
    inv_std = (1.0 / np.sqrt(var / m + eps)).astype(dtype, copy=False)  # (C,), biased var
    s, g, bt = (_per_channel(a.astype(dtype, copy=False), x3) for a in (inv_std, gamma, beta))
    for b in blocks:
        xhat[b] *= s
        np.multiply(xhat[b], g, out=y[b])
        y[b] += bt
    return y.reshape(x.shape), BatchNormCache(xhat, inv_std, gamma.astype(dtype), x.shape)


def batchnorm_backward(dy, cache):
    """Gradients of :func:`batchnorm_forward` (training mode).

    Parameters
    ----------
    dy : array_like of the shape of x
        Upstream gradient.
    cache : BatchNormCache
        The second value returned by :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray of the shape of x
    dgamma : ndarray of shape (D,) or (C,)
    dbeta : ndarray of shape (D,) or (C,)
        All in the dtype of the forward's output.
    """
    func = "batchnorm_backward"
    check_cache(cache, BatchNormCache, func)
    dy = check_dout(dy, cache.x_shape, func, name="dy", finite=False)
    xhat = cache.xhat
    dtype = xhat.dtype
    dy3 = _as_ncl(dy.astype(dtype, copy=False))  # (N, C, L), or (N, D) for 2-D input
    m = dy3.size // dy3.shape[1]
    dbeta = _channel_sum(dy3)  # Σ dy
    check_finite(dy, "dy", func, total=dbeta)
    dgamma = _channel_dot(dy3, xhat)  # Σ dy · x̂
    # dx = gamma / sqrt(v + eps) · (dy − Σ dy / m − x̂ · Σ dy·x̂ / m), block by block in cache
    mean_dy, mean_dy_xhat = _per_channel(dbeta / m, xhat), _per_channel(dgamma / m, xhat)
    scale = _per_channel(cache.gamma * cache.inv_std, xhat)
    dx = np.empty(xhat.shape, dtype)
    for b in _blocks.row_blocks(xhat):
        dxb = np.multiply(xhat[b], mean_dy_xhat, out=dx[b])
        dxb += mean_dy
        np.subtract(dy3[b], dxb, out=dxb)
        dxb *= scale
    return dx.reshape(cache.x_shape), dgamma, dbeta


def batchnorm_forward_loop(x, gamma, beta, eps=1e-5):
    """Batch normalisation with plain loops, one feature at a time (a test oracle).

    Same parameters and output as :func:`batchnorm_forward`; a 4-D input is handled as
    the 2-D one whose rows are the ``N·H·W`` positions and whose columns are the
    channels. The cache holds ``x``, ``gamma`` and ``eps``.
    """
    func = "batchnorm_forward_loop"
    x, m = _batch_input(x, func)
    gamma, beta, eps = _check_affine(
        x, gamma, beta, eps, func, "feature" if x.ndim == 2 else "channel"
    )
    x2 = np.moveaxis(x, 1, -1).reshape(m, x.shape[1])  # (m, C): a row per value
    y2 = np.empty(x2.shape, dtype=np.result_type(x, gamma, beta))
    for j in range(x2.shape[1]):
        mu = sum(x2[i, j] for i in range(m)) / m
        v = sum((x2[i, j] - mu) ** 2 for i in range(m)) / m
        for i in range(m):
            y2[i, j] = gamma[j] * (x2[i, j] - mu) / np.sqrt(v + eps) + beta[j]
    y = np.moveaxis(y2.reshape(np.moveaxis(x, 1, -1).shape), -1, 1)
    return np.ascontiguousarray(y), BatchNormLoopCache(x, gamma, eps)


def batchnorm_backward_loop(dy, cache):
    """Gradients of batch norm with plain loops, from the chain rule through μ and v.

    For each feature ``j`` separately, with its ``m`` values ``x_i``: first ``dx̂_i``,
    then ``∂L/∂v`` (every ``x̂_i`` depends on ``v``), then ``∂L/∂μ`` (directly and
    through ``v``), then ``dx_i`` as the sum of its three paths. No compact formula is
    used. Same output as :func:`batchnorm_backward`, with the cache of
    :func:`batchnorm_forward_loop`.
    """
    func = "batchnorm_backward_loop"
    check_cache(cache, BatchNormLoopCache, func)
    x, gamma, eps = cache
    dy = check_dout(dy, x.shape, func, name="dy")
    n_feat = x.shape[1]
    x2 = np.moveaxis(x, 1, -1).reshape(-1, n_feat)  # (m, C)
    dy2 = np.moveaxis(dy, 1, -1).reshape(-1, n_feat)
    m = x2.shape[0]
    dtype = np.result_type(x, gamma)
    dx2 = np.empty(x2.shape, dtype=np.float64)
    dgamma = np.zeros(n_feat, dtype=np.float64)
    dbeta = np.zeros(n_feat, dtype=np.float64)
    for j in range(n_feat):
        mu = sum(x2[i, j] for i in range(m)) / m
        v = sum((x2[i, j] - mu) ** 2 for i in range(m)) / m
        s = np.sqrt(v + eps)
        dxhat = [dy2[i, j] * gamma[j] for i in range(m)]
        for i in range(m):
            dbeta[j] += dy2[i, j]
            dgamma[j] += dy2[i, j] * (x2[i, j] - mu) / s
        # x̂_i = (x_i − μ)(v + eps)^(−1/2)
        dv = sum(dxhat[i] * (x2[i, j] - mu) * -0.5 * s**-3 for i in range(m))
        # μ reaches x̂_i directly and through v = (1/m) Σ (x_i − μ)²
        dmu = sum(-dxhat[i] / s for i in range(m)) + dv * sum(
            -2.0 * (x2[i, j] - mu) / m for i in range(m)
        )
        for i in range(m):
            dx2[i, j] = dxhat[i] / s + dv * 2.0 * (x2[i, j] - mu) / m + dmu / m
    dx = np.moveaxis(dx2.reshape(np.moveaxis(x, 1, -1).shape), -1, 1)
    return (
        np.ascontiguousarray(dx).astype(dtype),
        dgamma.astype(dtype),
        dbeta.astype(dtype),
    )


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch normalisation in evaluation mode, with stored statistics.

    Parameters
    ----------
    x : array_like of shape (N, D) or (N, C, H, W)
    gamma, beta : array_like of shape (D,) or (C,)
    running_mean : array_like of shape (D,) or (C,)
    running_var : array_like of shape (D,) or (C,)
        Non-negative.
    eps : float, optional
        Must be > 0.

    Returns
    -------
    y : ndarray of the shape of x
        ``gamma · (x − running_mean) / sqrt(running_var + eps) + beta``: an affine map of
        ``x``, the same for every sample.
    """
    func = "batchnorm_inference"
    x = as_float_array(x, "x", func, ndim=(2, 4))
    what = "feature" if x.ndim == 2 else "channel"
    gamma, beta, eps = _check_affine(x, gamma, beta, eps, func, what)
    mean, var = _check_running(running_mean, running_var, x, func, what)
    dtype = np.result_type(x, gamma, beta, mean, var)
    scale = (gamma / np.sqrt(var + eps)).astype(dtype)
    shift = (beta - mean * scale).astype(dtype)
    x3 = _as_ncl(x)
    y = np.multiply(x3, _per_channel(scale, x3), dtype=dtype)
    y += _per_channel(shift, x3)
    return y.reshape(x.shape)


def _check_running(running_mean, running_var, x, func, what):
    mean = as_float_array(running_mean, "running_mean", func, ndim=1)
    var = as_float_array(running_var, "running_var", func, ndim=1)
    hint = f"(one per {what} of x: {fmt_shape(x.shape)})"
    check_shape(mean, (x.shape[1],), "running_mean", func, hint)
    check_shape(var, (x.shape[1],), "running_var", func, hint)
    if (var < 0).any():
        raise ValueError(
            f"{func}: running_var must be >= 0, got {var.min()!r} at index {int(var.argmin())}"
        )
    return mean, var


def batchnorm_running_stats(running_mean, running_var, x, momentum=0.1):
    """PyTorch's update of batch norm's running statistics from one batch.

    Parameters
    ----------
    running_mean, running_var : array_like of shape (D,) or (C,)
        The current running statistics (left unchanged).
    x : array_like of shape (N, D) or (N, C, H, W)
        The batch, with ``m`` values a feature (``m = N`` or ``N·H·W``, at least 2).
    momentum : float, optional
        Weight of the batch, in [0, 1].

    Returns
    -------
    new_mean, new_var : ndarray of shape (D,) or (C,)
        ``(1 − momentum) · old + momentum · batch``, where the batch variance is the
        unbiased one, ``m / (m − 1)`` times the biased variance used for normalising.
    """
    func = "batchnorm_running_stats"
    x, m = _batch_input(x, func)
    what = "feature" if x.ndim == 2 else "channel"
    mean, var = _check_running(running_mean, running_var, x, func, what)
    momentum = check_real(momentum, "momentum", func, low=0, high=1)
    dtype = np.result_type(x, mean, var)
    x3 = _as_ncl(x)
    mu = _channel_sum(x3) / m
    xc = x3 - _per_channel(mu, x3)
    unbiased = _channel_dot(xc, xc) / (m - 1)
    new_mean = (1 - momentum) * mean + momentum * mu
    new_var = (1 - momentum) * var + momentum * unbiased
    return new_mean.astype(dtype, copy=False), new_var.astype(dtype, copy=False)


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalisation over the last axis.

    Parameters
    ----------
    x : array_like of shape (..., D)
        Each vector along the last axis is normalised over its ``D`` entries.
    gamma, beta : array_like of shape (D,)
        Scale and shift, shared by every vector.
    eps : float, optional
        Added to the variance; must be > 0.

    Returns
    -------
    y : ndarray of the shape of x
        PyTorch's ``layer_norm(x, (D,), gamma, beta, eps)``, biased variance.
    cache : LayerNormCache
        The input rows (``x`` itself, not a copy), each row's mean and
        ``1 / sqrt(v + eps)``, ``gamma`` and the input shape; ``cache.xhat`` recomputes
        the normalised rows ``x̂``.
    """
    func = "layernorm_forward"
    x = as_float_array(x, "x", func, finite=False)  # checked below, from inv_std
    if x.ndim < 1:
        raise ValueError(f"{func}: x must have at least 1 dimension, got a scalar")
    gamma, beta, eps = _check_affine(x, gamma, beta, eps, func, "entry of the last axis")
    dtype = np.result_type(x, gamma, beta)
    d = x.shape[-1]
    x2 = x.reshape(-1, d)  # (M, D)
    y = np.empty(x2.shape, dtype)
    mu = np.empty(x2.shape[0], dtype)
    inv_std = np.empty(x2.shape[0], dtype)
    gamma_, beta_ = gamma.astype(dtype, copy=False), beta.astype(dtype, copy=False)
    with np.errstate(invalid="ignore"):  # a NaN or inf in x: inf − inf, reported below
        for rows in _blocks.row_blocks(x2):  # blocks of rows small enough to stay in cache
            mu[rows] = x2[rows] @ np.full(d, 1.0 / d, dtype=x2.dtype)
            yb = np.subtract(x2[rows], mu[rows, None], out=y[rows])  # centred, then x̂, then y
            inv_std[rows] = 1.0 / np.sqrt(_row_dot(yb, yb) / d + eps)
            yb *= inv_std[rows, None]
            yb *= gamma_
            yb += beta_
    check_finite(x, "x", func, total=inv_std)  # a NaN or inf in a row makes its inv_std NaN
    return y.reshape(x.shape), LayerNormCache(x2, mu, inv_std, gamma.astype(dtype), x.shape)


def layernorm_backward(dy, cache):
    """Gradients of :func:`layernorm_forward`.

    Parameters
    ----------
    dy : array_like of the shape of x
        Upstream gradient.
    cache : LayerNormCache
        The second value returned by :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray of the shape of x
    dgamma, dbeta : ndarray of shape (D,)
    """
    func = "layernorm_backward"
    check_cache(cache, LayerNormCache, func)
    dy = check_dout(dy, cache.x_shape, func, name="dy", finite=False)  # checked below
    x2, mu, inv_std = cache.x, cache.mu, cache.inv_std
    dtype = inv_std.dtype
    d = x2.shape[1]
    dy2 = dy.astype(dtype, copy=False).reshape(-1, d)  # (M, D)
    dx = np.empty(dy2.shape, dtype)
    dgamma = np.zeros(d, dtype)
    dbeta = np.zeros(d, dtype)
    blocks = _blocks.row_blocks(dy2)  # blocks of rows small enough to stay in cache
    xhat_buf = np.empty((_blocks.largest(blocks), d), dtype)
    with np.errstate(invalid="ignore"):  # a NaN or inf in dy: inf − inf, reported below
        for rows in blocks:
            xhat = np.subtract(x2[rows], mu[rows, None], out=xhat_buf[: rows.stop - rows.start])
            xhat *= inv_std[rows, None]  # x̂ of the block, recomputed
            dbeta += np.ones(len(xhat), dtype) @ dy2[rows]
            dgamma += np.einsum("ij,ij->j", dy2[rows], xhat)
            # dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) / sqrt(v + eps), row by row
            dxhat = np.multiply(dy2[rows], cache.gamma, out=dx[rows])  # (rows, D)
            mean_dxhat = dxhat @ np.full(d, 1.0 / d, dtype=dtype)  # (rows,)
            mean_dxhat_xhat = _row_dot(dxhat, xhat) / d
            dxhat -= mean_dxhat[:, None]
            xhat *= mean_dxhat_xhat[:, None]
            dxhat -= xhat
            dxhat *= inv_std[rows, None]
    check_finite(dy, "dy", func, total=dbeta)  # a NaN or inf in dy makes its column's Σ one
    return dx.reshape(cache.x_shape), dgamma, dbeta
