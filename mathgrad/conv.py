"""Two-dimensional convolution (cross-correlation, as PyTorch's ``conv2d``).

The vectorised pair ``conv2d_forward`` / ``conv2d_backward`` lowers the convolution to one
batched matrix product: ``_im2col`` gathers every receptive field into a column, the
weights become a ``(F, C·KH·KW)`` matrix, and ``_col2im`` scatters column gradients back,
adding where windows overlap. The loop pair ``conv2d_forward_loop`` /
``conv2d_backward_loop`` mirrors the formula

    y[n, f, i, j] = b[f] + Σ_{c, p, q} x_pad[n, c, i·sh + p, j·sw + q] · w[f, c, p, q]

index by index, for reading and as an independent test oracle. ``conv2d_as_linear``
writes the convolution as the dense matrix of a fully connected layer whose weights are
missing (structural zeros) or shared (tied to one entry of ``w``).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._validation import (
    as_float_array,
    check_cache,
    check_dout,
    check_finite,
    check_int_pair,
    check_nonzero_sizes,
    fmt_shape,
)

__all__ = [
    "conv2d_as_linear",
    "conv2d_backward",
    "conv2d_backward_loop",
    "conv2d_forward",
    "conv2d_forward_loop",
]

# The forward and the backward run over batch chunks whose columns take about this many
# bytes: each chunk's columns (and column gradients) are built in one reused buffer that
# stays in cache between the gather, the matrix products and the scatter, so a large
# batch's columns are never all held in memory ...
_CHUNK_BYTES = 1 << 20
# ... but a chunk holds at least this many columns (output pixels), so that its matrix
# products are wide enough for BLAS to run near full speed.
_CHUNK_MIN_COLS = 1024


# ---------------------------------------------------------------------------------------
# Validation and padding, shared by the vectorised and the loop versions
# ---------------------------------------------------------------------------------------


def _check_conv_args(x, w, b, stride, padding, func):
    """Validate the forward arguments; return arrays, stride, padding and output size."""
    x = as_float_array(x, "x", func, ndim=4)
    w = as_float_array(w, "w", func, ndim=4)
    b = as_float_array(b, "b", func, ndim=1)
    sh, sw = check_int_pair(stride, "stride", func, minimum=1)
    ph, pw = check_int_pair(padding, "padding", func, minimum=0)
    check_nonzero_sizes(w, ("F", "C", "KH", "KW"), "w", func)
    check_nonzero_sizes(x, ("", "C", "H", "W"), "x", func)
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"{func}: w has {w.shape[1]} input channels but x has {x.shape[1]} "
            f"(x: {fmt_shape(x.shape)}, w: {fmt_shape(w.shape)})"
        )
    if b.shape[0] != w.shape[0]:
        raise ValueError(
            f"{func}: b must have one entry per filter, {w.shape[0]}, got {b.shape[0]} "
            f"(w: {fmt_shape(w.shape)}, b: {fmt_shape(b.shape)})"
        )
    oh, ow = _output_size(x.shape[2:], w.shape[2:], (sh, sw), (ph, pw), func)
    return x, w, b, (sh, sw), (ph, pw), (oh, ow)


def _output_size(hw, khw, stride, padding, func):
    """``OH = (H + 2·ph − KH) // sh + 1`` and likewise ``OW``; raise if either is < 1."""
    (h, wd), (kh, kw), (sh, sw), (ph, pw) = hw, khw, stride, padding
    if kh > h + 2 * ph or kw > wd + 2 * pw:
        raise ValueError(
            f"{func}: kernel {fmt_shape((kh, kw))} is larger than the padded input "
            f"{fmt_shape((h + 2 * ph, wd + 2 * pw))} (input {fmt_shape((h, wd))}, "
            f"padding {fmt_shape((ph, pw))}); use a smaller kernel or more padding"
        )
    return (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1


def _pad(x, padding):
    """Zero-pad the last two axes of ``x`` by ``padding = (ph, pw)`` on each side."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, wd = x.shape
    x_pad = np.empty((n, c, h + 2 * ph, wd + 2 * pw), dtype=x.dtype)
    x_pad[:, :, ph : ph + h, pw : pw + wd] = x
    # zero only the border (top and bottom rows, then the left and right columns between
    # them), so every entry is written once
    x_pad[:, :, :ph] = 0
    x_pad[:, :, ph + h :] = 0
    x_pad[:, :, ph : ph + h, :pw] = 0
    x_pad[:, :, ph : ph + h, pw + wd :] = 0
    return x_pad


# ---------------------------------------------------------------------------------------
# Vectorised: im2col and one batched matrix product
# ---------------------------------------------------------------------------------------


class Conv2dCache(NamedTuple):
    """What ``conv2d_backward`` needs from ``conv2d_forward``."""

    x_pad: np.ndarray  # (N, C, H + 2·ph, W + 2·pw), in the computation dtype
    cols: np.ndarray | None  # (C·KH·KW, N·OH·OW) when the batch was one chunk, else None
    w: np.ndarray  # (F, C, KH, KW), in the computation dtype
    x_shape: tuple[int, int, int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    x_dtype: np.dtype
    w_dtype: np.dtype
    b_dtype: np.dtype


def _windows(x_pad, kernel, stride, out_size):
    """Read-only view of every receptive field, shape ``(N, C, KH, KW, OH, OW)``.

    ``windows[n, c, p, q, i, j] == x_pad[n, c, i·sh + p, j·sw + q]``; no data is copied.
    """
    n, c = x_pad.shape[:2]
    sn, sc, s_h, s_w = x_pad.strides
    return as_strided(
        x_pad,
        shape=(n, c, *kernel, *out_size),
        strides=(sn, sc, s_h, s_w, s_h * stride[0], s_w * stride[1]),
        writeable=False,
    )


def _im2col(x_pad, kernel, stride, out_size, out=None):
    """Gather receptive fields into columns: ``(N, C, Hp, Wp)`` to ``(N, C·KH·KW, OH·OW)``.

    Row ``c·KH·KW + p·KW + q`` of ``cols[n]`` holds ``x_pad[n, c, i·sh + p, j·sw + q]``
    at column ``i·OW + j``, so ``w.reshape(F, -1) @ cols[n]`` is the output of sample ``n``.
    The columns are written into ``out`` (a contiguous array of that shape) when given.
    """
    n, c = x_pad.shape[:2]
    kh, kw = kernel
    oh, ow = out_size
    windows = _windows(x_pad, kernel, stride, out_size)  # (N, C, KH, KW, OH, OW)
    if out is None:
        return windows.reshape(n, c * kh * kw, oh * ow)  # the copy: windows overlap
    np.copyto(out.reshape(windows.shape), windows)
    return out


def _col2im(dcols, dx_pad, kernel, stride, out_size):
    """Scatter-add column gradients into ``dx_pad`` (the adjoint of ``_im2col``).

    ``dcols (N, C·KH·KW, OH·OW)`` is added into ``dx_pad (N, C, Hp, Wp)`` in place; the
    loop runs over the ``KH·KW`` kernel offsets, never over pixels, and windows that
    overlap (stride smaller than the kernel) add up.
    """
    n, c = dx_pad.shape[:2]
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_size
    d6 = dcols.reshape(n, c, kh, kw, oh, ow)  # (N, C, KH, KW, OH, OW)
    for p in range(kh):
        for q in range(kw):
            dx_pad[:, :, p : p + sh * oh : sh, q : q + sw * ow : sw] += d6[:, :, p, q]
    return dx_pad


def _chunk_size(n, n_pix, sample_bytes):
    """Samples per batch chunk: ``_CHUNK_MIN_COLS`` columns or ``_CHUNK_BYTES`` of columns,
    whichever is more, in chunks of equal size."""
    min_samples = -(-_CHUNK_MIN_COLS // max(1, n_pix))  # ceil
    per_chunk = max(1, min(n, max(min_samples, _CHUNK_BYTES // max(1, sample_bytes))))
    n_chunks = max(1, -(-n // per_chunk))
    return max(1, -(-n // n_chunks))


def _chunk_buffer(rows, n_c, n_pix, dtype):
    """A ``(rows, n_c·OH·OW)`` matrix, reused by every chunk of the batch.

    The matrix holds a chunk's samples side by side, so one matrix product covers the
    whole chunk; ``_chunk_views`` gives the first samples' part of it in both layouts.
    """
    return np.empty((rows, n_c * n_pix), dtype=dtype)  # (rows, n_c·OH·OW)


def _chunk_views(buf, n_c, n_pix):
    """The first ``n_c`` samples of a chunk buffer as ``(rows, n_c·OH·OW)`` and as the
    per-sample layout ``(n_c, rows, OH·OW)`` of ``_im2col`` and ``_col2im`` (same memory).
    """
    mat = buf[:, : n_c * n_pix]  # (rows, n_c·OH·OW)
    return mat, mat.reshape(len(buf), n_c, n_pix).transpose(1, 0, 2)  # (n_c, rows, OH·OW)


def _correlate(x_pad, w2d, kernel, stride, out_size, out, bias=None, padding=(0, 0)):
    """``out[n] = w2d @ _im2col(x_pad)[n] (+ bias)`` for every sample, chunk by chunk.

    ``x_pad (N, C, Hp, Wp)``, ``w2d (F, C·KH·KW)``, ``out (N, F, OH·OW)``, ``bias (F, 1)``.
    Each chunk's columns go into one reused buffer and meet ``w2d`` in one matrix product.
    With ``padding`` nonzero, ``x_pad`` is the unpadded input and each chunk is padded in
    a reused buffer of its own, so the whole padded input is never held in memory.
    Returns the columns ``(C·KH·KW, N·OH·OW)`` if the whole batch was one chunk, else None.
    """
    n, (f, ckk), n_pix = len(x_pad), w2d.shape, out_size[0] * out_size[1]
    chunk = _chunk_size(n, n_pix, out.itemsize * ckk * n_pix)
    cols_buf = _chunk_buffer(ckk, chunk, n_pix, out.dtype)  # (C·KH·KW, chunk·OH·OW)
    y_buf = _chunk_buffer(f, chunk, n_pix, out.dtype)  # (F, chunk·OH·OW)
    (ph, pw), (h, wd) = padding, x_pad.shape[2:]
    if ph or pw:  # zeros once: the border stays 0, every chunk writes only the inside
        pad_buf = np.zeros((min(chunk, n), x_pad.shape[1], h + 2 * ph, wd + 2 * pw), out.dtype)
    for s in range(0, n, chunk):
        x_c = x_pad[s : s + chunk]
        if ph or pw:
            pad_buf[: len(x_c), :, ph : ph + h, pw : pw + wd] = x_c
            x_c = pad_buf[: len(x_c)]
        cols, cols_view = _chunk_views(cols_buf, len(x_c), n_pix)
        _im2col(x_c, kernel, stride, out_size, out=cols_view)
        y_c, y_view = _chunk_views(y_buf, len(x_c), n_pix)
        np.matmul(w2d, cols, out=y_c)  # (F, n_c·OH·OW), one product for the chunk
        if bias is None:
            out[s : s + chunk] = y_view
        else:
            np.add(y_view, bias, out=out[s : s + chunk])
    return cols_buf if chunk >= n else None


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Forward pass of a 2-D convolution (cross-correlation, as PyTorch's ``conv2d``).

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
        Input batch. ``N = 0`` gives an empty output (and zero ``dw``, ``db``); ``C``,
        ``H``, ``W`` must be at least 1 (``ValueError`` naming ``x``).
    w : array_like of shape (F, C, KH, KW)
        Filters; every size at least 1 (an empty kernel raises ``ValueError`` naming ``w``).
    b : array_like of shape (F,)
        Biases, one per filter.
    stride : int or pair of int, default 1
        Step ``(sh, sw)`` between windows, each at least 1.
    padding : int or pair of int, default 0
        Zeros ``(ph, pw)`` added on each side of the height and width axes.

    Returns
    -------
    out : ndarray of shape (N, F, OH, OW)
        ``OH = (H + 2·ph − KH) // sh + 1``, ``OW = (W + 2·pw − KW) // sw + 1``; dtype
        ``np.result_type(x, w, b)``.
    cache : Conv2dCache
        The padded input, its columns ``(C·KH·KW, N·OH·OW)`` if the batch fitted in one
        chunk (else None: the backward pass rebuilds them chunk by chunk, which is cheaper
        than keeping ``KH·KW`` copies of every pixel in memory), the filters, the input's
        shape, the stride, the padding and the inputs' dtypes.
    """
    x, w, b, stride, padding, out_size = _check_conv_args(
        x, w, b, stride, padding, "conv2d_forward"
    )
    dtype = np.result_type(x, w, b)
    n = x.shape[0]
    f, c, kh, kw = w.shape
    ckk, n_pix = c * kh * kw, out_size[0] * out_size[1]
    wc = w.astype(dtype, copy=False)
    w2d = wc.reshape(f, ckk)  # (F, C·KH·KW)
    b_col = b.astype(dtype, copy=False)[:, None]  # (F, 1)
    x_pad = _pad(x.astype(dtype, copy=False), padding)  # (N, C, Hp, Wp)
    out = np.empty((n, f, n_pix), dtype=dtype)  # (N, F, OH·OW)
    cols = _correlate(x_pad, w2d, (kh, kw), stride, out_size, out, bias=b_col)
    out = out.reshape(n, f, *out_size)  # (N, F, OH, OW)
    cache = Conv2dCache(x_pad, cols, wc, x.shape, stride, padding, x.dtype, w.dtype, b.dtype)
    return out, cache


def _dx_by_scatter(c, f, kernel, stride, padding):
    """Whether :func:`conv2d_backward` forms ``dx`` by scattering the column gradients
    (:func:`_col2im`) rather than as the full cross-correlation of ``dy`` with the flipped
    filters, which needs stride 1 and padding smaller than the kernel.

    Both do the same multiply-adds. The correlation copies ``F·KH·KW`` values per pixel
    into its columns; the scatter writes ``C·KH·KW`` column gradients per pixel and adds
    them into place. With few input channels the scatter moves far less: measured (AMD
    EPYC, float64 and float32), it takes 0.4 to 0.9 of the correlation's time at
    ``F >= 4·C`` and 1.05 to 1.55 of it at ``F <= 2·C``.
    """
    (kh, kw), (ph, pw) = kernel, padding
    return stride != (1, 1) or ph >= kh or pw >= kw or f >= 4 * c


def conv2d_backward(dy, cache):
    """Backward pass of :func:`conv2d_forward`.

    Parameters
    ----------
    dy : array_like of shape (N, F, OH, OW)
        Upstream gradient, the shape of the forward output.
    cache : Conv2dCache
        The second value returned by :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        In the dtype of ``x`` (float64 for integer input); likewise ``dw`` and ``db``.
    dw : ndarray of shape (F, C, KH, KW)
    db : ndarray of shape (F,)
    """
    func = "conv2d_backward"
    cache = check_cache(cache, Conv2dCache, func)
    x_pad, cols_cached, w, x_shape, stride, padding = cache[:6]
    n, c, h, wd = x_shape
    f, _, kh, kw = w.shape
    out_size = _output_size((h, wd), (kh, kw), stride, padding, func)
    dy = check_dout(dy, (n, f, *out_size), func, name="dy", finite=False)  # checked below
    dtype = x_pad.dtype
    ckk, n_pix = c * kh * kw, out_size[0] * out_size[1]
    dy = dy.astype(dtype, copy=False).reshape(n, f, n_pix)  # (N, F, OH·OW)
    with np.errstate(invalid="ignore"):  # inf − inf: reported by the check
        db = dy.sum(axis=(0, 2))
    check_finite(dy, "dy", func, total=db)  # a NaN or inf in dy makes its filter's Σ one
    w2d = w.reshape(f, ckk)  # (F, C·KH·KW)
    dw = np.zeros_like(w2d)
    ph, pw = padding
    # dx is either the full cross-correlation of dy with the flipped filters
    # (conv-eq-dx-full), cropped by the padding: a forward pass of its own, no scatter; or
    # the column gradients scattered with _col2im: larger strides, and stride 1 when the
    # filters outnumber the input channels four to one (_dx_by_scatter).
    scatter = _dx_by_scatter(c, f, (kh, kw), stride, padding)
    dx_pad = np.zeros_like(x_pad) if scatter else None  # (N, C, Hp, Wp)
    if cols_cached is None:
        chunk = _chunk_size(n, n_pix, dtype.itemsize * ckk * n_pix)
        cols_buf = _chunk_buffer(ckk, chunk, n_pix, dtype)  # (C·KH·KW, chunk·OH·OW)
        dcols_buf = cols_buf  # a chunk's columns are used up before its gradients are made
    else:
        chunk, cols_buf = max(1, n), cols_cached  # one chunk, columns from the forward
        dcols_buf = np.empty_like(cols_buf) if scatter else None
    dy_buf = _chunk_buffer(f, chunk, n_pix, dtype)  # (F, chunk·OH·OW)
    for s in range(0, n, chunk):
        x_c = x_pad[s : s + chunk]
        n_c = len(x_c)
        cols, cols_view = _chunk_views(cols_buf, n_c, n_pix)  # (C·KH·KW, n_c·OH·OW)
        if cols_cached is None:
            _im2col(x_c, (kh, kw), stride, out_size, out=cols_view)
        dy_c, dy_view = _chunk_views(dy_buf, n_c, n_pix)  # (F, n_c·OH·OW)
        dy_view[...] = dy[s : s + chunk]
        dw += dy_c @ cols.T  # (F, n_c·OH·OW) @ (n_c·OH·OW, C·KH·KW)
        if scatter:
            dcols, dcols_view = _chunk_views(dcols_buf, n_c, n_pix)
            np.matmul(w2d.T, dy_c, out=dcols)  # (C·KH·KW, n_c·OH·OW)
            _col2im(dcols_view, dx_pad[s : s + chunk], (kh, kw), stride, out_size)
    if scatter:
        dx = dx_pad[:, :, ph : ph + h, pw : pw + wd]
    else:
        w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(c, f * kh * kw)  # (C, F·KH·KW)
        dx = np.empty((n, c, h * wd), dtype=dtype)  # (N, C, H·W)
        dy4 = dy.reshape(n, f, *out_size)  # padded chunk by chunk inside _correlate
        _correlate(dy4, w_flip, (kh, kw), (1, 1), (h, wd), dx, padding=(kh - 1 - ph, kw - 1 - pw))
        dx = dx.reshape(x_shape)
    return (
        dx.astype(cache.x_dtype, copy=scatter),
        dw.reshape(w.shape).astype(cache.w_dtype, copy=False),
        db.astype(cache.b_dtype, copy=False),
    )


# ---------------------------------------------------------------------------------------
# Loop oracle: the formula, index by index
# ---------------------------------------------------------------------------------------


class Conv2dLoopCache(NamedTuple):
    """What ``conv2d_backward_loop`` needs from ``conv2d_forward_loop``."""

    x_pad: np.ndarray  # (N, C, H + 2·ph, W + 2·pw), in the computation dtype
    w: np.ndarray  # (F, C, KH, KW), in the computation dtype
    stride: tuple[int, int]
    padding: tuple[int, int]
    x_dtype: np.dtype
    w_dtype: np.dtype
    b_dtype: np.dtype


def conv2d_forward_loop(x, w, b, stride=1, padding=0):
    """Loop version of :func:`conv2d_forward`, mirroring the formula index by index.

    ``y[n, f, i, j] = b[f] + Σ_{c, p, q} x_pad[n, c, i·sh + p, j·sw + q] · w[f, c, p, q]``,
    with the sum over ``c, p, q`` taken as the product-sum of one window with one filter.
    Slow; for reading and as a test oracle. Arguments and output as
    :func:`conv2d_forward`; the cache (a ``Conv2dLoopCache``) holds the padded input, the
    filters, the stride, the padding and the inputs' dtypes.
    """
    x, w, b, (sh, sw), padding, (oh, ow) = _check_conv_args(
        x, w, b, stride, padding, "conv2d_forward_loop"
    )
    dtype = np.result_type(x, w, b)
    x_pad = _pad(x.astype(dtype, copy=False), padding)
    w_ = w.astype(dtype, copy=False)
    n_batch, n_filters = x.shape[0], w.shape[0]
    kh, kw = w.shape[2:]
    y = np.zeros((n_batch, n_filters, oh, ow), dtype=dtype)
    for n in range(n_batch):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    window = x_pad[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    y[n, f, i, j] = b[f] + np.sum(window * w_[f])
    cache = Conv2dLoopCache(x_pad, w_, (sh, sw), padding, x.dtype, w.dtype, b.dtype)
    return y, cache


def conv2d_backward_loop(dy, cache):
    """Loop version of :func:`conv2d_backward`: the forward's formula run backwards.

    Each output ``y[n, f, i, j]`` received ``x_pad[n, :, i·sh + p, j·sw + q] · w[f, :, p, q]``
    for every ``p, q``, so its gradient ``dy[n, f, i, j]`` is sent back to the window of
    ``x_pad`` (times the filter), to the filter (times the window) and to ``b[f]``.
    ``cache`` is the second value returned by :func:`conv2d_forward_loop`; returns
    ``(dx, dw, db)`` as :func:`conv2d_backward`.
    """
    func = "conv2d_backward_loop"
    cache = check_cache(cache, Conv2dLoopCache, func)
    x_pad, w, (sh, sw), (ph, pw) = cache[:4]
    n_batch, _, hp, wp = x_pad.shape
    n_filters, _, kh, kw = w.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    dy = check_dout(dy, (n_batch, n_filters, oh, ow), func, name="dy")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(n_filters, dtype=w.dtype)
    for n in range(n_batch):
        for f in range(n_filters):
            for i in range(oh):
                for j in range(ow):
                    g = dy[n, f, i, j]
                    rows = slice(i * sh, i * sh + kh)
                    cols = slice(j * sw, j * sw + kw)
                    dx_pad[n, :, rows, cols] += g * w[f]
                    dw[f] += g * x_pad[n, :, rows, cols]
                    db[f] += g
    dx = dx_pad[:, :, ph : hp - ph, pw : wp - pw]
    return (
        dx.astype(cache.x_dtype),
        dw.astype(cache.w_dtype, copy=False),
        db.astype(cache.b_dtype, copy=False),
    )


# ---------------------------------------------------------------------------------------
# The convolution as a fully connected layer with missing and shared weights
# ---------------------------------------------------------------------------------------


def _check_input_shape(input_shape, func):
    """A value of the wrong kind is a ``TypeError``, a sequence of the wrong length or
    with a size < 1 a ``ValueError``."""
    if isinstance(input_shape, np.ndarray):
        input_shape = input_shape.tolist()
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(
            f"{func}: input_shape must be a tuple of 3 ints (C, H, W), got "
            f"{type(input_shape).__name__} {input_shape!r}"
        )
    if len(input_shape) != 3:
        raise ValueError(
            f"{func}: input_shape must be a tuple of 3 ints (C, H, W), got {input_shape!r}"
        )
    for item in input_shape:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{func}: input_shape must be a tuple of 3 ints (C, H, W), got {input_shape!r}"
            )
        if item < 1:
            raise ValueError(
                f"{func}: input_shape must hold positive sizes (C, H, W), got {input_shape!r}"
            )
    return tuple(int(s) for s in input_shape)


def conv2d_as_linear(w, input_shape, stride=1, padding=0):
    """The convolution as a dense matrix, with the weight each entry is tied to.

    Parameters
    ----------
    w : array_like of shape (F, C, KH, KW)
        Filters, every size at least 1.
    input_shape : tuple of 3 ints
        ``(C, H, W)`` of one input sample, each at least 1; a value that is not a
        sequence raises ``TypeError``.
    stride, padding : int or pair of int
        As in :func:`conv2d_forward`.

    Returns
    -------
    W_dense : ndarray of shape (F·OH·OW, C·H·W)
        ``conv2d_forward(x, w, b)[0][n].ravel() == W_dense @ x[n].ravel() + np.repeat(b,
        OH·OW)``; dtype of ``w``.
    tie : ndarray of int of shape (F·OH·OW, C·H·W)
        The flat index into ``w`` that each entry of ``W_dense`` copies, or ``-1`` where
        the entry is a structural zero (the input pixel is outside the window, or the
        window reads padding there). So ``dw.ravel()[k] == dW_dense[tie == k].sum()``.
    """
    func = "conv2d_as_linear"
    w = as_float_array(w, "w", func, ndim=4)
    check_nonzero_sizes(w, ("F", "C", "KH", "KW"), "w", func)
    c, h, wd = _check_input_shape(input_shape, func)
    sh, sw = check_int_pair(stride, "stride", func, minimum=1)
    ph, pw = check_int_pair(padding, "padding", func, minimum=0)
    f, cw, kh, kw = w.shape
    if cw != c:
        raise ValueError(
            f"{func}: w has {cw} input channels but input_shape has {c} "
            f"(input_shape: {fmt_shape((c, h, wd))}, w: {fmt_shape(w.shape)})"
        )
    oh, ow = _output_size((h, wd), (kh, kw), (sh, sw), (ph, pw), func)
    # One entry per (f, i, j, c, p, q): output (f, i, j) reads input pixel
    # (c, i·sh + p − ph, j·sw + q − pw) through weight w[f, c, p, q].
    fi, i, j, ci, p, q = np.ix_(*(np.arange(s) for s in (f, oh, ow, c, kh, kw)))
    rows = (fi * oh + i) * ow + j
    r = i * sh + p - ph  # input row, in unpadded coordinates
    s = j * sw + q - pw  # input column
    inside = (r >= 0) & (r < h) & (s >= 0) & (s < wd)
    shape = (f, oh, ow, c, kh, kw)
    cols = np.broadcast_to((ci * h + r) * wd + s, shape)
    k = np.broadcast_to(((fi * c + ci) * kh + p) * kw + q, shape)
    inside = np.broadcast_to(inside, shape)
    rows = np.broadcast_to(rows, shape)
    tie = np.full((f * oh * ow, c * h * wd), -1, dtype=np.intp)
    # Distinct (p, q) of one output reach distinct pixels, so no entry is written twice.
    tie[rows[inside], cols[inside]] = k[inside]
    w_dense = np.where(tie >= 0, w.reshape(-1)[tie], 0).astype(w.dtype, copy=False)
    return w_dense, tie
