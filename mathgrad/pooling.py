"""Max pooling: forward and backward, vectorised and as plain loops.

The gradient of each output goes to the position of its window's maximum. On a tie it
goes to the first maximum in row-major order within the window (PyTorch's choice), and
where windows overlap (stride smaller than the kernel) the contributions add up.

The vectorised pair never loops over pixels or the batch. The forward loops over the
``KH·KW`` kernel offsets ``(p, q)`` and keeps a running maximum over the strided views
``x[:, :, p::sh, q::sw]`` (cropped to ``OH × OW``), each holding the ``(p, q)`` entry of
every window at once, with the offset of the current maximum. The backward writes ``dy``
through the same views where windows do not overlap, and otherwise scatter-adds it at
the flat positions of the maxima (``np.bincount``), so overlaps add up. The
loop pair below mirrors the definition and serves as a test oracle.

Average pooling (after the max-pooling functions) takes each window's mean instead, as
a sum over the column offsets followed by a sum over the row offsets (the window sum is
separable); its backward spreads ``dy / (KH·KW)`` evenly over the window the same way,
adding up where windows overlap.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _blocks
from ._validation import (
    as_float_array,
    check_cache,
    check_dout,
    check_int_pair,
    fmt_shape,
)

__all__ = [
    "avgpool2d_backward",
    "avgpool2d_backward_loop",
    "avgpool2d_forward",
    "avgpool2d_forward_loop",
    "maxpool2d_backward",
    "maxpool2d_backward_loop",
    "maxpool2d_forward",
    "maxpool2d_forward_loop",
]


class MaxPool2dCache(NamedTuple):
    """What :func:`maxpool2d_backward` needs from :func:`maxpool2d_forward`."""

    idx: np.ndarray  # (N, C, OH, OW): flat kernel offset p·KW + q of each window's max
    x_shape: tuple[int, int, int, int]
    x_dtype: np.dtype
    kernel: tuple[int, int]
    stride: tuple[int, int]


class MaxPool2dLoopCache(NamedTuple):
    """What :func:`maxpool2d_backward_loop` needs from :func:`maxpool2d_forward_loop`."""

    x: np.ndarray
    kernel: tuple[int, int]
    stride: tuple[int, int]


def _check_pool_args(x, kernel_size, stride, func):
    """Validate the forward's arguments; return ``x, (KH, KW), (sh, sw), (OH, OW)``."""
    x = as_float_array(x, "x", func, ndim=4)
    kh, kw = check_int_pair(kernel_size, "kernel_size", func, minimum=1)
    if stride is None:
        sh, sw = kh, kw
    else:
        sh, sw = check_int_pair(stride, "stride", func, minimum=1)
    height, width = x.shape[2:]
    if kh > height or kw > width:
        raise ValueError(
            f"{func}: kernel_size {fmt_shape((kh, kw))} is larger than the input's "
            f"spatial size {fmt_shape((height, width))} (x: {fmt_shape(x.shape)}); "
            "use a smaller kernel or pad the input"
        )
    oh = (height - kh) // sh + 1
    ow = (width - kw) // sw + 1
    return x, (kh, kw), (sh, sw), (oh, ow)


def _idx_dtype(n_offsets: int):
    return np.uint8 if n_offsets <= 256 else np.intp


def maxpool2d_forward(x, kernel_size, stride=None):
    """Max pooling over 2-D windows, without padding.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
        Input; integer input becomes float64. ``N = 0`` or ``C = 0`` gives an empty
        output (no window to pool); ``H``, ``W`` must be at least the kernel's size.
    kernel_size : int or pair of int
        Window size ``(KH, KW)``, each at least 1; an int means a square window.
    stride : int or pair of int, optional
        Step ``(sh, sw)`` between windows; defaults to the kernel size.

    Returns
    -------
    out : ndarray of shape (N, C, OH, OW)
        ``OH = (H - KH) // sh + 1``, ``OW = (W - KW) // sw + 1``; dtype of ``x``.
    cache : MaxPool2dCache
        The kernel offset of each window's (first) maximum, the input's shape and
        dtype, kernel and stride.
    """
    x, (kh, kw), (sh, sw), (oh, ow) = _check_pool_args(x, kernel_size, stride, "maxpool2d_forward")
    n, c, height, width = x.shape
    x3 = x.reshape(n * c, height, width)  # one image per (sample, channel)
    it = _idx_dtype(kh * kw)
    out = np.empty((n * c, oh, ow), dtype=x.dtype)
    idx = np.zeros((n * c, oh, ow), dtype=it)  # flat offset k = p·KW + q of the running max
    # Without overlap, a block of images at a time: the KH·KW strided reads of a block
    # then find its memory in cache (measured, AMD EPYC: 2x2/2 fwd+bwd in 0.6 of the time).
    # Overlapping windows go in one block: blocking them measured 6 to 17 % slower.
    if sh >= kh and sw >= kw:
        blocks = _blocks.row_blocks(x3)
    else:
        blocks = [slice(0, n * c)]
    rows = _blocks.largest(blocks)
    better = np.empty((rows, oh, ow), dtype=bool)
    tmp = np.empty((rows, oh, ow), dtype=it)
    for b in blocks:
        views = [  # the (p, q) entry of every window, in row-major order of (p, q)
            x3[b, p : p + sh * (oh - 1) + 1 : sh, q : q + sw * (ow - 1) + 1 : sw]
            for p in range(kh)
            for q in range(kw)
        ]  # each (images, OH, OW)
        o, i = out[b], idx[b]
        gt, t = better[: len(o)], tmp[: len(o)]
        o[...] = views[0]
        for k in range(1, kh * kw):
            # strict ">" keeps the first maximum in row-major order
            np.greater(views[k], o, out=gt)
            np.maximum(o, views[k], out=o)
            # k exceeds every earlier offset, so max(idx, k·better) sets k exactly where better
            np.multiply(gt, it(k), out=t)
            np.maximum(i, t, out=i)
    out, idx = out.reshape(n, c, oh, ow), idx.reshape(n, c, oh, ow)
    return out, MaxPool2dCache(idx, x.shape, x.dtype, (kh, kw), (sh, sw))


def maxpool2d_backward(dy, cache):
    """Gradient of max pooling with respect to its input.

    Parameters
    ----------
    dy : array_like of shape (N, C, OH, OW)
        Upstream gradient, the shape of the forward output.
    cache : MaxPool2dCache
        The second value returned by :func:`maxpool2d_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Each ``dy`` entry added at its window's first maximum; dtype of ``x``.
    """
    func = "maxpool2d_backward"
    check_cache(cache, MaxPool2dCache, func)
    dy = check_dout(dy, cache.idx.shape, func, name="dy")
    (kh, kw), (sh, sw) = cache.kernel, cache.stride
    oh, ow = cache.idx.shape[2:]
    n, c, height, width = cache.x_shape
    if sh >= kh and sw >= kw:
        # Windows do not overlap: the view of offset k receives dy where the max sat at
        # offset k and 0 elsewhere; positions outside every window are zeroed first.
        # A block of images at a time, so the KH·KW strided writes into a block of dx
        # find its memory in cache.
        dtype = np.result_type(dy.dtype, cache.x_dtype)
        dx = np.empty((n * c, height, width), dtype=dtype)  # one image per (sample, channel)
        dx[:, sh * oh :, :] = 0
        dx[:, :, sw * ow :] = 0
        for p in range(kh, sh):
            dx[:, p::sh, :] = 0
        for q in range(kw, sw):
            dx[:, :, q::sw] = 0
        idx, dy3 = cache.idx.reshape(n * c, oh, ow), dy.reshape(n * c, oh, ow)
        blocks = _blocks.row_blocks(dx)
        mask = np.empty((_blocks.largest(blocks), oh, ow), dtype=bool)
        for b in blocks:
            m = mask[: len(idx[b])]
            for p in range(kh):
                for q in range(kw):
                    view = dx[b, p : p + sh * (oh - 1) + 1 : sh, q : q + sw * (ow - 1) + 1 : sw]
                    np.equal(idx[b], p * kw + q, out=m)
                    np.multiply(dy3[b], m, out=view)
        return dx.reshape(cache.x_shape).astype(cache.x_dtype, copy=False)
    # Windows overlap: scatter-add dy at the flat position in x of each window's max
    # (its top-left corner plus the offset), so a max shared by several windows adds up.
    corner = (
        np.arange(n * c).reshape(n, c, 1, 1) * (height * width)
        + (np.arange(oh) * (sh * width)).reshape(oh, 1)
        + np.arange(ow) * sw
    )  # (N, C, OH, OW)
    offset = (np.arange(kh).reshape(kh, 1) * width + np.arange(kw)).ravel()  # (KH·KW,)
    where = corner + offset[cache.idx]  # (N, C, OH, OW)
    dx = np.bincount(where.ravel(), weights=dy.ravel(), minlength=n * c * height * width)
    return dx.reshape(cache.x_shape).astype(cache.x_dtype, copy=False)


def maxpool2d_forward_loop(x, kernel_size, stride=None):
    """Max pooling with plain loops, mirroring the definition (a test oracle).

    Same parameters and output as :func:`maxpool2d_forward`; the cache holds ``x``,
    the kernel and the stride.
    """
    x, (kh, kw), (sh, sw), (oh, ow) = _check_pool_args(
        x, kernel_size, stride, "maxpool2d_forward_loop"
    )
    n_batch, n_chan = x.shape[:2]
    out = np.empty((n_batch, n_chan, oh, ow), dtype=x.dtype)
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(oh):
                for j in range(ow):
                    best = x[n, c, i * sh, j * sw]
                    for p in range(kh):
                        for q in range(kw):
                            best = max(best, x[n, c, i * sh + p, j * sw + q])
                    out[n, c, i, j] = best
    return out, MaxPool2dLoopCache(x, (kh, kw), (sh, sw))


def maxpool2d_backward_loop(dy, cache):
    """Gradient of max pooling with plain loops (a test oracle).

    Rescans each window in row-major order and adds ``dy`` at the first position
    holding the window's maximum. Same parameters and output as
    :func:`maxpool2d_backward`, with the cache of :func:`maxpool2d_forward_loop`.
    """
    func = "maxpool2d_backward_loop"
    check_cache(cache, MaxPool2dLoopCache, func)
    x = cache.x
    (kh, kw), (sh, sw) = cache.kernel, cache.stride
    n_batch, n_chan, height, width = x.shape
    oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    dy = check_dout(dy, (n_batch, n_chan, oh, ow), func, name="dy")
    dx = np.zeros(x.shape, dtype=np.float64)
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(oh):
                for j in range(ow):
                    best_pq = (0, 0)
                    for p in range(kh):
                        for q in range(kw):
                            if (
                                x[n, c, i * sh + p, j * sw + q]
                                > x[n, c, i * sh + best_pq[0], j * sw + best_pq[1]]
                            ):
                                best_pq = (p, q)
                    dx[n, c, i * sh + best_pq[0], j * sw + best_pq[1]] += dy[n, c, i, j]
    return dx.astype(x.dtype)


class AvgPool2dCache(NamedTuple):
    """What :func:`avgpool2d_backward` needs from :func:`avgpool2d_forward`."""

    out_shape: tuple[int, int, int, int]
    x_shape: tuple[int, int, int, int]
    x_dtype: np.dtype
    kernel: tuple[int, int]
    stride: tuple[int, int]


class AvgPool2dLoopCache(NamedTuple):
    """What :func:`avgpool2d_backward_loop` needs from :func:`avgpool2d_forward_loop`."""

    x_shape: tuple[int, int, int, int]
    x_dtype: np.dtype
    kernel: tuple[int, int]
    stride: tuple[int, int]


def _strided_sum(a, k, s, n, axis):
    """A new array: ``Σ_t a[..., t : t + s·(n−1) + 1 : s]`` over ``t < k`` along ``axis``."""
    index = [slice(None)] * a.ndim

    def view(t):
        index[axis] = slice(t, t + s * (n - 1) + 1, s)
        return a[tuple(index)]

    total = view(0) + view(1) if k > 1 else view(0).copy()
    for t in range(2, k):
        total += view(t)
    return total


def avgpool2d_forward(x, kernel_size, stride=None):
    """Average pooling over 2-D windows, without padding.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
        Input; integer input becomes float64.
    kernel_size : int or pair of int
        Window size ``(KH, KW)``; an int means a square window.
    stride : int or pair of int, optional
        Step ``(sh, sw)`` between windows; defaults to the kernel size.

    Returns
    -------
    out : ndarray of shape (N, C, OH, OW)
        The mean of each window, ``OH = (H - KH) // sh + 1``, ``OW = (W - KW) // sw + 1``;
        dtype of ``x``. PyTorch's ``avg_pool2d`` without padding.
    cache : AvgPool2dCache
        Shapes, dtype, kernel and stride: the backward needs nothing from ``x``.
    """
    x, (kh, kw), (sh, sw), (oh, ow) = _check_pool_args(x, kernel_size, stride, "avgpool2d_forward")
    # The window sum is separable: add the KW column offsets, then the KH row offsets.
    cols = _strided_sum(x, kw, sw, ow, axis=3)  # (N, C, H, OW)
    out = _strided_sum(cols, kh, sh, oh, axis=2) * x.dtype.type(1.0 / (kh * kw))  # (N, C, OH, OW)
    return out, AvgPool2dCache(out.shape, x.shape, x.dtype, (kh, kw), (sh, sw))


def avgpool2d_backward(dy, cache):
    """Gradient of average pooling with respect to its input.

    Parameters
    ----------
    dy : array_like of shape (N, C, OH, OW)
        Upstream gradient, the shape of the forward output.
    cache : AvgPool2dCache
        The second value returned by :func:`avgpool2d_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Each ``dy`` entry divided by ``KH·KW`` and added to every position of its window;
        dtype of ``x``.
    """
    func = "avgpool2d_backward"
    check_cache(cache, AvgPool2dCache, func)
    dy = check_dout(dy, cache.out_shape, func, name="dy")
    (kh, kw), (sh, sw) = cache.kernel, cache.stride
    oh, ow = cache.out_shape[2:]
    share = (dy * (1.0 / (kh * kw))).astype(cache.x_dtype, copy=False)  # (N, C, OH, OW)
    n, c, height, width = cache.x_shape
    if sh == kh and sw == kw:
        # Windows tile the input: repeat each share over its KH rows and KW columns;
        # rows and columns past the last window get 0.
        tiled = np.repeat(np.repeat(share, kh, axis=2), kw, axis=3)  # (N, C, OH·KH, OW·KW)
        if tiled.shape == cache.x_shape:
            return tiled
        dx = np.zeros(cache.x_shape, dtype=cache.x_dtype)
        dx[:, :, : oh * kh, : ow * kw] = tiled
        return dx
    # Gaps or overlaps: spread over the KH row offsets, then the KW column offsets, adding
    # through one strided view per offset, so overlapping windows add up.
    rows = np.zeros((n, c, height, ow), dtype=cache.x_dtype)
    for p in range(kh):
        rows[:, :, p : p + sh * (oh - 1) + 1 : sh, :] += share
    dx = np.zeros(cache.x_shape, dtype=cache.x_dtype)
    for q in range(kw):
        dx[:, :, :, q : q + sw * (ow - 1) + 1 : sw] += rows
    return dx


def avgpool2d_forward_loop(x, kernel_size, stride=None):
    """Average pooling with plain loops, mirroring the definition (a test oracle).

    Same parameters and output as :func:`avgpool2d_forward`; the cache holds the input's
    shape and dtype, the kernel and the stride.
    """
    x, (kh, kw), (sh, sw), (oh, ow) = _check_pool_args(
        x, kernel_size, stride, "avgpool2d_forward_loop"
    )
    n_batch, n_chan = x.shape[:2]
    out = np.empty((n_batch, n_chan, oh, ow), dtype=x.dtype)
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(oh):
                for j in range(ow):
                    total = 0.0
                    for p in range(kh):
                        for q in range(kw):
                            total += x[n, c, i * sh + p, j * sw + q]
                    out[n, c, i, j] = total / (kh * kw)
    return out, AvgPool2dLoopCache(x.shape, x.dtype, (kh, kw), (sh, sw))


def avgpool2d_backward_loop(dy, cache):
    """Gradient of average pooling with plain loops (a test oracle).

    Adds ``dy[n, c, i, j] / (KH·KW)`` at every position of window ``(i, j)``. Same
    parameters and output as :func:`avgpool2d_backward`, with the cache of
    :func:`avgpool2d_forward_loop`.
    """
    func = "avgpool2d_backward_loop"
    check_cache(cache, AvgPool2dLoopCache, func)
    (kh, kw), (sh, sw) = cache.kernel, cache.stride
    n_batch, n_chan, height, width = cache.x_shape
    oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    dy = check_dout(dy, (n_batch, n_chan, oh, ow), func, name="dy")
    dx = np.zeros(cache.x_shape, dtype=np.float64)
    for n in range(n_batch):
        for c in range(n_chan):
            for i in range(oh):
                for j in range(ow):
                    for p in range(kh):
                        for q in range(kw):
                            dx[n, c, i * sh + p, j * sw + q] += dy[n, c, i, j] / (kh * kw)
    return dx.astype(cache.x_dtype)
