"""Tests of mathgrad.conv: gradients, the loop oracle, the dense matrix, torch, validation."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mathgrad
from mathgrad import conv as conv_module
from mathgrad import (
    conv2d_as_linear,
    conv2d_backward,
    conv2d_backward_loop,
    conv2d_forward,
    conv2d_forward_loop,
    gradcheck,
)

KERNELS = [(1, 1), (2, 2), (3, 3), (2, 3), (5, 5)]
STRIDES = [1, 2, 3, (1, 2), (2, 1)]
PADDINGS = [0, 1, 2, (0, 1)]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_size(hw, kernel, stride, padding):
    (h, w), (kh, kw), (sh, sw), (ph, pw) = hw, kernel, _pair(stride), _pair(padding)
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _fits(hw, kernel, padding):
    (h, w), (kh, kw), (ph, pw) = hw, kernel, _pair(padding)
    return kh <= h + 2 * ph and kw <= w + 2 * pw


def _draw(rng, x_shape, n_filters, kernel):
    """x, w, b in float64; F differs from C so a transposed gradient changes values."""
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((n_filters, x_shape[1], *kernel))
    b = rng.standard_normal(n_filters)
    return x, w, b


def test_public_names():
    for name in conv_module.__all__:
        assert getattr(mathgrad, name) is getattr(conv_module, name)
    assert "Conv2dCache" not in conv_module.__all__


# ---------------------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("padding", PADDINGS)
def test_gradcheck(rng, kernel, stride, padding):
    x_shape = (2, 2, 5, 6)  # non-square input, C = 2
    if not _fits(x_shape[2:], kernel, padding):
        pytest.skip("kernel larger than the padded input")
    x, w, b = _draw(rng, x_shape, 3, kernel)
    report = gradcheck(conv2d_forward, conv2d_backward, (x, w, b), stride=stride, padding=padding)
    assert report.passed, str(report)


@pytest.mark.parametrize(
    ("x_shape", "kernel", "stride", "padding"),
    [((1, 1, 4, 4), (3, 3), 1, 1), ((2, 3, 6, 5), (2, 3), (2, 1), (0, 1))],
)
def test_gradcheck_loop(rng, x_shape, kernel, stride, padding):
    x, w, b = _draw(rng, x_shape, 2, kernel)
    report = gradcheck(
        conv2d_forward_loop, conv2d_backward_loop, (x, w, b), stride=stride, padding=padding
    )
    assert report.passed, str(report)


def _mutant_scaled(dy, cache):
    dx, dw, db = conv2d_backward(dy, cache)
    return dx * 1.001, dw, db


def _mutant_dw_transposed(dy, cache):
    dx, dw, db = conv2d_backward(dy, cache)
    return dx, np.swapaxes(dw, 2, 3).reshape(dw.shape), db


def _mutant_db_scaled(dy, cache):
    dx, dw, db = conv2d_backward(dy, cache)
    return dx, dw, db * 1.001


@pytest.mark.parametrize("mutant", [_mutant_scaled, _mutant_dw_transposed, _mutant_db_scaled])
def test_gradcheck_catches_wrong_rules(rng, mutant):
    x, w, b = _draw(rng, (2, 2, 5, 6), 3, (2, 3))
    report = gradcheck(conv2d_forward, mutant, (x, w, b), stride=1, padding=1)
    assert not report.passed, str(report)


def test_gradcheck_catches_overwritten_overlap(rng, monkeypatch):
    """col2im must add where windows overlap; overwriting them is caught."""

    def col2im_overwrite(dcols, dx_pad, kernel, stride, out_size):
        n, c = dx_pad.shape[:2]
        (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_size
        d6 = dcols.reshape(n, c, kh, kw, oh, ow)
        for p in range(kh):
            for q in range(kw):
                dx_pad[:, :, p : p + sh * oh : sh, q : q + sw * ow : sw] = d6[:, :, p, q]
        return dx_pad

    monkeypatch.setattr(conv_module, "_col2im", col2im_overwrite)
    x, w, b = _draw(rng, (2, 2, 5, 6), 3, (3, 3))
    report = gradcheck(conv2d_forward, conv2d_backward, (x, w, b), stride=2, padding=1)
    assert not report.passed, str(report)


# ---------------------------------------------------------------------------------------
# Vectorised version against the loop oracle
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("padding", PADDINGS)
def test_matches_loop_oracle(rng, kernel, stride, padding):
    x_shape = (3, 2, 7, 6)
    if not _fits(x_shape[2:], kernel, padding):
        pytest.skip("kernel larger than the padded input")
    x, w, b = _draw(rng, x_shape, 4, kernel)
    out, cache = conv2d_forward(x, w, b, stride=stride, padding=padding)
    out_loop, cache_loop = conv2d_forward_loop(x, w, b, stride=stride, padding=padding)
    assert out.shape == (3, 4, *_out_size(x_shape[2:], kernel, stride, padding))
    np.testing.assert_allclose(out, out_loop, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(out.shape)
    for g, g_loop in zip(
        conv2d_backward(dy, cache), conv2d_backward_loop(dy, cache_loop), strict=True
    ):
        assert g.shape == g_loop.shape
        np.testing.assert_allclose(g, g_loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("c", "f", "scatter"), [(1, 4, True), (2, 8, True), (2, 4, False)])
@pytest.mark.parametrize("padding", [0, 1, (2, 1)])
def test_both_stride_one_input_gradients_match_loop_oracle(rng, c, f, scatter, padding):
    # at stride 1, dx is a scatter of the column gradients when the filters outnumber the
    # input channels four to one, else the full correlation: both are the formula
    assert conv_module._dx_by_scatter(c, f, (3, 3), (1, 1), _pair(padding)) is scatter
    x, w, b = _draw(rng, (3, c, 6, 5), f, (3, 3))
    out, cache = conv2d_forward(x, w, b, padding=padding)
    _, cache_loop = conv2d_forward_loop(x, w, b, padding=padding)
    dy = rng.standard_normal(out.shape)
    for g, g_loop in zip(
        conv2d_backward(dy, cache), conv2d_backward_loop(dy, cache_loop), strict=True
    ):
        np.testing.assert_allclose(g, g_loop, rtol=1e-12, atol=1e-12)


def test_large_batch_spans_several_chunks(rng, monkeypatch):
    """The backward's batch chunks add up to the unchunked result."""
    x, w, b = _draw(rng, (7, 3, 6, 5), 2, (3, 2))
    out, cache = conv2d_forward(x, w, b, stride=(1, 2), padding=1)
    dy = rng.standard_normal(out.shape)
    whole = conv2d_backward(dy, cache)
    monkeypatch.setattr(conv_module, "_CHUNK_BYTES", 1)  # one sample per chunk
    for g, g_chunked in zip(whole, conv2d_backward(dy, cache), strict=True):
        np.testing.assert_allclose(g, g_chunked, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (1, 0), ((1, 2), 1), (2, (0, 1))])
def test_chunked_batch_matches_one_chunk(rng, monkeypatch, stride, padding):
    """Forward and backward over one-sample chunks (columns rebuilt in the backward, the
    stride-1 input gradient as a chunked correlation) equal the one-chunk result (columns
    cached by the forward)."""
    x, w, b = _draw(rng, (5, 3, 7, 6), 4, (3, 2))
    out, cache = conv2d_forward(x, w, b, stride=stride, padding=padding)
    assert cache.cols is not None  # a small batch is one chunk: its columns are kept
    dy = rng.standard_normal(out.shape)
    whole = conv2d_backward(dy, cache)
    monkeypatch.setattr(conv_module, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_module, "_CHUNK_MIN_COLS", 1)  # one sample per chunk
    out_c, cache_c = conv2d_forward(x, w, b, stride=stride, padding=padding)
    assert cache_c.cols is None
    np.testing.assert_allclose(out_c, out, rtol=1e-13, atol=1e-13)
    for g, g_chunked in zip(whole, conv2d_backward(dy, cache_c), strict=True):
        np.testing.assert_allclose(g, g_chunked, rtol=1e-13, atol=1e-13)


def test_hand_computed_example():
    """A 1×1×3×3 input, a 2×2 kernel of ones, stride 1, padding 0: window sums."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.ones((1, 1, 2, 2))
    out, cache = conv2d_forward(x, w, [10.0])
    np.testing.assert_array_equal(out[0, 0], [[18.0, 22.0], [30.0, 34.0]])
    dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), cache)
    # The centre pixel is in all four windows, the corners in one: overlaps add.
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(dw[0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(db, [4.0])


def test_padding_is_zeros_and_cropped(rng):
    """Padding contributes zeros; dx has the unpadded shape and the right alignment."""
    x = rng.standard_normal((1, 1, 4, 5))
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, 1, 1] = 1.0  # identity kernel: with padding 1 the output is x itself
    out, cache = conv2d_forward(x, w, [0.0], padding=1)
    np.testing.assert_array_equal(out, x)
    dy = rng.standard_normal(out.shape)
    dx, _, _ = conv2d_backward(dy, cache)
    np.testing.assert_array_equal(dx, dy)
    w2 = np.zeros((1, 1, 3, 3))
    w2[0, 0, 0, 0] = 1.0  # reads one up and one left: the padding row/column shows zeros
    out2, cache2 = conv2d_forward(x, w2, [0.0], padding=1)
    np.testing.assert_array_equal(out2[0, 0, 1:, 1:], x[0, 0, :-1, :-1])
    np.testing.assert_array_equal(out2[0, 0, 0, :], 0.0)
    np.testing.assert_array_equal(out2[0, 0, :, 0], 0.0)
    dx2, _, _ = conv2d_backward(dy, cache2)
    np.testing.assert_array_equal(dx2[0, 0, :-1, :-1], dy[0, 0, 1:, 1:])
    np.testing.assert_array_equal(dx2[0, 0, -1, :], 0.0)
    np.testing.assert_array_equal(dx2[0, 0, :, -1], 0.0)


# ---------------------------------------------------------------------------------------
# The convolution as a dense matrix with tied weights
# ---------------------------------------------------------------------------------------


@st.composite
def conv_configs(draw):
    c = draw(st.integers(1, 3))
    f = draw(st.integers(1, 3))
    h = draw(st.integers(1, 7))
    w = draw(st.integers(1, 7))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    assume(_fits((h, w), kernel, padding))
    stride = stride[0] if draw(st.booleans()) else stride  # ints and pairs both
    n = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    return (n, c, h, w), f, kernel, stride, padding, seed


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(conv_configs())
def test_conv_equals_dense_matrix(config):
    x_shape, f, kernel, stride, padding, seed = config
    rng = np.random.default_rng(seed)
    x, w, b = _draw(rng, x_shape, f, kernel)
    out, cache = conv2d_forward(x, w, b, stride=stride, padding=padding)
    w_dense, tie = conv2d_as_linear(w, x_shape[1:], stride=stride, padding=padding)
    n, oh, ow = x_shape[0], *out.shape[2:]
    assert w_dense.shape == tie.shape == (f * oh * ow, int(np.prod(x_shape[1:])))
    bias = np.repeat(b, oh * ow)
    for i in range(n):
        np.testing.assert_allclose(w_dense @ x[i].ravel() + bias, out[i].ravel(), atol=1e-12)
    # Backward through the dense layer: dx = Wᵀ dy, and dw sums the tied entries of dW.
    dy = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dy, cache)
    d_dense = sum(np.outer(dy[i].ravel(), x[i].ravel()) for i in range(n))
    for i in range(n):
        np.testing.assert_allclose(dx[i].ravel(), w_dense.T @ dy[i].ravel(), atol=1e-12)
    tied = np.bincount(tie[tie >= 0], weights=d_dense[tie >= 0], minlength=w.size)
    np.testing.assert_allclose(dw.ravel(), tied, atol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)).ravel(), atol=1e-12)


def test_tie_sum_identity_entry_by_entry(rng):
    x, w, b = _draw(rng, (2, 2, 5, 4), 3, (2, 3))
    out, cache = conv2d_forward(x, w, b, stride=(2, 1), padding=(1, 0))
    dy = rng.standard_normal(out.shape)
    _, dw, _ = conv2d_backward(dy, cache)
    _, tie = conv2d_as_linear(w, (2, 5, 4), stride=(2, 1), padding=(1, 0))
    d_dense = sum(np.outer(dy[i].ravel(), x[i].ravel()) for i in range(2))
    for k in range(w.size):
        assert np.isclose(dw.ravel()[k], d_dense[tie == k].sum(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel", [(1, 1), (2, 3), (3, 3)])
@pytest.mark.parametrize("stride", [1, 2, (1, 2)])
@pytest.mark.parametrize("padding", [0, 1, (0, 1)])
def test_tie_structure(rng, kernel, stride, padding):
    c, h, wd = 2, 5, 4
    f = 3
    w = rng.uniform(0.5, 1.5, (f, c, *kernel)) * rng.choice([-1.0, 1.0], (f, c, *kernel))
    w_dense, tie = conv2d_as_linear(w, (c, h, wd), stride=stride, padding=padding)
    oh, ow = _out_size((h, wd), kernel, stride, padding)
    assert tie.dtype.kind == "i"
    assert w_dense.dtype == w.dtype
    assert tie.min() >= -1 and tie.max() < w.size
    # -1 marks exactly the zeros of W_dense (w has no zero entry).
    np.testing.assert_array_equal(tie == -1, w_dense == 0)
    np.testing.assert_array_equal(w_dense[tie >= 0], w.ravel()[tie[tie >= 0]])
    # Row (f, i, j) only copies entries of filter f.
    filt = np.repeat(np.arange(f), oh * ow)[:, None]
    connected = tie >= 0
    np.testing.assert_array_equal(
        (tie // (c * kernel[0] * kernel[1]))[connected],
        np.broadcast_to(filt, tie.shape)[connected],
    )
    # Each row holds each weight of its filter at most once.
    for row in tie:
        used = row[row >= 0]
        assert len(np.unique(used)) == len(used)
    # With padding smaller than the kernel, every weight is used somewhere.
    if all(pd < k for pd, k in zip(_pair(padding), kernel, strict=True)):
        assert set(np.unique(tie[tie >= 0])) == set(range(w.size))
    # An interior output with no padding in its window sees all C·KH·KW weights.
    if _pair(padding) == (0, 0):
        assert (tie[0] >= 0).sum() == c * kernel[0] * kernel[1]


def test_as_linear_disconnected_weights():
    """A weight that only ever meets padding is tied to no entry, and its gradient is 0."""
    w = np.ones((1, 1, 5, 5))
    _, tie = conv2d_as_linear(w, (1, 1, 1), stride=3, padding=2)  # one output, one pixel
    np.testing.assert_array_equal(tie, [[12]])  # only the centre weight touches x
    x = np.full((1, 1, 1, 1), 2.0)
    _, cache = conv2d_forward(x, w, [0.0], stride=3, padding=2)
    _, dw, _ = conv2d_backward(np.ones((1, 1, 1, 1)), cache)
    expected = np.zeros(25)
    expected[12] = 2.0
    np.testing.assert_array_equal(dw.ravel(), expected)


def test_as_linear_dtypes():
    w32 = np.ones((2, 1, 2, 2), dtype=np.float32)
    w_dense, tie = conv2d_as_linear(w32, (1, 3, 3))
    assert w_dense.dtype == np.float32
    w_dense, _ = conv2d_as_linear([[[[1, 2], [3, 4]]]], [1, 3, 3])
    assert w_dense.dtype == np.float64
    assert w_dense.shape == (4, 9)


# ---------------------------------------------------------------------------------------
# Dtypes, lists, no mutation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "backward"),
    [(conv2d_forward, conv2d_backward), (conv2d_forward_loop, conv2d_backward_loop)],
)
def test_float32_is_kept(rng, forward, backward):
    x, w, b = (a.astype(np.float32) for a in _draw(rng, (2, 3, 6, 5), 2, (3, 2)))
    out, cache = forward(x, w, b, stride=2, padding=1)
    assert out.dtype == np.float32
    grads = backward(rng.standard_normal(out.shape).astype(np.float32), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3
    ref, _ = conv2d_forward(x.astype(np.float64), w.astype(np.float64), b, 2, 1)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_mixed_dtypes(rng):
    x, w, b = _draw(rng, (2, 3, 6, 5), 2, (3, 2))
    out, cache = conv2d_forward(x.astype(np.float32), w, b.astype(np.float32))
    assert out.dtype == np.float64
    dx, dw, db = conv2d_backward(rng.standard_normal(out.shape), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float32)


@pytest.mark.parametrize(
    ("forward", "backward"),
    [(conv2d_forward, conv2d_backward), (conv2d_forward_loop, conv2d_backward_loop)],
)
def test_int_input_and_lists(forward, backward):
    x = np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4) % 5
    w = np.arange(3 * 2 * 2 * 2).reshape(3, 2, 2, 2) % 3 - 1
    b = [1, 0, -1]
    out, cache = forward(x.tolist(), w.tolist(), b, stride=[1, 2], padding=(1, 0))
    assert out.dtype == np.float64
    ref, _ = conv2d_forward_loop(
        x.astype(float), w.astype(float), np.array(b, float), (1, 2), (1, 0)
    )
    np.testing.assert_array_equal(out, ref)
    grads = backward(np.ones(out.shape, dtype=int).tolist(), cache)
    assert [g.dtype for g in grads] == [np.float64] * 3
    assert [g.shape for g in grads] == [x.shape, w.shape, (3,)]


@pytest.mark.parametrize(
    ("forward", "backward"),
    [(conv2d_forward, conv2d_backward), (conv2d_forward_loop, conv2d_backward_loop)],
)
def test_arguments_not_modified(rng, forward, backward):
    x, w, b = _draw(rng, (2, 2, 5, 5), 3, (3, 3))
    copies = [a.copy() for a in (x, w, b)]
    out, cache = forward(x, w, b, stride=1, padding=1)
    dy = rng.standard_normal(out.shape)
    dy_copy = dy.copy()
    grads = backward(dy, cache)
    backward(dy, cache)  # the cache survives a first backward
    for a, a_copy in zip((x, w, b, dy), (*copies, dy_copy), strict=True):
        np.testing.assert_array_equal(a, a_copy)
    for g, g2 in zip(grads, backward(dy, cache), strict=True):
        np.testing.assert_array_equal(g, g2)
    w_copy = w.copy()
    conv2d_as_linear(w, (2, 5, 5), padding=1)
    np.testing.assert_array_equal(w, w_copy)


def test_gradients_are_fresh_arrays(rng):
    x, w, b = _draw(rng, (2, 2, 5, 5), 3, (3, 3))
    out, cache = conv2d_forward(x, w, b)
    dx, dw, db = conv2d_backward(rng.standard_normal(out.shape), cache)
    for g, a in ((dx, x), (dw, w), (db, b)):
        assert not np.shares_memory(g, a)


def test_empty_batch(rng):
    _, w, b = _draw(rng, (1, 2, 5, 5), 3, (3, 3))
    out, cache = conv2d_forward(np.zeros((0, 2, 5, 5)), w, b, padding=1)
    assert out.shape == (0, 3, 5, 5)
    dx, dw, db = conv2d_backward(np.zeros(out.shape), cache)
    assert dx.shape == (0, 2, 5, 5)
    np.testing.assert_array_equal(dw, 0.0)
    np.testing.assert_array_equal(db, 0.0)


# ---------------------------------------------------------------------------------------
# PyTorch agreement
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_shape", "f", "kernel", "stride", "padding"),
    [
        ((2, 3, 8, 7), 4, (3, 3), 1, 1),
        ((2, 3, 9, 8), 5, (2, 3), (2, 1), (0, 1)),
        ((3, 2, 10, 10), 3, (5, 5), 3, 2),
        ((1, 4, 6, 9), 2, (1, 1), 2, 0),
        ((2, 2, 7, 7), 6, (4, 2), (1, 3), (2, 1)),
    ],
)
def test_matches_torch(rng, x_shape, f, kernel, stride, padding):
    torch = pytest.importorskip("torch")
    x, w, b = _draw(rng, x_shape, f, kernel)
    out, cache = conv2d_forward(x, w, b, stride=stride, padding=padding)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(out.shape)
    yt.backward(torch.tensor(dy))
    for g, t in zip(conv2d_backward(dy, cache), (xt, wt, bt), strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------

X = np.zeros((2, 4, 8, 8))
W = np.zeros((5, 4, 3, 3))
B = np.zeros(5)


@pytest.mark.parametrize("forward", [conv2d_forward, conv2d_forward_loop])
@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((X[0], W, B), {}, ValueError, "x must have 4 dimensions, got 3"),
        ((X, W[0], B), {}, ValueError, "w must have 4 dimensions, got 3"),
        ((X, W, B[:, None]), {}, ValueError, "b must have 1 dimension, got 2"),
        (
            (X, np.zeros((5, 3, 3, 3)), B),
            {},
            ValueError,
            "w has 3 input channels but x has 4 (x: (2, 4, 8, 8), w: (5, 3, 3, 3))",
        ),
        ((X, W, np.zeros(4)), {}, ValueError, "b must have one entry per filter, 5, got 4"),
        (
            (X, np.zeros((5, 4, 9, 3)), B),
            {},
            ValueError,
            "kernel (9, 3) is larger than the padded input (8, 8)",
        ),
        (
            (X, np.zeros((5, 4, 11, 3)), B),
            {"padding": 1},
            ValueError,
            "kernel (11, 3) is larger than the padded input (10, 10)",
        ),
        (
            (X, W[:, :, :0], B),
            {},
            ValueError,
            "w has KH = 0 (w: (5, 4, 0, 3), axes (F, C, KH, KW)); expected KH >= 1",
        ),
        ((X, W[:, :, :, :0], B), {"padding": 1}, ValueError, "w has KW = 0 (w: (5, 4, 3, 0)"),
        ((X, W[:0], B[:0]), {}, ValueError, "w has F = 0 (w: (0, 4, 3, 3)"),
        ((X[:, :0], W[:, :0], B), {}, ValueError, "w has C = 0 (w: (5, 0, 3, 3)"),
        (
            (X[:, :, :0], W[:, :, :1], B),
            {"padding": 1},
            ValueError,
            "x has H = 0 (x: (2, 4, 0, 8), axes (N, C, H, W)); expected H >= 1",
        ),
        ((X, W, B), {"stride": 0}, ValueError, "stride must be >= 1"),
        ((X, W, B), {"stride": (1, -2)}, ValueError, "stride must be >= 1"),
        ((X, W, B), {"stride": 1.5}, TypeError, "stride must be an int or a pair of ints"),
        ((X, W, B), {"stride": "2"}, TypeError, "stride must be an int or a pair of ints"),
        ((X, W, B), {"stride": (1, 2, 3)}, ValueError, "stride must be an int or a pair"),
        ((X, W, B), {"padding": -1}, ValueError, "padding must be >= 0"),
        ((X, W, B), {"padding": (1,)}, ValueError, "padding must be an int or a pair"),
        ((X, W, B), {"padding": True}, TypeError, "padding must be an int or a pair of ints"),
        ((X + 1j, W, B), {}, TypeError, "x must be real"),
        (("abc", W, B), {}, TypeError, "x must be an array of real numbers"),
        ((X, W, [np.nan] * 5), {}, ValueError, "b contains NaN or infinity"),
    ],
)
def test_forward_validation(forward, args, kwargs, error, message):
    with pytest.raises(error, match=f"^{forward.__name__}: .*{re.escape(message)}"):
        forward(*args, **kwargs)


@pytest.mark.parametrize(
    ("forward", "backward"),
    [(conv2d_forward, conv2d_backward), (conv2d_forward_loop, conv2d_backward_loop)],
)
def test_backward_validation(rng, forward, backward):
    x, w, b = _draw(rng, (2, 3, 6, 6), 4, (3, 3))
    out, cache = forward(x, w, b, stride=2, padding=1)
    assert out.shape == (2, 4, 3, 3)
    name = backward.__name__
    msg = "dy must have the shape of the forward output (2, 4, 3, 3), got (2, 4, 3, 4)"
    with pytest.raises(ValueError, match=f"^{name}: {re.escape(msg)}"):
        backward(np.zeros((2, 4, 3, 4)), cache)
    with pytest.raises(ValueError, match=f"^{name}: dy must have the shape"):
        backward(np.zeros((4, 2, 3, 3)), cache)
    with pytest.raises(TypeError, match=f"^{name}: dy must be real"):
        backward(np.zeros(out.shape, dtype=complex), cache)
    expected = f"cache must be the second value returned by {forward.__name__}"
    for bad in (None, (x, w), tuple(cache)):
        with pytest.raises(TypeError, match=f"^{name}: {re.escape(expected)}"):
            backward(np.zeros(out.shape), bad)


def test_caches_are_not_interchangeable(rng):
    x, w, b = _draw(rng, (1, 2, 4, 4), 2, (2, 2))
    out, cache = conv2d_forward(x, w, b)
    _, cache_loop = conv2d_forward_loop(x, w, b)
    with pytest.raises(TypeError, match="conv2d_backward: cache must be"):
        conv2d_backward(np.zeros(out.shape), cache_loop)
    with pytest.raises(TypeError, match="conv2d_backward_loop: cache must be"):
        conv2d_backward_loop(np.zeros(out.shape), cache)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (
            (W, (4, 8)),
            {},
            ValueError,
            "input_shape must be a tuple of 3 ints (C, H, W), got (4, 8)",
        ),
        ((W, 8), {}, TypeError, "input_shape must be a tuple of 3 ints (C, H, W), got int 8"),
        (
            (W, None),
            {},
            TypeError,
            "input_shape must be a tuple of 3 ints (C, H, W), got NoneType",
        ),
        (
            (W, "abc"),
            {},
            TypeError,
            "input_shape must be a tuple of 3 ints (C, H, W), got str 'abc'",
        ),
        (
            (W[:, :, :0], (4, 8, 8)),
            {},
            ValueError,
            "w has KH = 0 (w: (5, 4, 0, 3), axes (F, C, KH, KW)); expected KH >= 1",
        ),
        ((W, (4, 8.0, 8)), {}, TypeError, "input_shape must be a tuple of 3 ints"),
        ((W, (4, 0, 8)), {}, ValueError, "input_shape must hold positive sizes"),
        ((W[0], (4, 8, 8)), {}, ValueError, "w must have 4 dimensions, got 3"),
        (
            (W, (3, 8, 8)),
            {},
            ValueError,
            "w has 4 input channels but input_shape has 3 "
            "(input_shape: (3, 8, 8), w: (5, 4, 3, 3))",
        ),
        ((W, (4, 2, 8)), {}, ValueError, "kernel (3, 3) is larger than the padded input (2, 8)"),
        ((W, (4, 8, 8)), {"stride": 0}, ValueError, "stride must be >= 1"),
        ((W, (4, 8, 8)), {"padding": (0, -1)}, ValueError, "padding must be >= 0"),
        ((W, (4, 8, 8)), {"stride": 2.0}, TypeError, "stride must be an int or a pair"),
    ],
)
def test_as_linear_validation(args, kwargs, error, message):
    with pytest.raises(error, match=f"^conv2d_as_linear: {re.escape(message)}"):
        conv2d_as_linear(*args, **kwargs)
