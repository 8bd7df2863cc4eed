"""Tests of mathgrad.pooling: gradients, the tie rule, overlaps, the loop oracle, torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrad import (
    avgpool2d_backward,
    avgpool2d_backward_loop,
    avgpool2d_forward,
    avgpool2d_forward_loop,
    gradcheck,
    maxpool2d_backward,
    maxpool2d_backward_loop,
    maxpool2d_forward,
    maxpool2d_forward_loop,
)

KERNELS = [1, 2, 3, (2, 3)]
STRIDES = [1, 2, 3, (1, 2), None]


def distinct(rng, shape, spacing=0.01):
    """Values free of ties: a random permutation of 0, spacing, 2·spacing, …"""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) - size / 2) * spacing


def pool(x, kernel, stride=None, dy=None):
    """Forward and backward of the vectorised pair, with dy = 1 unless given."""
    out, cache = maxpool2d_forward(x, kernel, stride)
    if dy is None:
        dy = np.ones_like(out)
    return out, maxpool2d_backward(dy, cache)


# --- gradients against finite differences --------------------------------------------


@pytest.mark.parametrize("shape", [(2, 2, 7, 8), (1, 2, 5, 9)])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
def test_gradcheck(rng, shape, kernel, stride):
    x = distinct(rng, shape)
    report = gradcheck(
        maxpool2d_forward, maxpool2d_backward, (x,), kernel_size=kernel, stride=stride
    )
    assert report.passed, str(report)
    assert report.errors[0] <= 1e-7


# --- vectorised equals the loop oracle -----------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (1, 1, 6, 5), (3, 2, 4, 4)])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("ties", [False, True])
def test_matches_loop_oracle(rng, shape, kernel, stride, ties):
    if ties:  # few distinct values: many windows hold several maxima
        x = rng.integers(0, 3, size=shape).astype(np.float64)
    else:
        x = rng.standard_normal(shape)
    out, cache = maxpool2d_forward(x, kernel, stride)
    out_loop, cache_loop = maxpool2d_forward_loop(x, kernel, stride)
    np.testing.assert_array_equal(out, out_loop)
    dy = rng.standard_normal(out.shape)
    dx = maxpool2d_backward(dy, cache)
    dx_loop = maxpool2d_backward_loop(dy, cache_loop)
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-13, atol=1e-13)


def test_output_shape_formula():
    x = np.zeros((2, 3, 11, 10))
    out, _ = maxpool2d_forward(x, (3, 2), (2, 3))
    assert out.shape == (2, 3, (11 - 3) // 2 + 1, (10 - 2) // 3 + 1)
    out, _ = maxpool2d_forward(x, 2)  # stride defaults to the kernel
    assert out.shape == (2, 3, 5, 5)


def test_values_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, dx = pool(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])
    expected = np.zeros((4, 4))
    expected[[1, 1, 3, 3], [1, 3, 1, 3]] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


# --- the tie rule: first maximum in row-major order ----------------------------------


@pytest.mark.parametrize("backward_pair", ["vectorised", "loop"])
@pytest.mark.parametrize(
    "window, first",
    [
        # all equal: the top-left entry
        ([[3.0, 3.0], [3.0, 3.0]], (0, 0)),
        # tie across rows, the later row's copy in an earlier column: row-major first is
        # (0, 1); column-major first and last maximum would both pick (1, 0)
        ([[0.0, 5.0], [5.0, 0.0]], (0, 1)),
        # tie within the later row only: first is (1, 0), last would be (1, 1)
        ([[0.0, 1.0], [2.0, 2.0]], (1, 0)),
        # 3×3: first in row 1, later copies in row 2 (column-major first (2, 0), last (2, 2))
        ([[0.0, 0.0, 0.0], [0.0, 0.0, 7.0], [7.0, 0.0, 7.0]], (1, 2)),
        # 3×3: maxima only in the last row, first is (2, 1), last (2, 2)
        ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 4.0, 4.0]], (2, 1)),
        # negative zero ties with zero
        ([[-1.0, -0.0], [0.0, -1.0]], (0, 1)),
    ],
)
def test_tie_goes_to_first_maximum(window, first, backward_pair):
    x = np.array(window)[None, None]
    k = x.shape[-1]
    fwd, bwd = (
        (maxpool2d_forward, maxpool2d_backward)
        if backward_pair == "vectorised"
        else (maxpool2d_forward_loop, maxpool2d_backward_loop)
    )
    out, cache = fwd(x, k)
    assert out.shape == (1, 1, 1, 1)
    assert out[0, 0, 0, 0] == np.max(x)
    dx = bwd(np.full((1, 1, 1, 1), 2.5), cache)
    expected = np.zeros_like(x)
    expected[0, 0][first] = 2.5
    np.testing.assert_array_equal(dx, expected)


def test_ties_in_many_windows_at_once(rng):
    # Every window a constant block: the gradient must land on each top-left corner.
    x = np.kron(rng.integers(0, 5, size=(2, 3, 3, 4)), np.ones((2, 3)))  # (2, 3, 6, 12)
    dy = rng.standard_normal((2, 3, 3, 4))
    _, dx = pool(x, (2, 3), dy=dy)
    expected = np.zeros_like(x)
    expected[:, :, ::2, ::3] = dy
    np.testing.assert_array_equal(dx, expected)


# --- overlapping windows add up ------------------------------------------------------


def test_overlapping_windows_add_1d():
    # kernel 1×3, stride 1: the 9 is the max of all three windows holding it
    x = np.array([0.0, 1.0, 9.0, 2.0, 3.0])[None, None, None]
    dy = np.array([1.0, 10.0, 100.0])[None, None, None]
    out, dx = pool(x, (1, 3), 1, dy)
    np.testing.assert_array_equal(out[0, 0, 0], [9, 9, 9])
    np.testing.assert_array_equal(dx[0, 0, 0], [0, 0, 111, 0, 0])


@pytest.mark.parametrize("stride", [1, (1, 2), (2, 1)])
def test_overlapping_windows_add_2d(rng, stride):
    # the centre of a 5×5 input is the max of every 3×3 window containing it
    x = distinct(rng, (1, 1, 5, 5)) - 10.0
    x[0, 0, 2, 2] = 100.0
    out, cache = maxpool2d_forward(x, 3, stride)
    dy = rng.standard_normal(out.shape)
    dx = maxpool2d_backward(dy, cache)
    assert np.all(out == 100.0)
    assert dx[0, 0, 2, 2] == pytest.approx(dy.sum(), rel=1e-14)
    dx[0, 0, 2, 2] = 0.0
    assert not dx.any()


def test_overlap_with_ties(rng):
    # a constant input with stride 1: each window sends its gradient to its top-left
    x = np.zeros((1, 1, 4, 4))
    dy = rng.standard_normal((1, 1, 3, 3))
    _, dx = pool(x, 2, 1, dy)
    expected = np.zeros((4, 4))
    expected[:3, :3] = dy[0, 0]
    np.testing.assert_array_equal(dx[0, 0], expected)


# --- PyTorch ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), ((2, 3), (1, 2)), (3, 1)])
@pytest.mark.parametrize("ties", [False, True])
def test_matches_torch(rng, kernel, stride, ties):
    torch = pytest.importorskip("torch")
    shape = (2, 3, 9, 10)
    x = rng.integers(0, 3, size=shape).astype(np.float64) if ties else rng.standard_normal(shape)
    out, cache = maxpool2d_forward(x, kernel, stride)
    dy = rng.standard_normal(out.shape)
    dx = maxpool2d_backward(dy, cache)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.max_pool2d(xt, kernel, stride)
    out_t.backward(torch.tensor(dy))
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-14, atol=1e-14)


# --- dtypes, array-likes, no in-place changes ----------------------------------------


def test_float32_kept(rng):
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    out, cache = maxpool2d_forward(x, 2)
    assert out.dtype == np.float32
    assert maxpool2d_backward(np.ones(out.shape, np.float32), cache).dtype == np.float32
    assert maxpool2d_backward(np.ones(out.shape), cache).dtype == np.float32


def test_int_and_list_input():
    x = np.arange(16).reshape(1, 1, 4, 4)
    out, cache = maxpool2d_forward(x.tolist(), [2, 2], (2, 2))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])
    dx = maxpool2d_backward(np.ones((1, 1, 2, 2), dtype=int).tolist(), cache)
    assert dx.dtype == np.float64
    assert dx.sum() == 4
    out_loop, _ = maxpool2d_forward_loop(x, 2)
    assert out_loop.dtype == np.float64


def test_inputs_not_modified(rng):
    x = rng.standard_normal((2, 2, 7, 7))
    x_copy = x.copy()
    out, cache = maxpool2d_forward(x, 3, 1)
    dy = rng.standard_normal(out.shape)
    dy_copy = dy.copy()
    maxpool2d_backward(dy, cache)
    maxpool2d_backward_loop(dy, maxpool2d_forward_loop(x, 3, 1)[1])
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dy, dy_copy)


def test_cache_holds_no_input(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    _, cache = maxpool2d_forward(x, 2)
    assert not any(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in cache)


# --- validation messages ------------------------------------------------------------


@pytest.mark.parametrize("forward", [maxpool2d_forward, maxpool2d_forward_loop])
@pytest.mark.parametrize(
    "x, kernel, stride, error, match",
    [
        (np.zeros((1, 4, 4)), 2, None, ValueError, r"x must have 4 dimensions, got 3"),
        (np.zeros((1, 1, 4, 4), complex), 2, None, TypeError, r"x must be real"),
        ("abc", 2, None, TypeError, r"x must be an array of real numbers"),
        (np.zeros((1, 1, 4, 4)), 0, None, ValueError, r"kernel_size must be >= 1"),
        (np.zeros((1, 1, 4, 4)), (2, 0), None, ValueError, r"kernel_size must be >= 1 in each"),
        (np.zeros((1, 1, 4, 4)), 2.0, None, TypeError, r"kernel_size must be an int or a pair"),
        (np.zeros((1, 1, 4, 4)), True, None, TypeError, r"kernel_size must be an int or a pair"),
        (np.zeros((1, 1, 4, 4)), (2, 2, 2), None, ValueError, r"kernel_size .* got 3 values"),
        (np.zeros((1, 1, 4, 4)), 2, 0, ValueError, r"stride must be >= 1"),
        (np.zeros((1, 1, 4, 4)), 2, (1, -1), ValueError, r"stride must be >= 1"),
        (np.zeros((1, 1, 4, 4)), 2, 1.5, TypeError, r"stride must be an int or a pair"),
        (np.zeros((1, 1, 4, 4)), 2, False, TypeError, r"stride must be an int or a pair"),
        (
            np.zeros((1, 1, 2, 5)),
            3,
            None,
            ValueError,
            r"kernel_size \(3, 3\) is larger than the input's spatial size \(2, 5\) "
            r"\(x: \(1, 1, 2, 5\)\)",
        ),
        (
            np.zeros((1, 1, 5, 2)),
            (2, 3),
            1,
            ValueError,
            r"kernel_size \(2, 3\) is larger than the input's spatial size \(5, 2\)",
        ),
    ],
)
def test_forward_validation(forward, x, kernel, stride, error, match):
    with pytest.raises(error, match=forward.__name__ + ": " + match):
        forward(x, kernel, stride)


@pytest.mark.parametrize(
    "forward, backward",
    [
        (maxpool2d_forward, maxpool2d_backward),
        (maxpool2d_forward_loop, maxpool2d_backward_loop),
    ],
)
def test_backward_validation(forward, backward):
    name = backward.__name__
    out, cache = forward(np.zeros((1, 1, 4, 5)), 2)
    with pytest.raises(
        ValueError,
        match=name + r": dy must have the shape of the forward output \(1, 1, 2, 2\), "
        r"got \(1, 1, 2, 3\)",
    ):
        backward(np.zeros((1, 1, 2, 3)), cache)
    with pytest.raises(TypeError, match=name + r": dy must be real"):
        backward(np.zeros(out.shape, complex), cache)
    with pytest.raises(
        TypeError,
        match=name
        + r": cache must be the second value returned by "
        + forward.__name__
        + r", got tuple",
    ):
        backward(np.zeros(out.shape), tuple(cache))


def test_backward_rejects_other_pairs_cache():
    _, cache_loop = maxpool2d_forward_loop(np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(TypeError, match=r"maxpool2d_backward: cache must be the second"):
        maxpool2d_backward(np.zeros((1, 1, 2, 2)), cache_loop)


# === average pooling ==========================================================


@pytest.mark.parametrize("shape", [(2, 2, 7, 8), (1, 3, 5, 9)])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
def test_avg_gradcheck(rng, shape, kernel, stride):
    x = rng.standard_normal(shape)
    report = gradcheck(
        avgpool2d_forward, avgpool2d_backward, (x,), kernel_size=kernel, stride=stride
    )
    assert report.passed, str(report)


@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (1, 1, 6, 5)])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
def test_avg_matches_loop_oracle(rng, shape, kernel, stride):
    x = rng.standard_normal(shape)
    out, cache = avgpool2d_forward(x, kernel, stride)
    out_loop, cache_loop = avgpool2d_forward_loop(x, kernel, stride)
    np.testing.assert_allclose(out, out_loop, rtol=1e-13, atol=1e-14)
    dy = rng.standard_normal(out.shape)
    np.testing.assert_allclose(
        avgpool2d_backward(dy, cache), avgpool2d_backward_loop(dy, cache_loop), atol=1e-14
    )


def test_avg_values_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = avgpool2d_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    dy = np.array([[4.0, 8.0], [12.0, 16.0]])[None, None]
    dx = avgpool2d_backward(dy, cache)
    # each dy spread evenly over its 2×2 window: a quarter to every entry
    np.testing.assert_array_equal(dx[0, 0], np.kron([[1.0, 2.0], [3.0, 4.0]], np.ones((2, 2))))


def test_avg_gradient_does_not_depend_on_x(rng):
    dy = rng.standard_normal((2, 3, 3, 3))
    x1, x2 = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((2, 3, 7, 7))
    dx1 = avgpool2d_backward(dy, avgpool2d_forward(x1, 3, 2)[1])
    dx2 = avgpool2d_backward(dy, avgpool2d_forward(x2, 3, 2)[1])
    np.testing.assert_array_equal(dx1, dx2)


def test_avg_overlaps_add():
    # 3×3 windows at stride 1 on 5×5 with dy = 1: an entry gets 1/9 per window holding it
    out, cache = avgpool2d_forward(np.zeros((1, 1, 5, 5)), 3, 1)
    dx = avgpool2d_backward(np.ones(out.shape), cache)[0, 0]
    count = np.zeros((5, 5))
    for i in range(3):
        for j in range(3):
            count[i : i + 3, j : j + 3] += 1
    np.testing.assert_allclose(dx, count / 9, rtol=1e-15)
    assert dx[2, 2] == pytest.approx(1.0) and dx[0, 0] == pytest.approx(1 / 9)


def test_avg_gaps_get_zero():
    # kernel 2, stride 3: rows and columns 2 and 5 lie in no window; the last row too
    out, cache = avgpool2d_forward(np.zeros((1, 1, 7, 6)), 2, 3)
    dx = avgpool2d_backward(np.ones(out.shape), cache)[0, 0]
    assert not dx[[2, 5, 6], :].any() and not dx[:, [2, 5]].any()
    np.testing.assert_array_equal(dx[np.ix_([0, 1, 3, 4], [0, 1, 3, 4])], 0.25)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(3, 8),
    st.integers(3, 8),
)
def test_avg_property_gradient_mass_is_conserved(kh, kw, sh, sw, h, w):
    # every window lies inside the input: the entries of dx add up to those of dy
    rng = np.random.default_rng(kh + 3 * kw + 9 * sh + 27 * sw + 81 * h + 729 * w)
    x = rng.standard_normal((1, 2, h, w))
    out, cache = avgpool2d_forward(x, (kh, kw), (sh, sw))
    dy = rng.standard_normal(out.shape)
    assert avgpool2d_backward(dy, cache).sum() == pytest.approx(dy.sum(), abs=1e-12)
    const, _ = avgpool2d_forward(np.full((1, 2, h, w), 1.7), (kh, kw), (sh, sw))
    np.testing.assert_allclose(const, 1.7, rtol=1e-15)


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), ((2, 3), (1, 2)), (2, 3)])
def test_avg_matches_torch(rng, kernel, stride):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 10))
    out, cache = avgpool2d_forward(x, kernel, stride)
    dy = rng.standard_normal(out.shape)
    dx = avgpool2d_backward(dy, cache)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.avg_pool2d(xt, kernel, stride)
    out_t.backward(torch.tensor(dy))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_avg_dtypes_and_no_mutation(rng):
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    saved = x.copy()
    out, cache = avgpool2d_forward(x, 2)
    assert out.dtype == np.float32
    dy = np.ones(out.shape)
    assert avgpool2d_backward(dy, cache).dtype == np.float32
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_array_equal(dy, 1.0)
    out, cache = avgpool2d_forward(np.arange(16).reshape(1, 1, 4, 4).tolist(), [2, 2])
    assert out.dtype == np.float64
    out_loop, cache_loop = avgpool2d_forward_loop(np.arange(16).reshape(1, 1, 4, 4), 2)
    assert out_loop.dtype == np.float64
    assert avgpool2d_backward_loop(np.ones((1, 1, 2, 2)), cache_loop).dtype == np.float64


@pytest.mark.parametrize("forward", [avgpool2d_forward, avgpool2d_forward_loop])
@pytest.mark.parametrize(
    "x, kernel, stride, error, match",
    [
        (np.zeros((1, 4, 4)), 2, None, ValueError, r"x must have 4 dimensions, got 3"),
        (np.zeros((1, 1, 4, 4)), 0, None, ValueError, r"kernel_size must be >= 1"),
        (np.zeros((1, 1, 4, 4)), 2, 1.5, TypeError, r"stride must be an int or a pair"),
        (
            np.zeros((1, 1, 2, 5)),
            3,
            None,
            ValueError,
            r"kernel_size \(3, 3\) is larger than the input's spatial size \(2, 5\)",
        ),
    ],
)
def test_avg_forward_validation(forward, x, kernel, stride, error, match):
    with pytest.raises(error, match=forward.__name__ + ": " + match):
        forward(x, kernel, stride)


@pytest.mark.parametrize(
    "forward, backward",
    [
        (avgpool2d_forward, avgpool2d_backward),
        (avgpool2d_forward_loop, avgpool2d_backward_loop),
    ],
)
def test_avg_backward_validation(forward, backward):
    name = backward.__name__
    out, cache = forward(np.zeros((1, 1, 4, 5)), 2)
    with pytest.raises(
        ValueError,
        match=name + r": dy must have the shape of the forward output \(1, 1, 2, 2\), "
        r"got \(1, 1, 2, 3\)",
    ):
        backward(np.zeros((1, 1, 2, 3)), cache)
    with pytest.raises(TypeError, match=name + r": cache must be the second value returned by"):
        backward(np.zeros(out.shape), tuple(cache))
    _, max_cache = maxpool2d_forward(np.zeros((1, 1, 4, 5)), 2)
    with pytest.raises(TypeError, match=name + r": cache must be the second value"):
        backward(np.zeros(out.shape), max_cache)


@pytest.mark.parametrize("shape", [(0, 2, 4, 4), (2, 0, 4, 4)])
@pytest.mark.parametrize("stride", [2, 1])  # non-overlapping and overlapping backward paths
def test_no_samples_or_no_channels_give_empty_results(shape, stride):
    y, cache = maxpool2d_forward(np.zeros(shape), 2, stride)
    assert y.shape == (*shape[:2], 4 // stride - (stride == 1), 4 // stride - (stride == 1))
    dx = maxpool2d_backward(np.zeros(y.shape), cache)
    assert dx.shape == shape and dx.dtype == np.float64


@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 2), ((2, 3), (3, 2))])
def test_max_pool_blocks_do_not_change_the_result(rng, monkeypatch, kernel, stride):
    # max pooling works through blocks of images (sample, channel) of about BLOCK_BYTES;
    # with tiny blocks each image is a block of its own
    import mathgrad._blocks as blocks

    x = rng.standard_normal((3, 4, 7, 8))
    x[0, 0, :2, :2] = 1.0  # a tie: the first maximum in row-major order wins
    out, cache = maxpool2d_forward(x, kernel, stride)
    dy = rng.standard_normal(out.shape)
    dx = maxpool2d_backward(dy, cache)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 1)
    out_b, cache_b = maxpool2d_forward(x, kernel, stride)
    np.testing.assert_array_equal(out_b, out)
    np.testing.assert_array_equal(cache_b.idx, cache.idx)
    np.testing.assert_array_equal(maxpool2d_backward(dy, cache_b), dx)
    _, cache_loop = maxpool2d_forward_loop(x, kernel, stride)
    np.testing.assert_allclose(
        maxpool2d_backward(dy, cache_b), maxpool2d_backward_loop(dy, cache_loop)
    )
