"""Scaled dot-product attention: forward, backward, and the loop oracles.

Over the last two axes, ``S = q @ kᵀ / sqrt(d)``, ``P = softmax(S)`` along the keys and
``out = P @ v``; any number of leading (batch, head) axes, equal in ``q``, ``k`` and ``v``.
With ``causal=True`` query ``i`` sees keys ``j <= i`` only: the scores above the diagonal
are set to ``-inf`` before the softmax, so their weights are exactly 0 and so is their
gradient. PyTorch's ``scaled_dot_product_attention(q, k, v, is_causal=causal)``.

The backward reuses the softmax's vector-Jacobian product row by row,
``dS = P ⊙ (dP - Σ_j dP ⊙ P)``, between the backward rules of the two products. The
vectorised pair uses batched matrix products over all leading axes at once; the loop pair
handles one query at a time.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, check_cache, check_dout, fmt_shape

__all__ = [
    "attention_backward",
    "attention_backward_loop",
    "attention_forward",
    "attention_forward_loop",
    "attention_score_grad",
    "attention_weights",
]


class AttentionCache(NamedTuple):
    """What the backward functions need from :func:`attention_forward`."""

    q: np.ndarray  # (..., Tq, d)
    k: np.ndarray  # (..., Tk, d)
    v: np.ndarray  # (..., Tk, dv)
    p: np.ndarray  # (..., Tq, Tk), the attention weights (softmax of the scores)
    scale: float  # 1 / sqrt(d)
    causal: bool


def _check_qk(q, k, causal, func):
    q = as_float_array(q, "q", func)
    k = as_float_array(k, "k", func)
    if not isinstance(causal, (bool, np.bool_)):
        raise TypeError(f"{func}: causal must be True or False, got {causal!r}")
    for arr, name, want in ((q, "q", "(..., Tq, d)"), (k, "k", "(..., Tk, d)")):
        if arr.ndim < 2:
            raise ValueError(
                f"{func}: {name} must have at least 2 dimensions {want}, "
                f"got {arr.ndim} (shape {fmt_shape(arr.shape)})"
            )
    if q.shape[:-2] != k.shape[:-2]:
        raise ValueError(
            f"{func}: q and k must have the same leading (batch, head) axes, got "
            f"{fmt_shape(q.shape[:-2])} and {fmt_shape(k.shape[:-2])} "
            f"(q: {fmt_shape(q.shape)}, k: {fmt_shape(k.shape)})"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{func}: q and k must have the same last axis d, got {q.shape[-1]} and "
            f"{k.shape[-1]} (q: {fmt_shape(q.shape)}, k: {fmt_shape(k.shape)})"
        )
    if q.shape[-1] == 0:
        raise ValueError(f"{func}: q and k must have d >= 1, got d = 0 (q: {fmt_shape(q.shape)})")
    if k.shape[-2] == 0:
        raise ValueError(
            f"{func}: k must hold at least one key, got Tk = 0 (k: {fmt_shape(k.shape)})"
        )
    if causal and q.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"{func}: causal=True needs as many queries as keys, got Tq = {q.shape[-2]} "
            f"and Tk = {k.shape[-2]} (q: {fmt_shape(q.shape)}, k: {fmt_shape(k.shape)})"
        )
    return q, k, bool(causal)


def _check_args(q, k, v, causal, func):
    q, k, causal = _check_qk(q, k, causal, func)
    v = as_float_array(v, "v", func)
    if v.ndim != k.ndim or v.shape[:-2] != k.shape[:-2] or v.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"{func}: v must have shape (..., Tk, dv) with the leading axes and Tk of k, "
            f"got v: {fmt_shape(v.shape)} for k: {fmt_shape(k.shape)}"
        )
    return q, k, v, causal


def _weights(q, k, causal, dtype):
    """Softmax over the keys of the scaled scores, masked when causal: (..., Tq, Tk)."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    # scaling q (Tq·d numbers) is cheaper than scaling the scores (Tq·Tk)
    s = np.multiply(q, scale, dtype=dtype) @ k.astype(dtype, copy=False).swapaxes(-1, -2)
    if causal:
        tq = q.shape[-2]
        s += np.triu(np.full((tq, tq), -np.inf, dtype=dtype), 1)  # keys j > i: -inf
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s *= 1.0 / s.sum(axis=-1, keepdims=True)
    return s, scale


def attention_weights(q, k, causal=False):
    """The attention weights ``softmax(q @ kᵀ / sqrt(d))``, masked when ``causal``.

    Parameters
    ----------
    q : array_like of shape (..., Tq, d)
    k : array_like of shape (..., Tk, d)
    causal : bool, default False
        Query ``i`` sees keys ``j <= i`` only (needs ``Tq == Tk``).

    Returns
    -------
    ndarray of shape (..., Tq, Tk)
        Each row sums to 1; masked entries are exactly 0.
    """
    q, k, causal = _check_qk(q, k, causal, "attention_weights")
    return _weights(q, k, causal, np.result_type(q, k))[0]


def attention_forward(q, k, v, causal=False):
    """Scaled dot-product attention (PyTorch's ``scaled_dot_product_attention``).

    Parameters
    ----------
    q : array_like of shape (..., Tq, d)
        Queries.
    k : array_like of shape (..., Tk, d)
        Keys; the leading axes equal those of ``q``.
    v : array_like of shape (..., Tk, dv)
        Values.
    causal : bool, default False
        Query ``i`` attends to keys ``j <= i`` only; needs ``Tq == Tk``.

    Returns
    -------
    out : ndarray of shape (..., Tq, dv)
        ``softmax(q @ kᵀ / sqrt(d)) @ v``; dtype ``np.result_type`` of the inputs.
    cache : AttentionCache
        ``q``, ``k``, ``v``, the attention weights, the scale and ``causal``.
    """
    q, k, v, causal = _check_args(q, k, v, causal, "attention_forward")
    dtype = np.result_type(q, k, v)
    p, scale = _weights(q, k, causal, dtype)
    out = p @ v.astype(dtype, copy=False)
    return out, AttentionCache(q, k, v, p, scale, causal)


def _check_backward_args(dout, cache, func):
    check_cache(cache, AttentionCache, func)
    return check_dout(dout, cache.p.shape[:-1] + cache.v.shape[-1:], func)


def _score_grad(dout, cache, dtype):
    p = cache.p
    dp = dout.astype(dtype, copy=False) @ cache.v.astype(dtype, copy=False).swapaxes(-1, -2)
    # the softmax's vector-Jacobian product, row by row: dS = P ⊙ (dP - <dP, P>)
    ds = dp
    ds -= np.einsum("...ij,...ij->...i", dp, p)[..., None]
    ds *= p
    return ds  # (..., Tq, Tk)


def attention_score_grad(dout, cache):
    """The gradient of the loss with respect to the scaled scores ``S = q @ kᵀ / sqrt(d)``.

    Parameters
    ----------
    dout : array_like of shape (..., Tq, dv)
        Upstream gradient.
    cache : AttentionCache
        The second value returned by :func:`attention_forward`.

    Returns
    -------
    ndarray of shape (..., Tq, Tk)
        ``∂L/∂S``; exactly 0 where the causal mask hides a key.
    """
    dout = _check_backward_args(dout, cache, "attention_score_grad")
    return _score_grad(dout, cache, np.result_type(cache.p, dout))


def attention_backward(dout, cache):
    """Gradients of scaled dot-product attention.

    Parameters
    ----------
    dout : array_like of shape (..., Tq, dv)
        Upstream gradient.
    cache : AttentionCache
        The second value returned by :func:`attention_forward`.

    Returns
    -------
    dq : ndarray of shape (..., Tq, d)
    dk : ndarray of shape (..., Tk, d)
    dv : ndarray of shape (..., Tk, dv)
        Each in the dtype of its input.
    """
    dout = _check_backward_args(dout, cache, "attention_backward")
    dtype = np.result_type(cache.p, dout)
    dv = cache.p.swapaxes(-1, -2) @ dout.astype(dtype, copy=False)
    ds = _score_grad(dout, cache, dtype)
    # S = (q·scale) @ kᵀ: the scale multiplies the (..., T, d) products, not ds
    dq = ds @ cache.k.astype(dtype, copy=False)
    dq *= cache.scale
    dk = ds.swapaxes(-1, -2) @ cache.q.astype(dtype, copy=False)
    dk *= cache.scale
    return (
        dq.astype(cache.q.dtype, copy=False),
        dk.astype(cache.k.dtype, copy=False),
        dv.astype(cache.v.dtype, copy=False),
    )


def attention_forward_loop(q, k, v, causal=False):
    """Attention one query at a time, over every leading index (a test oracle).

    Same parameters, output and cache as :func:`attention_forward`.
    """
    q, k, v, causal = _check_args(q, k, v, causal, "attention_forward_loop")
    dtype = np.result_type(q, k, v)
    tq, d = q.shape[-2:]
    tk = k.shape[-2]
    scale = 1.0 / math.sqrt(d)
    p = np.zeros(q.shape[:-1] + (tk,), dtype=dtype)
    out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=dtype)
    for lead in np.ndindex(q.shape[:-2]):
        for i in range(tq):
            seen = i + 1 if causal else tk  # keys 0, …, seen-1
            scores = np.array([q[lead][i] @ k[lead][j] * scale for j in range(seen)])
            w = np.exp(scores - scores.max())
            w /= w.sum()
            p[lead][i, :seen] = w
            out[lead][i] = sum(w[j] * v[lead][j] for j in range(seen))
    return out, AttentionCache(q, k, v, p, scale, causal)


def attention_backward_loop(dout, cache):
    """Attention's gradients one query at a time (a test oracle).

    For each query ``i``: ``dP_ij = <dout_i, v_j>``, then the softmax's rule
    ``dS_ij = P_ij (dP_ij - Σ_l P_il dP_il)``, then ``dq_i = Σ_j dS_ij k_j / sqrt(d)``,
    ``dk_j += dS_ij q_i / sqrt(d)`` and ``dv_j += P_ij dout_i``, over the keys query
    ``i`` sees. Same parameters and returns as :func:`attention_backward`.
    """
    dout = _check_backward_args(dout, cache, "attention_backward_loop")
    q, k, v, p = cache.q, cache.k, cache.v, cache.p
    tq = q.shape[-2]
    tk = k.shape[-2]
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for lead in np.ndindex(q.shape[:-2]):
        for i in range(tq):
            seen = i + 1 if cache.causal else tk
            w = p[lead][i, :seen]
            dp = np.array([dout[lead][i] @ v[lead][j] for j in range(seen)])
            ds = w * (dp - np.sum(w * dp))
            for j in range(seen):
                dq[lead][i] += ds[j] * k[lead][j] * cache.scale
                dk[lead][j] += ds[j] * q[lead][i] * cache.scale
                dv[lead][j] += w[j] * dout[lead][i]
    return dq.astype(q.dtype), dk.astype(k.dtype), dv.astype(v.dtype)
