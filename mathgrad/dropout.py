"""Inverted dropout: forward and backward.

In training, each entry of ``x`` is kept with probability ``1 − p`` and scaled by
``1 / (1 − p)``, or set to 0; the scale keeps every entry's expectation equal to the
input. The backward multiplies the upstream gradient by the same scaled mask. The mask
comes from ``np.random.default_rng(seed)``: the same int ``seed`` and shape give the same
mask, ``seed=None`` a fresh one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, check_cache, check_dout, check_real, check_seed

__all__ = [
    "dropout_backward",
    "dropout_forward",
    "dropout_mask",
]


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs: the scaled mask (``None`` for the identity)."""

    scaled_mask: np.ndarray | None  # the shape of x: 0 or 1 / (1 − p)
    x_shape: tuple[int, ...]
    x_dtype: np.dtype


def dropout_mask(shape, p, seed=None):
    """The keep mask of :func:`dropout_forward`: True where an entry is kept.

    Each entry is kept when a uniform draw ``u`` in ``[0, 1)`` (float32, from
    ``np.random.default_rng(seed)``) satisfies ``u >= p``; so it is kept with probability
    ``1 − p`` to within ``2⁻²⁴``, never when ``p = 1`` and always when ``p = 0``.

    Parameters
    ----------
    shape : tuple of int
    p : float
        Drop probability in [0, 1].
    seed : int or None, optional

    Returns
    -------
    keep : ndarray of bool of the given shape
    """
    func = "dropout_mask"
    p = check_real(p, "p", func, low=0, high=1)
    seed = check_seed(seed, "seed", func)
    u = np.random.default_rng(seed).random(shape, dtype=np.float32)
    return u >= np.float32(p)


def dropout_forward(x, p=0.5, seed=None, training=True):
    """Inverted dropout.

    Parameters
    ----------
    x : array_like of any shape
    p : float, optional
        Probability of dropping an entry, in [0, 1] (``p = 1`` zeroes everything).
    seed : int or None, optional
        Seed of the mask: the same int gives the same mask, ``None`` a fresh one.
    training : bool, optional
        ``False`` makes the layer the identity (evaluation mode), as does ``p = 0``.

    Returns
    -------
    out : ndarray of the shape and dtype of x
        ``x · keep / (1 − p)`` with the mask ``keep`` of :func:`dropout_mask`.
    cache : DropoutCache
        The scaled mask (``None`` for the identity), the shape and dtype of ``x``.
    """
    func = "dropout_forward"
    x = as_float_array(x, "x", func)
    p = check_real(p, "p", func, low=0, high=1)
    seed = check_seed(seed, "seed", func)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"dropout_forward: training must be a bool, got {training!r}")
    if not training or p == 0:
        return x.copy(), DropoutCache(None, x.shape, x.dtype)
    keep = dropout_mask(x.shape, p, seed)
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    scaled_mask = keep * x.dtype.type(scale)  # (shape of x), dtype of x
    return x * scaled_mask, DropoutCache(scaled_mask, x.shape, x.dtype)


def dropout_backward(dout, cache):
    """Gradient of :func:`dropout_forward`: the upstream gradient times the same mask.

    Parameters
    ----------
    dout : array_like of the shape of x
    cache : DropoutCache
        The second value returned by :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray of the shape and dtype of x
        ``dout · keep / (1 − p)``, or ``dout`` itself (copied) for the identity.
    """
    func = "dropout_backward"
    check_cache(cache, DropoutCache, func)
    dout = check_dout(dout, cache.x_shape, func)
    if cache.scaled_mask is None:
        return dout.astype(cache.x_dtype, copy=True)
    return (dout * cache.scaled_mask).astype(cache.x_dtype, copy=False)
