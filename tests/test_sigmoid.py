"""Tests of mathgrad/sigmoid.py: sigmoid, binary cross-entropy, the link to softmax."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mathgrad import (
    binary_cross_entropy_backward,
    binary_cross_entropy_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    gradcheck,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    sigmoid_to_softmax_logits,
    softmax,
    softmax_forward,
    softmax_to_sigmoid_logit,
)

HYPOTHESIS = settings(max_examples=50, deadline=None)

shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def reference_sigmoid(z):
    """σ(z) entry by entry with math.exp, in the form that is exact on each side."""
    out = []
    for x in np.ravel(z).tolist():
        if x >= 0:
            out.append(1 / (1 + math.exp(-x)))
        else:
            out.append(math.exp(x) / (1 + math.exp(x)))
    return np.array(out).reshape(np.shape(z))


# ---- gradient checks (float64, tol 1e-7) ------------------------------------------------


@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 3, 2)])
def test_sigmoid_gradcheck(rng, shape):
    z = 3 * rng.standard_normal(shape)
    report = gradcheck(sigmoid_forward, sigmoid_backward, (z,))
    assert report.passed, str(report)


@pytest.mark.parametrize("shape", [(), (1,), (4,), (3, 4), (2, 2, 3)])
@pytest.mark.parametrize("kind", ["probabilities", "labels"])
def test_binary_cross_entropy_gradcheck(rng, shape, kind):
    z = 3 * rng.standard_normal(shape)
    y = rng.uniform(size=shape) if kind == "probabilities" else rng.integers(0, 2, size=shape)
    report = gradcheck(binary_cross_entropy_forward, binary_cross_entropy_backward, (z,), target=y)
    assert report.passed, str(report)


def test_gradcheck_catches_a_slightly_wrong_backward(rng):
    z = rng.standard_normal((3, 4))

    def wrong_sigmoid_backward(ds, cache):
        return 1.001 * sigmoid_backward(ds, cache)

    def wrong_bce_backward(dloss, cache):
        return 1.001 * binary_cross_entropy_backward(dloss, cache)

    report = gradcheck(sigmoid_forward, wrong_sigmoid_backward, (z,))
    assert not report.passed
    assert "FAIL" in str(report)
    report = gradcheck(
        binary_cross_entropy_forward, wrong_bce_backward, (z,), target=rng.uniform(size=(3, 4))
    )
    assert not report.passed


# ---- values ----------------------------------------------------------------------------


def test_sigmoid_is_relatively_exact_in_both_tails():
    z = np.array([-700.0, -300, -100, -50, -20, -1, 0, 1, 20, 50, 700])
    s = sigmoid(z)
    np.testing.assert_allclose(s, reference_sigmoid(z), rtol=4e-16, atol=0)
    assert s[6] == 0.5
    np.testing.assert_array_equal(sigmoid([1e4, -1e4]), [1.0, 0.0])
    z32 = np.array([-80, -30, -5, 0, 5, 30], dtype=np.float32)
    s32 = sigmoid(z32)
    assert s32.dtype == np.float32
    np.testing.assert_allclose(s32, reference_sigmoid(z32).astype(np.float32), rtol=2e-7)
    np.testing.assert_array_equal(sigmoid(np.array([1e4, -1e4], np.float32)), [1, 0])


@HYPOTHESIS
@given(z=arrays(np.float64, shapes, elements=st.floats(-700, 700)))
def test_sigmoid_matches_reference_and_symmetry(z):
    s = sigmoid(z)
    assert s.shape == z.shape
    np.testing.assert_allclose(s, reference_sigmoid(z), rtol=1e-15, atol=0)
    # 1 - s rounds near 1, where one ulp is eps = 2.2e-16
    np.testing.assert_allclose(sigmoid(-z), 1 - s, rtol=1e-15, atol=np.finfo(np.float64).eps)


def test_sigmoid_backward_is_s_times_one_minus_s(rng):
    z = rng.standard_normal((3, 4))
    ds = rng.standard_normal((3, 4))
    s, cache = sigmoid_forward(z)
    np.testing.assert_array_equal(s, sigmoid(z))
    dz = sigmoid_backward(ds, cache)
    e = np.exp(-z)
    np.testing.assert_allclose(dz, ds * e / (1 + e) ** 2, rtol=1e-13)


def test_binary_cross_entropy_matches_the_definition(rng):
    z = 3 * rng.standard_normal((4, 3))
    y = rng.uniform(size=(4, 3))
    s = sigmoid(z)
    loss, cache = binary_cross_entropy_forward(z, y)
    expected = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    assert loss == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(
        binary_cross_entropy_backward(-0.5, cache), -0.5 * (s - y) / 12, rtol=1e-13
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_of_extreme_logits_is_finite_and_exact(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    loss, cache = binary_cross_entropy_forward(z, np.array([0, 1, 1, 0]))
    # a Python float for float64, a 0-d array for float32 (a float cannot carry float32)
    assert type(loss) is (float if dtype == np.float64 else np.ndarray)
    assert np.asarray(loss).dtype == dtype and np.ndim(loss) == 0
    assert loss == (1e4 + 1e4 + 0 + 0) / 4
    grad = binary_cross_entropy_backward(1.0, cache)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, np.array([1, -1, 0, 0]) / 4)
    loss, _ = binary_cross_entropy_forward(z[:2], np.array([0.5, 0.5]))
    assert loss == 5e3
    loss, _ = binary_cross_entropy_forward(np.array([1e4, -1e4], dtype), np.array([1, 0]))
    assert loss == 0


# ---- the link between sigmoid and softmax ----------------------------------------------


@HYPOTHESIS
@given(z=arrays(np.float64, shapes, elements=st.floats(-700, 700)))
def test_sigmoid_is_a_two_class_softmax(z):
    v = sigmoid_to_softmax_logits(z)
    assert v.shape == z.shape + (2,)
    np.testing.assert_array_equal(v[..., 0], z)
    np.testing.assert_array_equal(v[..., 1], 0)
    np.testing.assert_allclose(softmax(v)[..., 0], sigmoid(z), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(softmax_to_sigmoid_logit(v), z)


@HYPOTHESIS
@given(
    v=arrays(
        np.float64,
        array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4).map(lambda s: s + (2,)),
        elements=st.floats(-300, 300),
    ),
    c=st.floats(-300, 300),
)
def test_softmax_pair_maps_to_one_sigmoid_logit(v, c):
    z = softmax_to_sigmoid_logit(v)
    assert isinstance(z, np.ndarray)
    assert z.shape == v.shape[:-1]
    np.testing.assert_allclose(sigmoid(z), softmax(v)[..., 0], rtol=1e-12, atol=0)
    # many-to-one: v and v + c give the same logit (up to the rounding of v + c)
    np.testing.assert_allclose(softmax_to_sigmoid_logit(v + c), z, rtol=0, atol=1e-12)


def test_binary_cross_entropy_is_two_class_cross_entropy(rng):
    z = 3 * rng.standard_normal(6)
    y = rng.uniform(size=6)
    loss, cache = binary_cross_entropy_forward(z, y)
    v = sigmoid_to_softmax_logits(z)
    ce_loss, ce_cache = cross_entropy_forward(v, np.stack([y, 1 - y], axis=-1))
    assert loss == pytest.approx(ce_loss, rel=1e-13)
    dz = binary_cross_entropy_backward(1.0, cache)
    dv = cross_entropy_backward(1.0, ce_cache)
    np.testing.assert_allclose(dz, dv[:, 0], rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(dv[:, 1], -dv[:, 0], rtol=1e-12, atol=1e-16)


# ---- dtypes ----------------------------------------------------------------------------


def test_float32_is_kept(rng):
    z = rng.standard_normal((3, 4)).astype(np.float32)
    assert sigmoid(z).dtype == np.float32
    s, cache = sigmoid_forward(z)
    assert s.dtype == np.float32
    assert sigmoid_backward(rng.standard_normal((3, 4)), cache).dtype == np.float32
    loss, cache = binary_cross_entropy_forward(z, rng.uniform(size=(3, 4)))
    assert type(loss) is np.ndarray and loss.shape == () and loss.dtype == np.float32
    assert binary_cross_entropy_backward(np.float64(1), cache).dtype == np.float32
    assert sigmoid_to_softmax_logits(z).dtype == np.float32
    assert softmax_to_sigmoid_logit(z[:, :2]).dtype == np.float32


def test_int_input_gives_float64():
    z = np.array([[-2, 0, 3]])
    assert sigmoid(z).dtype == np.float64
    assert sigmoid(True).dtype == np.float64
    s, cache = sigmoid_forward(z)
    assert sigmoid_backward(np.ones((1, 3), dtype=int), cache).dtype == np.float64
    loss, cache = binary_cross_entropy_forward(z, [[0, 1, 1]])
    assert type(loss) is float
    assert binary_cross_entropy_backward(1, cache).dtype == np.float64
    assert sigmoid_to_softmax_logits(z).dtype == np.float64
    assert softmax_to_sigmoid_logit([[3, 1]]).dtype == np.float64


def test_nothing_is_modified_in_place(rng):
    z = rng.standard_normal((3, 4))
    ds = rng.standard_normal((3, 4))
    y = rng.uniform(size=(3, 4))
    v = rng.standard_normal((3, 2))
    saved = [a.copy() for a in (z, ds, y, v)]
    sigmoid(z)
    s, cache = sigmoid_forward(z)
    sigmoid_backward(ds, cache)
    np.testing.assert_array_equal(s, sigmoid(z))
    _, cache = binary_cross_entropy_forward(z, y)
    s_saved = cache.s.copy()
    binary_cross_entropy_backward(1.0, cache)
    binary_cross_entropy_backward(1.0, cache)
    np.testing.assert_array_equal(cache.s, s_saved)
    out = sigmoid_to_softmax_logits(z)
    out[...] = 0
    softmax_to_sigmoid_logit(v)
    for a, b in zip((z, ds, y, v), saved, strict=True):
        np.testing.assert_array_equal(a, b)


# ---- validation messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    "func",
    [sigmoid, sigmoid_forward, sigmoid_to_softmax_logits],
)
def test_rejects_bad_z(func):
    name = func.__name__
    with pytest.raises(TypeError, match=rf"^{name}: z must be real, got complex"):
        func(np.array([1j]))
    with pytest.raises(TypeError, match=rf"^{name}: z must be an array of real numbers"):
        func("1.0")
    with pytest.raises(TypeError, match=rf"^{name}: z must hold real numbers, got dtype object"):
        func(np.array([1, None], dtype=object))
    with pytest.raises(ValueError, match=rf"^{name}: z contains NaN or infinity"):
        func([0.0, np.nan])


def test_sigmoid_backward_rejects_bad_cache_and_ds(rng):
    z = rng.standard_normal((2, 3))
    _, cache = sigmoid_forward(z)
    _, softmax_cache = softmax_forward(z)
    with pytest.raises(
        TypeError,
        match=r"^sigmoid_backward: cache must be the second value returned by sigmoid_forward",
    ):
        sigmoid_backward(np.ones((2, 3)), softmax_cache)
    with pytest.raises(TypeError, match=r"^sigmoid_backward: cache must be"):
        sigmoid_backward(np.ones((2, 3)), (sigmoid(z),))
    with pytest.raises(
        ValueError,
        match=r"^sigmoid_backward: ds must have the shape of the forward output \(2, 3\), "
        r"got \(3,\)",
    ):
        sigmoid_backward(np.ones(3), cache)
    with pytest.raises(ValueError, match=r"^sigmoid_backward: ds contains NaN"):
        sigmoid_backward(np.full((2, 3), np.nan), cache)


def test_binary_cross_entropy_rejects_bad_input():
    func = "binary_cross_entropy_forward"
    z = np.zeros((2, 3))
    with pytest.raises(
        ValueError,
        match=rf"^{func}: target must have shape \(2, 3\) \(the shape of logits\), got \(3,\)",
    ):
        binary_cross_entropy_forward(z, np.zeros(3))
    with pytest.raises(
        ValueError,
        match=rf"^{func}: target must hold probabilities in \[0, 1\], got 1\.5 at index \(1, 2\)",
    ):
        binary_cross_entropy_forward(z, np.array([[0, 1, 0.5], [0, 1, 1.5]]))
    with pytest.raises(ValueError, match=rf"^{func}: target .* got -0\.1 at index \(0, 0\)"):
        binary_cross_entropy_forward(z, np.array([[-0.1, 1, 0.5], [0, 1, 1]]))
    with pytest.raises(ValueError, match=rf"^{func}: target contains NaN"):
        binary_cross_entropy_forward(z, np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=rf"^{func}: logits must have at least one entry"):
        binary_cross_entropy_forward(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(TypeError, match=rf"^{func}: logits must be real, got complex"):
        binary_cross_entropy_forward(z + 0j, np.zeros((2, 3)))
    with pytest.raises(TypeError, match=rf"^{func}: target must be an array of real numbers"):
        binary_cross_entropy_forward(z, "zeros")
    with pytest.raises(ValueError, match=rf"^{func}: logits contains NaN or infinity"):
        binary_cross_entropy_forward(np.array([np.inf]), np.array([1.0]))


def test_binary_cross_entropy_backward_rejects_bad_cache_and_dloss():
    func = "binary_cross_entropy_backward"
    _, cache = binary_cross_entropy_forward(np.zeros(3), np.ones(3))
    _, ce_cache = cross_entropy_forward(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(
        TypeError,
        match=rf"^{func}: cache must be the second value returned by "
        r"binary_cross_entropy_forward",
    ):
        binary_cross_entropy_backward(1.0, ce_cache)
    with pytest.raises(
        ValueError, match=rf"^{func}: dloss must have the shape of the forward output \(\)"
    ):
        binary_cross_entropy_backward(np.ones(3), cache)
    with pytest.raises(TypeError, match=rf"^{func}: dloss must be real, got complex"):
        binary_cross_entropy_backward(1j, cache)


def test_softmax_to_sigmoid_logit_rejects_bad_v():
    func = "softmax_to_sigmoid_logit"
    with pytest.raises(
        ValueError, match=rf"^{func}: v must have a last axis of length 2 .*got shape \(4, 3\)"
    ):
        softmax_to_sigmoid_logit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=rf"^{func}: v must have a last axis of length 2"):
        softmax_to_sigmoid_logit(1.0)
    with pytest.raises(TypeError, match=rf"^{func}: v must be real, got complex"):
        softmax_to_sigmoid_logit(np.zeros(2, dtype=complex))
    with pytest.raises(TypeError, match=rf"^{func}: v must be an array of real numbers"):
        softmax_to_sigmoid_logit("ab")
    with pytest.raises(ValueError, match=rf"^{func}: v contains NaN"):
        softmax_to_sigmoid_logit([np.nan, 0])


# ---- PyTorch as an independent oracle --------------------------------------------------


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    z = 3 * rng.standard_normal((4, 3))
    ds = rng.standard_normal((4, 3))
    y = rng.uniform(size=(4, 3))
    zt = torch.tensor(z, requires_grad=True)
    st_ = torch.sigmoid(zt)
    st_.backward(torch.tensor(ds))
    s, cache = sigmoid_forward(z)
    np.testing.assert_allclose(s, st_.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(sigmoid_backward(ds, cache), zt.grad.numpy(), rtol=1e-12)
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(y))
    lt.backward(torch.tensor(0.3, dtype=torch.float64))
    loss, cache = binary_cross_entropy_forward(z, y)
    assert loss == pytest.approx(lt.item(), rel=1e-13)
    np.testing.assert_allclose(
        binary_cross_entropy_backward(0.3, cache), zt.grad.numpy(), rtol=1e-12, atol=1e-17
    )


def test_empty_input_gives_empty_results():
    assert sigmoid(np.zeros((0, 3))).shape == (0, 3)
    s, cache = sigmoid_forward(np.zeros((0, 3)))
    assert s.shape == (0, 3) and sigmoid_backward(np.zeros((0, 3)), cache).shape == (0, 3)
