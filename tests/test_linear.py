"""Tests of mathgrad.linear: the affine layer y = x @ w.T + b."""

import numpy as np
import pytest

from mathgrad import gradcheck, linear_backward, linear_forward

# D != M everywhere, so a transposed dw has the wrong shape or wrong values
SHAPES = [(1, 3, 2), (4, 5, 3), (3, 2, 6), (5, 1, 4), (2, 4, 1)]


def draw(rng, n, d, m, dtype=np.float64):
    x = rng.normal(size=(n, d)).astype(dtype)
    w = rng.normal(size=(m, d)).astype(dtype)
    b = rng.normal(size=(m,)).astype(dtype)
    return x, w, b


def linear_loop(x, w, b):
    """y[n, i] = Σ_j w[i, j] x[n, j] + b[i], written as the formula reads."""
    n_rows, d = x.shape
    m = w.shape[0]
    y = np.zeros((n_rows, m))
    for n in range(n_rows):
        for i in range(m):
            y[n, i] = sum(w[i, j] * x[n, j] for j in range(d)) + b[i]
    return y


@pytest.mark.parametrize(("n", "d", "m"), SHAPES)
def test_gradcheck(n, d, m, rng):
    report = gradcheck(linear_forward, linear_backward, draw(rng, n, d, m), tol=1e-7)
    assert report.passed, str(report)
    assert report.names == ["x", "w", "b"]


@pytest.mark.parametrize(("n", "d", "m"), SHAPES)
def test_forward_matches_loop(n, d, m, rng):
    x, w, b = draw(rng, n, d, m)
    y, _ = linear_forward(x, w, b)
    assert y.shape == (n, m)
    np.testing.assert_allclose(y, linear_loop(x, w, b), rtol=1e-12, atol=1e-12)


def test_backward_matches_index_formulas(rng):
    x, w, b = draw(rng, 4, 3, 2)
    dy = rng.normal(size=(4, 2))
    _, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(dy, cache)
    # ∂C/∂w_ij = Σ_n δ_ni a_nj with δ = dy, a = x
    dw_loop = np.array([[sum(dy[n, i] * x[n, j] for n in range(4)) for j in range(3)]
                        for i in range(2)])  # fmt: skip
    dx_loop = np.array([[sum(dy[n, i] * w[i, j] for i in range(2)) for j in range(3)]
                        for n in range(4)])  # fmt: skip
    np.testing.assert_allclose(dw, dw_loop, rtol=1e-12)
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axis=0), rtol=1e-12)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)


def test_float32_kept(rng):
    x, w, b = draw(rng, 3, 4, 2, np.float32)
    y, cache = linear_forward(x, w, b)
    assert y.dtype == np.float32
    grads = linear_backward(rng.normal(size=(3, 2)), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3


def test_mixed_dtypes_each_gradient_in_its_inputs_dtype(rng):
    x, w, b = draw(rng, 3, 4, 2)
    y, cache = linear_forward(x.astype(np.float32), w, b.astype(np.float32))
    assert y.dtype == np.float64
    dx, dw, db = linear_backward(np.ones((3, 2)), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float32)


def test_int_becomes_float64_and_lists_work():
    y, cache = linear_forward([[1, 2]], np.array([[1, 0], [0, 1], [1, 1]]), [True, False, 1])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[2.0, 2.0, 4.0]])
    dx, dw, db = linear_backward([[1, 1, 1]], cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float64,) * 3
    np.testing.assert_array_equal(dx, [[2.0, 2.0]])
    np.testing.assert_array_equal(dw, [[1.0, 2.0]] * 3)


def test_arguments_not_modified(rng):
    x, w, b = draw(rng, 3, 4, 2)
    dy = rng.normal(size=(3, 2))
    saved = [a.copy() for a in (x, w, b, dy)]
    _, cache = linear_forward(x, w, b)
    linear_backward(dy, cache)
    linear_backward(dy, cache)
    for a, a0 in zip((x, w, b, dy), saved, strict=True):
        np.testing.assert_array_equal(a, a0)


def test_forward_rejects_bad_shapes():
    x, w, b = np.ones((3, 4)), np.ones((2, 4)), np.ones(2)
    with pytest.raises(
        ValueError,
        match=r"^linear_forward: w has 5 input features but x has 4 "
        r"\(x: \(3, 4\), w: \(2, 5\)\); expected w of shape \(M, 4\)",
    ):
        linear_forward(x, np.ones((2, 5)), b)
    with pytest.raises(
        ValueError,
        match=r"^linear_forward: b has 3 entries but w has 2 outputs "
        r"\(w: \(2, 4\), b: \(3,\)\); expected b of shape \(2,\), one bias per row of w",
    ):
        linear_forward(x, w, np.ones(3))
    with pytest.raises(ValueError, match=r"^linear_forward: x must have 2 dimensions, got 1"):
        linear_forward(np.ones(4), w, b)
    with pytest.raises(ValueError, match=r"^linear_forward: w must have 2 dimensions, got 3"):
        linear_forward(x, np.ones((2, 4, 1)), b)
    with pytest.raises(ValueError, match=r"^linear_forward: b must have 1 dimension, got 2"):
        linear_forward(x, w, np.ones((1, 2)))


def test_forward_rejects_bad_kinds():
    x, w, b = np.ones((3, 4)), np.ones((2, 4)), np.ones(2)
    with pytest.raises(TypeError, match=r"^linear_forward: w must be real, got complex"):
        linear_forward(x, w.astype(complex), b)
    with pytest.raises(TypeError, match=r"^linear_forward: b must be an array of real numbers"):
        linear_forward(x, w, None)
    with pytest.raises(ValueError, match=r"^linear_forward: x contains NaN or infinity"):
        linear_forward(np.full((3, 4), np.nan), w, b)


def test_backward_rejects_bad_input():
    _, cache = linear_forward(np.ones((3, 4)), np.ones((2, 4)), np.ones(2))
    with pytest.raises(
        ValueError,
        match=r"^linear_backward: dy must have the shape of the forward output \(3, 2\), "
        r"got \(2, 3\)",
    ):
        linear_backward(np.ones((2, 3)), cache)
    with pytest.raises(
        TypeError,
        match=r"^linear_backward: cache must be the second value returned by linear_forward",
    ):
        linear_backward(np.ones((3, 2)), (np.ones((3, 4)), np.ones((2, 4)), np.float64))


def test_gradcheck_catches_transposed_and_scaled_gradients(rng):
    inputs = draw(rng, 3, 3, 3)  # square, so a transposed dw has the right shape

    def transposed(dy, cache):
        dx, dw, db = linear_backward(dy, cache)
        return dx, dw.T, db

    def scaled(dy, cache):
        dx, dw, db = linear_backward(dy, cache)
        return dx, dw, 1.001 * db

    assert not gradcheck(linear_forward, transposed, inputs).passed
    assert not gradcheck(linear_forward, scaled, inputs).passed


def test_an_empty_batch_gives_an_empty_output_and_zero_parameter_gradients(rng):
    x, w, b = np.zeros((0, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    y, cache = linear_forward(x, w, b)
    assert y.shape == (0, 4)
    dx, dw, db = linear_backward(np.zeros((0, 4)), cache)
    assert dx.shape == (0, 3)
    np.testing.assert_array_equal(dw, np.zeros((4, 3)))  # a sum over no samples
    np.testing.assert_array_equal(db, np.zeros(4))


@pytest.mark.parametrize(
    ("x", "w", "b", "match"),
    [
        (
            np.zeros((2, 0)),
            np.zeros((4, 0)),
            np.zeros(4),
            r"x has D = 0 \(x: \(2, 0\), axes \(N, D\)\)",
        ),
        (
            np.zeros((2, 3)),
            np.zeros((0, 3)),
            np.zeros(0),
            r"w has M = 0 \(w: \(0, 3\), axes \(M, D\)\)",
        ),
    ],
)
def test_no_features_or_no_outputs_raise(x, w, b, match):
    with pytest.raises(ValueError, match=rf"^linear_forward: {match}; expected [DM] >= 1$"):
        linear_forward(x, w, b)
