"""Elementwise activations of hidden layers: tanh and ReLU.

Each is an op pair ``*_forward(z) -> (out, cache)`` and ``*_backward(dy, cache) -> dz``.
The tanh backward reuses the forward's output, ``tanh' = 1 - tanh²``; the ReLU backward
uses the mask of positive inputs, ``relu'(z) = 1`` where ``z > 0``, ``0`` elsewhere (at
exactly 0 too). Neither cache shares memory with the returned array, so a caller who
writes into it (an in-place ReLU, ``out *= 2``) does not change the gradient.
The sigmoid pair lives in :mod:`mathgrad.sigmoid`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, check_cache, check_dout

__all__ = [
    "relu_backward",
    "relu_forward",
    "tanh_backward",
    "tanh_forward",
]


class TanhCache(NamedTuple):
    """What :func:`tanh_backward` needs: the forward's output ``t = tanh(z)``, a copy."""

    t: np.ndarray


def tanh_forward(z):
    """Hyperbolic tangent, elementwise.

    Parameters
    ----------
    z : array_like of any shape
        Pre-activations. float32/float64 keep their dtype; integers become float64.

    Returns
    -------
    t : ndarray of the shape and dtype of ``z``
        ``tanh(z)``.
    cache : TanhCache
        Holds a copy of ``t``, which the backward reuses (the caller may write into ``t``).
    """
    z = as_float_array(z, "z", "tanh_forward")
    t = np.tanh(z)
    return t, TanhCache(t.copy())


def tanh_backward(dy, cache):
    """Gradient of :func:`tanh_forward`: ``dz = dy · (1 − t²)``.

    Parameters
    ----------
    dy : array_like of the shape of ``t``
        Upstream gradient ``∂C/∂t``.
    cache : TanhCache
        The second value returned by :func:`tanh_forward`.

    Returns
    -------
    dz : ndarray of the shape and dtype of ``z``
    """
    func = "tanh_backward"
    t = check_cache(cache, TanhCache, func).t
    dy = check_dout(dy, t.shape, func, name="dy")
    return (dy * (1 - t * t)).astype(t.dtype, copy=False)


class ReluCache(NamedTuple):
    """What :func:`relu_backward` needs: where the input was positive, and its dtype."""

    positive: np.ndarray  # bool, z > 0
    dtype: np.dtype


def relu_forward(z):
    """Rectified linear unit, ``max(z, 0)`` elementwise.

    Parameters
    ----------
    z : array_like of any shape
        Pre-activations. float32/float64 keep their dtype; integers become float64.

    Returns
    -------
    y : ndarray of the shape and dtype of ``z``
    cache : ReluCache
        The boolean mask ``z > 0`` (an eighth of ``y``'s memory in float64) and the dtype.
    """
    z = as_float_array(z, "z", "relu_forward")
    y = np.maximum(z, 0)
    return y, ReluCache(z > 0, y.dtype)


def relu_backward(dy, cache):
    """Gradient of :func:`relu_forward`: ``dz = dy`` where ``z > 0``, else 0.

    The derivative at exactly ``z = 0`` is taken as 0.

    Parameters
    ----------
    dy : array_like of the shape of ``y``
        Upstream gradient ``∂C/∂y``.
    cache : ReluCache
        The second value returned by :func:`relu_forward`.

    Returns
    -------
    dz : ndarray of the shape and dtype of ``z``
    """
    func = "relu_backward"
    positive, dtype = check_cache(cache, ReluCache, func)
    dy = check_dout(dy, positive.shape, func, name="dy")
    return np.where(positive, dy, 0).astype(dtype, copy=False)
