"""Tests of mathgrad/softmax.py: softmax, log-softmax, its Jacobian, cross-entropy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mathgrad import (
    cross_entropy_backward,
    cross_entropy_forward,
    gradcheck,
    log_softmax,
    numerical_gradient,
    relative_error,
    sigmoid_forward,
    softmax,
    softmax_backward,
    softmax_forward,
    softmax_jacobian,
)

HYPOTHESIS = settings(max_examples=50, deadline=None)

logit_arrays = arrays(
    np.float64,
    array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    elements=st.floats(-100, 100),
)


def one_hot(labels, k):
    return np.eye(k)[labels]


# ---- gradient checks (float64, tol 1e-7) ------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "axis"),
    [((1,), -1), ((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -3)],
)
def test_softmax_gradcheck(rng, shape, axis):
    z = 2 * rng.standard_normal(shape)
    report = gradcheck(softmax_forward, softmax_backward, (z,), axis=axis)
    assert report.passed, str(report)


@pytest.mark.parametrize(("n", "k"), [(1, 2), (4, 3), (5, 6), (3, 1)])
def test_cross_entropy_gradcheck_labels(rng, n, k):
    logits = 2 * rng.standard_normal((n, k))
    labels = rng.integers(0, k, size=n)
    report = gradcheck(cross_entropy_forward, cross_entropy_backward, (logits,), target=labels)
    assert report.passed, str(report)


@pytest.mark.parametrize(("n", "k"), [(1, 2), (4, 3), (5, 6)])
def test_cross_entropy_gradcheck_probabilities(rng, n, k):
    logits = 2 * rng.standard_normal((n, k))
    target = rng.dirichlet(np.ones(k), size=n)
    report = gradcheck(cross_entropy_forward, cross_entropy_backward, (logits,), target=target)
    assert report.passed, str(report)


def test_gradcheck_catches_a_slightly_wrong_backward(rng):
    z = rng.standard_normal((3, 4))

    def wrong_softmax_backward(dp, cache):
        return 1.001 * softmax_backward(dp, cache)

    def wrong_cross_entropy_backward(dloss, cache):
        return 1.001 * cross_entropy_backward(dloss, cache)

    report = gradcheck(softmax_forward, wrong_softmax_backward, (z,))
    assert not report.passed
    assert "FAIL" in str(report)
    report = gradcheck(
        cross_entropy_forward, wrong_cross_entropy_backward, (z,), target=np.array([0, 3, 1])
    )
    assert not report.passed


# ---- properties ------------------------------------------------------------------------


@HYPOTHESIS
@given(z=logit_arrays)
def test_softmax_rows_sum_to_one(z):
    p = softmax(z)
    assert p.shape == z.shape
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@HYPOTHESIS
@given(z=logit_arrays, data=st.data())
def test_softmax_ignores_a_constant_per_row(z, data):
    c = data.draw(arrays(np.float64, z.shape[:-1] + (1,), elements=st.floats(-100, 100)))
    np.testing.assert_allclose(softmax(z + c), softmax(z), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(log_softmax(z + c), log_softmax(z), rtol=1e-10, atol=1e-10)


@HYPOTHESIS
@given(
    z=arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
        elements=st.floats(-1000, 1000),
    ),
    axis=st.integers(-3, 2),
)
def test_log_softmax_is_log_of_softmax_where_finite(z, axis):
    axis = axis % z.ndim
    logp = log_softmax(z, axis=axis)
    p = softmax(z, axis=axis)
    assert np.all(np.isfinite(logp))
    normal = p >= np.finfo(np.float64).tiny  # log of a subnormal has few digits left
    np.testing.assert_allclose(logp[normal], np.log(p[normal]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 2, 3)])
def test_jacobian_equals_finite_differences_and_outer_product(rng, shape):
    z = rng.standard_normal(shape)
    k = shape[-1]
    jac = softmax_jacobian(z)
    assert jac.shape == shape + (k,)
    p = softmax(z)
    outer = p[..., :, None] * p[..., None, :]
    np.testing.assert_allclose(jac, np.eye(k) * p[..., None, :] - outer, rtol=1e-14, atol=1e-16)
    for i in range(k):
        for index in np.ndindex(shape[:-1]):
            row = numerical_gradient(lambda zr, index=index, i=i: softmax(zr)[i], z[index])
            assert relative_error(jac[index][i], row) < 1e-8
    np.testing.assert_allclose(jac, np.swapaxes(jac, -1, -2), atol=1e-16)
    np.testing.assert_allclose(jac.sum(axis=-1), 0, atol=1e-15)


@pytest.mark.parametrize(
    ("shape", "axis"), [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)]
)
def test_softmax_backward_is_jacobian_transpose_product(rng, shape, axis):
    z = rng.standard_normal(shape)
    dp = rng.standard_normal(shape)
    p, cache = softmax_forward(z, axis=axis)
    np.testing.assert_array_equal(p, softmax(z, axis=axis))
    dz = softmax_backward(dp, cache)
    # move the softmax axis last to use the Jacobian over the last axis
    jac = softmax_jacobian(np.moveaxis(z, axis, -1))
    expected = np.einsum("...ij,...i->...j", jac, np.moveaxis(dp, axis, -1))
    assert relative_error(dz, np.moveaxis(expected, -1, axis)) < 1e-12


def test_cross_entropy_gradient_is_p_minus_y_over_n(rng):
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    y = one_hot(labels, 4)
    p = softmax(logits)
    loss, cache = cross_entropy_forward(logits, labels)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(5), labels])), rtol=1e-13)
    np.testing.assert_allclose(cross_entropy_backward(1.0, cache), (p - y) / 5, rtol=1e-13)
    np.testing.assert_allclose(
        cross_entropy_backward(np.array(-2.5), cache), -2.5 * (p - y) / 5, rtol=1e-13
    )


def test_labels_and_one_hot_give_the_same_loss_and_gradient(rng):
    logits = rng.standard_normal((6, 3))
    labels = rng.integers(0, 3, size=6)
    loss_l, cache_l = cross_entropy_forward(logits, labels)
    loss_h, cache_h = cross_entropy_forward(logits, one_hot(labels, 3))
    assert loss_l == pytest.approx(loss_h, rel=1e-14)
    np.testing.assert_allclose(
        cross_entropy_backward(0.7, cache_l), cross_entropy_backward(0.7, cache_h), rtol=1e-14
    )
    # whole-valued float labels and lists work too
    assert cross_entropy_forward(logits, labels.astype(float))[0] == loss_l
    assert cross_entropy_forward(logits.tolist(), labels.tolist())[0] == loss_l


# ---- extreme logits --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_of_extreme_logits_is_finite_and_exact(dtype):
    z = np.array([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    p = softmax(z)
    assert p.dtype == dtype
    expected = np.array([[1, 0, 0], [1, 1, 1], [1, 1, 0]]) / [[1], [3], [2]]
    np.testing.assert_array_equal(p, expected.astype(dtype))
    np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=0, atol=4 * np.finfo(dtype).eps)
    logp = log_softmax(z)
    assert logp.dtype == dtype
    np.testing.assert_array_equal(logp[0], [0, -2e4, -1e4])
    np.testing.assert_allclose(logp[1], np.log(1 / 3), rtol=np.finfo(dtype).eps)
    assert np.all(np.isfinite(softmax_jacobian(z)))
    out, cache = softmax_forward(z, axis=0)
    assert np.all(np.isfinite(softmax_backward(np.ones_like(z), cache)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_of_extreme_logits_is_finite_and_exact(dtype):
    logits = np.array([[1e4, 0]], dtype=dtype)
    loss, cache = cross_entropy_forward(logits, np.array([1]))
    # a Python float for float64, a 0-d array for float32 (a float cannot carry float32)
    assert type(loss) is (float if dtype == np.float64 else np.ndarray)
    assert np.asarray(loss).dtype == dtype and np.ndim(loss) == 0
    assert loss == 1e4
    np.testing.assert_array_equal(cross_entropy_backward(1.0, cache), [[1, -1]])
    assert cross_entropy_forward(logits, np.array([0]))[0] == 0

    mixed = np.array([[1e4, -1e4, 0], [0, 1e4, -1e4]], dtype=dtype)
    loss, cache = cross_entropy_forward(mixed, np.array([1, 2]))
    assert loss == (2e4 + 2e4) / 2
    grad = cross_entropy_backward(1.0, cache)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, [[0.5, -0.5, 0], [0, 0.5, -0.5]])

    # 0 * log p with p underflowing to 0 is 0, not nan
    loss, cache = cross_entropy_forward(mixed, np.array([[1, 0, 0], [0, 1, 0]], dtype=dtype))
    assert loss == 0
    loss, _ = cross_entropy_forward(logits, np.array([[0.5, 0.5]], dtype=dtype))
    assert loss == 5e3
    assert np.all(np.isfinite(cross_entropy_backward(1.0, cache)))


# ---- dtypes ----------------------------------------------------------------------------


def test_float32_is_kept(rng):
    z = rng.standard_normal((3, 4)).astype(np.float32)
    assert softmax(z).dtype == np.float32
    assert log_softmax(z).dtype == np.float32
    assert softmax_jacobian(z).dtype == np.float32
    p, cache = softmax_forward(z)
    assert p.dtype == np.float32
    assert softmax_backward(rng.standard_normal((3, 4)), cache).dtype == np.float32
    for target in (np.array([0, 1, 2]), np.full((3, 4), 0.25)):
        loss, cache = cross_entropy_forward(z, target)
        assert type(loss) is np.ndarray and loss.shape == () and loss.dtype == np.float32
        assert cross_entropy_backward(np.float64(1.0), cache).dtype == np.float32


def test_int_input_gives_float64():
    z = np.array([[1, 2, 3], [0, 0, 1]])
    assert softmax(z).dtype == np.float64
    assert log_softmax(z).dtype == np.float64
    assert softmax_jacobian(z).dtype == np.float64
    p, cache = softmax_forward(z)
    assert softmax_backward(np.ones((2, 3), dtype=int), cache).dtype == np.float64
    loss, cache = cross_entropy_forward(z, [2, 2])
    assert type(loss) is float
    assert cross_entropy_backward(1, cache).dtype == np.float64


def test_nothing_is_modified_in_place(rng):
    z = rng.standard_normal((3, 4))
    dp = rng.standard_normal((3, 4))
    labels = np.array([1, 0, 3])
    probs = rng.dirichlet(np.ones(4), size=3)
    saved = [a.copy() for a in (z, dp, labels, probs)]
    softmax(z)
    log_softmax(z)
    softmax_jacobian(z)
    p, cache = softmax_forward(z)
    p_saved = p.copy()
    softmax_backward(dp, cache)
    np.testing.assert_array_equal(p, p_saved)
    for target in (labels, probs):
        _, cache = cross_entropy_forward(z, target)
        p_saved = cache.p.copy()
        cross_entropy_backward(1.0, cache)
        cross_entropy_backward(2.0, cache)
        np.testing.assert_array_equal(cache.p, p_saved)
    for a, b in zip((z, dp, labels, probs), saved, strict=True):
        np.testing.assert_array_equal(a, b)


# ---- validation messages ---------------------------------------------------------------


@pytest.mark.parametrize("func", [softmax, log_softmax, softmax_jacobian])
def test_softmax_rejects_bad_z(func):
    name = func.__name__
    with pytest.raises(TypeError, match=rf"^{name}: z must be real, got complex"):
        func(np.array([1 + 2j, 0]))
    with pytest.raises(TypeError, match=rf"^{name}: z must be an array of real numbers"):
        func("abc")
    with pytest.raises(TypeError, match=rf"^{name}: z must hold real numbers, got dtype <U"):
        func(np.array(["a", "b"]))
    with pytest.raises(ValueError, match=rf"^{name}: z contains NaN or infinity"):
        func([0.0, np.nan])
    with pytest.raises(ValueError, match=rf"^{name}: z must have at least 1 dimension"):
        func(3.0)
    with pytest.raises(ValueError, match=rf"^{name}: z has no entries along axis 1"):
        func(np.zeros((2, 0)))


@pytest.mark.parametrize("func", [softmax, log_softmax, softmax_forward])
def test_softmax_rejects_bad_axis(func):
    name = func.__name__
    z = np.zeros((2, 3))
    with pytest.raises(TypeError, match=rf"^{name}: axis must be an integer, got float 1.0"):
        func(z, axis=1.0)
    with pytest.raises(TypeError, match=rf"^{name}: axis must be an integer, got bool"):
        func(z, axis=True)
    with pytest.raises(
        ValueError, match=rf"^{name}: axis 2 is out of range for z with 2 dimensions"
    ):
        func(z, axis=2)
    with pytest.raises(ValueError, match=rf"^{name}: axis -3 is out of range"):
        func(z, axis=-3)
    func(z, axis=np.int64(-2))


def test_softmax_backward_rejects_bad_cache_and_dp(rng):
    z = rng.standard_normal((2, 3))
    _, cache = softmax_forward(z)
    with pytest.raises(
        TypeError,
        match=r"^softmax_backward: cache must be the second value returned by softmax_forward",
    ):
        softmax_backward(np.ones((2, 3)), (z, -1))
    _, sigmoid_cache = sigmoid_forward(z)
    with pytest.raises(TypeError, match=r"^softmax_backward: cache must be"):
        softmax_backward(np.ones((2, 3)), sigmoid_cache)
    with pytest.raises(
        ValueError,
        match=r"^softmax_backward: dp must have the shape of the forward output \(2, 3\), "
        r"got \(3, 2\)",
    ):
        softmax_backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match=r"^softmax_backward: dp contains NaN"):
        softmax_backward(np.full((2, 3), np.nan), cache)
    with pytest.raises(TypeError, match=r"^softmax_backward: dp must be real"):
        softmax_backward(np.ones((2, 3), dtype=complex), cache)


def test_cross_entropy_rejects_bad_logits():
    func = "cross_entropy_forward"
    with pytest.raises(ValueError, match=rf"^{func}: logits must have 2 dimensions, got 1"):
        cross_entropy_forward(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match=rf"^{func}: logits must have 2 dimensions, got 3"):
        cross_entropy_forward(np.zeros((2, 3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"^{func}: logits must have at least one row"):
        cross_entropy_forward(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(TypeError, match=rf"^{func}: logits must be real, got complex"):
        cross_entropy_forward(np.zeros((2, 3), dtype=complex), np.array([0, 1]))
    with pytest.raises(TypeError, match=rf"^{func}: logits must be an array of real numbers"):
        cross_entropy_forward("logits", np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"^{func}: logits contains NaN or infinity"):
        cross_entropy_forward(np.array([[0.0, np.inf]]), np.array([0]))


def test_cross_entropy_rejects_bad_labels():
    func = "cross_entropy_forward"
    logits = np.zeros((3, 5))
    with pytest.raises(
        ValueError, match=rf"^{func}: target holds label 7, outside \[0, 5\) for 5 classes"
    ):
        cross_entropy_forward(logits, np.array([0, 7, 1]))
    with pytest.raises(ValueError, match=rf"^{func}: target holds label -1, outside \[0, 5\)"):
        cross_entropy_forward(logits, [0, -1, 1])
    with pytest.raises(ValueError, match=rf"^{func}: target as labels must be whole numbers"):
        cross_entropy_forward(logits, np.array([0, 1.5, 1]))
    with pytest.raises(ValueError, match=rf"^{func}: target as labels must be whole numbers"):
        cross_entropy_forward(logits, np.array([0, np.nan, 1]))
    with pytest.raises(ValueError, match=rf"^{func}: target must have shape \(3,\) .*got \(4,\)"):
        cross_entropy_forward(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(TypeError, match=rf"^{func}: target must hold integer class labels"):
        cross_entropy_forward(logits, np.array([True, False, True]))
    with pytest.raises(TypeError, match=rf"^{func}: target must hold integer class labels"):
        cross_entropy_forward(logits, np.array([1, 0, 2], dtype=complex))
    with pytest.raises(TypeError, match=rf"^{func}: target must be an array of real numbers"):
        cross_entropy_forward(logits, "abc")


def test_cross_entropy_rejects_bad_probability_rows():
    func = "cross_entropy_forward"
    logits = np.zeros((2, 3))
    with pytest.raises(
        ValueError,
        match=rf"^{func}: target as probability rows must sum to 1 \(within 1e-06\), "
        r"got row 1 summing to 0\.9",
    ):
        cross_entropy_forward(logits, np.array([[1, 0, 0], [0.3, 0.3, 0.3]]))
    with pytest.raises(
        ValueError,
        match=rf"^{func}: target as probability rows must hold values in \[0, 1\], "
        r"got -0\.5 at row 0, column 1",
    ):
        cross_entropy_forward(logits, np.array([[1, -0.5, 0.5], [0, 0, 1]]))
    with pytest.raises(ValueError, match=rf"^{func}: target .* values in \[0, 1\], got 2"):
        cross_entropy_forward(logits, np.array([[2, -0.5, -0.5], [0, 0, 1]]))
    with pytest.raises(
        ValueError, match=rf"^{func}: target must have shape \(2, 3\) .*got \(2, 4\)"
    ):
        cross_entropy_forward(logits, np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match=rf"^{func}: target must be labels of shape \(2,\) or"):
        cross_entropy_forward(logits, np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match=rf"^{func}: target must be labels of shape"):
        cross_entropy_forward(logits, 1)
    with pytest.raises(ValueError, match=rf"^{func}: target contains NaN"):
        cross_entropy_forward(logits, np.array([[np.nan, 0, 1], [0, 0, 1]]))
    with pytest.raises(TypeError, match=rf"^{func}: target must be real, got complex"):
        cross_entropy_forward(logits, np.eye(3, dtype=complex)[:2])
    # within the tolerance is fine
    cross_entropy_forward(logits, np.array([[1, 0, 0], [0.5, 0.5 + 5e-7, 0]]))


def test_cross_entropy_backward_rejects_bad_cache_and_dloss():
    _, cache = cross_entropy_forward(np.zeros((2, 3)), np.array([0, 1]))
    _, softmax_cache = softmax_forward(np.zeros((2, 3)))
    with pytest.raises(
        TypeError,
        match=r"^cross_entropy_backward: cache must be the second value returned by "
        r"cross_entropy_forward",
    ):
        cross_entropy_backward(1.0, softmax_cache)
    with pytest.raises(
        ValueError,
        match=r"^cross_entropy_backward: dloss must have the shape of the forward output "
        r"\(\), got \(2,\)",
    ):
        cross_entropy_backward(np.ones(2), cache)
    with pytest.raises(TypeError, match=r"^cross_entropy_backward: dloss must be an array"):
        cross_entropy_backward("1", cache)


# ---- PyTorch as an independent oracle --------------------------------------------------


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    z = rng.standard_normal((4, 5))
    dp = rng.standard_normal((4, 5))
    zt = torch.tensor(z, requires_grad=True)
    pt = torch.softmax(zt, dim=0)
    pt.backward(torch.tensor(dp))
    p, cache = softmax_forward(z, axis=0)
    np.testing.assert_allclose(p, pt.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(
        softmax_backward(dp, cache), zt.grad.numpy(), rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        log_softmax(z), torch.log_softmax(torch.tensor(z), dim=-1).numpy(), rtol=1e-13
    )
    for target in (np.array([0, 4, 2, 2]), rng.dirichlet(np.ones(5), size=4)):
        zt = torch.tensor(z, requires_grad=True)
        lt = torch.nn.functional.cross_entropy(zt, torch.tensor(target))
        lt.backward(torch.tensor(1.5, dtype=torch.float64))
        loss, cache = cross_entropy_forward(z, target)
        assert loss == pytest.approx(lt.item(), rel=1e-13)
        np.testing.assert_allclose(
            cross_entropy_backward(1.5, cache), zt.grad.numpy(), rtol=1e-12, atol=1e-16
        )


@pytest.mark.parametrize("shape, axis", [((0, 3), -1), ((2, 0, 3), 2), ((3, 0), 0)])
def test_empty_non_class_axes_give_empty_results(shape, axis):
    z = np.zeros(shape)
    assert softmax(z, axis).shape == shape and log_softmax(z, axis).shape == shape
    p, cache = softmax_forward(z, axis)
    assert p.shape == shape and softmax_backward(np.zeros(shape), cache).shape == shape
    if axis == -1:
        assert softmax_jacobian(z).shape == (*shape, shape[-1])


def test_cross_entropy_rejects_zero_classes():
    with pytest.raises(
        ValueError,
        match=r"^cross_entropy_forward: logits must have at least one row and one class, "
        r"got shape \(2, 0\)",
    ):
        cross_entropy_forward(np.zeros((2, 0)), np.array([0, 0]))
