"""The logistic sigmoid, binary cross-entropy on logits, and the sigmoid-softmax link.

``sigmoid`` is computed as ``1 / (1 + exp(-z))``, which is relatively exact for every
finite ``z``: far into the negative tail ``exp(-z)`` is huge and its reciprocal keeps full
precision (where ``1 - σ(-z)`` would cancel), and where ``exp(-z)`` overflows to infinity
the result is 0, as ``σ(z)`` is then below the smallest normal float. A sigmoid is a
two-class softmax: ``σ(z) = softmax((z, 0))[0]``, and any pair ``v`` maps back to the
logit ``v[0] - v[1]``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import (
    as_float_array,
    check_cache,
    check_dout,
    check_shape,
    fmt_shape,
    loss_value,
)

__all__ = [
    "binary_cross_entropy_backward",
    "binary_cross_entropy_forward",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "sigmoid_to_softmax_logits",
    "softmax_to_sigmoid_logit",
]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    s = np.negative(z, out=np.empty_like(z))  # a new array (also for 0-d z); z is left alone
    # z < -709 (float64): exp(-z) = inf and s = 1 / inf = 0, the underflowed σ(z)
    with np.errstate(over="ignore"):
        np.exp(s, out=s)
    s += 1
    return np.reciprocal(s, out=s)


def sigmoid(z):
    """Logistic sigmoid ``σ(z) = 1 / (1 + exp(-z))``, stable for any finite ``z``.

    Parameters
    ----------
    z : array_like of any shape
        Int and bool input become float64.

    Returns
    -------
    s : ndarray of the shape and floating dtype of ``z``
        Entries in ``[0, 1]``, relatively exact for every finite ``z``.
    """
    return _sigmoid(as_float_array(z, "z", "sigmoid"))


class SigmoidCache(NamedTuple):
    """What ``sigmoid_backward`` needs: the output ``s``, a copy."""

    s: np.ndarray


def sigmoid_forward(z):
    """Sigmoid with a cache for :func:`sigmoid_backward`.

    Parameters
    ----------
    z : array_like of any shape

    Returns
    -------
    s : ndarray of the shape and floating dtype of ``z``
    cache : SigmoidCache
        ``(s,)``: the backward rule reuses the output; a copy, so that the caller may
        write into the returned ``s``.
    """
    s = _sigmoid(as_float_array(z, "z", "sigmoid_forward"))
    return s, SigmoidCache(s.copy())


def sigmoid_backward(ds, cache):
    """Gradient of the sigmoid: ``dz = ds * s * (1 - s)``.

    Parameters
    ----------
    ds : array_like of the shape of ``s``
        Upstream gradient ``∂C/∂s``.
    cache : SigmoidCache
        From :func:`sigmoid_forward`.

    Returns
    -------
    dz : ndarray of the shape and dtype of ``z``
    """
    func = "sigmoid_backward"
    (s,) = check_cache(cache, SigmoidCache, func)
    ds = check_dout(ds, s.shape, func, name="ds")
    dz = ds * s
    dz *= 1 - s  # σ'(z) = s (1 - s), multiplied in place
    return dz.astype(s.dtype, copy=False)


class BinaryCrossEntropyCache(NamedTuple):
    """What ``binary_cross_entropy_backward`` needs: ``s = σ(logits)`` and the target."""

    s: np.ndarray
    target: np.ndarray


def binary_cross_entropy_forward(logits, target):
    """Mean binary cross-entropy between ``σ(logits)`` and a target, from the logits.

    Each entry contributes ``-(y log σ(z) + (1 - y) log(1 - σ(z)))``, computed as
    ``max(z, 0) - z y + log1p(exp(-|z|))``: finite and exact for logits of any magnitude.

    Parameters
    ----------
    logits : array_like of any shape, at least one entry
        Unnormalised scores ``z``.
    target : array_like of the shape of ``logits``
        Probabilities ``y`` in ``[0, 1]`` (0/1 labels included).

    Returns
    -------
    loss : float or 0-d ndarray
        The mean over all ``n = logits.size`` entries: a Python ``float`` for float64
        (and integer) logits, a 0-d float32 array for float32 logits.
    cache : BinaryCrossEntropyCache
        ``(s, target)``.
    """
    func = "binary_cross_entropy_forward"
    z = as_float_array(logits, "logits", func)
    if z.size == 0:
        raise ValueError(
            f"{func}: logits must have at least one entry, got shape {fmt_shape(z.shape)}"
        )
    y = as_float_array(target, "target", func)
    check_shape(y, z.shape, "target", func, hint="(the shape of logits)")
    outside = (y < 0) | (y > 1)
    if outside.any():
        idx = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{func}: target must hold probabilities in [0, 1], got {y[idx]:g} at index {idx}"
        )
    terms = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    loss = loss_value(np.sum(terms, dtype=np.float64) / z.size, z.dtype)
    return loss, BinaryCrossEntropyCache(_sigmoid(z), y)


def binary_cross_entropy_backward(dloss, cache):
    """Gradient of the mean binary cross-entropy with respect to the logits.

    Parameters
    ----------
    dloss : float or 0-d array_like
        Upstream gradient ``∂C/∂loss``.
    cache : BinaryCrossEntropyCache
        From :func:`binary_cross_entropy_forward`.

    Returns
    -------
    dlogits : ndarray of the shape and dtype of the logits
        ``dloss * (σ(z) - y) / n`` with ``n = logits.size``.
    """
    func = "binary_cross_entropy_backward"
    s, y = check_cache(cache, BinaryCrossEntropyCache, func)
    dloss = check_dout(dloss, (), func, name="dloss")
    return ((s - y) * (float(dloss) / s.size)).astype(s.dtype, copy=False)


def sigmoid_to_softmax_logits(z):
    """The two-class softmax logits ``(z, 0)`` of a sigmoid logit.

    Parameters
    ----------
    z : array_like of any shape

    Returns
    -------
    v : ndarray of shape ``z.shape + (2,)``, the floating dtype of ``z``
        ``v[..., 0] = z`` and ``v[..., 1] = 0``, so ``softmax(v)[..., 0] == sigmoid(z)``.
    """
    z = as_float_array(z, "z", "sigmoid_to_softmax_logits")
    return np.stack([z, np.zeros_like(z)], axis=-1)


def softmax_to_sigmoid_logit(v):
    """The sigmoid logit ``v[..., 0] - v[..., 1]`` of a pair of softmax logits.

    Many pairs map to one logit: ``v`` and ``v + c`` give the same result, as they give
    the same softmax.

    Parameters
    ----------
    v : array_like of shape (..., 2)

    Returns
    -------
    z : ndarray of shape ``v.shape[:-1]``, the floating dtype of ``v``
        ``sigmoid(z) == softmax(v)[..., 0]``.
    """
    func = "softmax_to_sigmoid_logit"
    v = as_float_array(v, "v", func)
    if v.ndim == 0 or v.shape[-1] != 2:
        raise ValueError(
            f"{func}: v must have a last axis of length 2 (one logit per class), got "
            f"shape {fmt_shape(v.shape)}"
        )
    return np.asarray(v[..., 0] - v[..., 1])
