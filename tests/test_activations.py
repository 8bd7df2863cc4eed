"""Tests of mathgrad.activations: the tanh and ReLU op pairs."""

import numpy as np
import pytest

from mathgrad import gradcheck, relu_backward, relu_forward, tanh_backward, tanh_forward

OPS = {
    "tanh": (tanh_forward, tanh_backward, np.tanh),
    "relu": (relu_forward, relu_backward, lambda z: np.maximum(z, 0.0)),
}
SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 5)]


def away_from_zero(rng, shape, margin=0.1):
    """Values with |z| in [margin, 3): no input sits near ReLU's kink."""
    return rng.uniform(margin, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck(name, shape, rng):
    forward, backward, _ = OPS[name]
    z = away_from_zero(rng, shape)
    report = gradcheck(forward, backward, (z,), tol=1e-7)
    assert report.passed, str(report)


@pytest.mark.parametrize("name", sorted(OPS))
def test_forward_values(name, rng):
    forward, _, reference = OPS[name]
    z = rng.normal(size=(4, 5)) * 3
    out, _ = forward(z)
    np.testing.assert_allclose(out, reference(z), rtol=1e-15, atol=0)


def test_tanh_backward_formula(rng):
    z = rng.normal(size=(3, 4))
    dy = rng.normal(size=(3, 4))
    _, cache = tanh_forward(z)
    np.testing.assert_allclose(
        tanh_backward(dy, cache), dy / np.cosh(z) ** 2, rtol=1e-12, atol=1e-15
    )


def test_relu_backward_formula(rng):
    z = away_from_zero(rng, (4, 6))
    dy = rng.normal(size=(4, 6))
    _, cache = relu_forward(z)
    np.testing.assert_array_equal(relu_backward(dy, cache), dy * (z > 0))


def test_relu_derivative_at_zero_is_zero():
    z = np.array([-1.0, -0.0, 0.0, 1e-300, 2.0])
    y, cache = relu_forward(z)
    dz = relu_backward(np.ones(5), cache)
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.0, 1e-300, 2.0])
    np.testing.assert_array_equal(dz, [0.0, 0.0, 0.0, 1.0, 1.0])


def test_relu_derivative_at_zero_in_integer_input():
    _, cache = relu_forward([[0, 3], [-2, 0]])
    np.testing.assert_array_equal(relu_backward(np.ones((2, 2)), cache), [[0, 1], [0, 0]])


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_kept(name, rng):
    forward, backward, _ = OPS[name]
    z = rng.normal(size=(3, 4)).astype(np.float32)
    out, cache = forward(z)
    assert out.dtype == np.float32
    # a float64 upstream gradient still gives the gradient in z's dtype
    assert backward(rng.normal(size=(3, 4)), cache).dtype == np.float32
    assert backward(np.ones((3, 4), np.float32), cache).dtype == np.float32


@pytest.mark.parametrize("name", sorted(OPS))
def test_int_and_bool_become_float64(name):
    forward, backward, reference = OPS[name]
    for z in (np.array([[-2, 0, 3]]), np.array([[True, False, True]])):
        out, cache = forward(z)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, reference(z.astype(np.float64)))
        assert backward(np.ones((1, 3), dtype=int), cache).dtype == np.float64


@pytest.mark.parametrize("name", sorted(OPS))
def test_lists_work(name):
    forward, backward, reference = OPS[name]
    out, cache = forward([[-1.5, 0.5], [2.0, -0.25]])
    np.testing.assert_allclose(out, reference(np.array([[-1.5, 0.5], [2.0, -0.25]])))
    dz = backward([[1.0, 1.0], [1.0, 1.0]], cache)
    assert isinstance(dz, np.ndarray) and dz.shape == (2, 2)


@pytest.mark.parametrize("name", sorted(OPS))
def test_arguments_not_modified(name, rng):
    forward, backward, _ = OPS[name]
    z = rng.normal(size=(3, 4))
    dy = rng.normal(size=(3, 4))
    z0, dy0 = z.copy(), dy.copy()
    out, cache = forward(z)
    out0 = out.copy()
    backward(dy, cache)
    backward(dy, cache)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(dy, dy0)
    np.testing.assert_array_equal(out, out0)


@pytest.mark.parametrize("name", sorted(OPS))
def test_forward_rejects_bad_input(name):
    forward, _, _ = OPS[name]
    fn = f"{name}_forward"
    with pytest.raises(TypeError, match=rf"^{fn}: z must be an array of real numbers, got str"):
        forward("abc")
    with pytest.raises(TypeError, match=rf"^{fn}: z must be real, got complex dtype complex128"):
        forward(np.array([1j, 2.0]))
    with pytest.raises(TypeError, match=rf"^{fn}: z must hold real numbers, got dtype object"):
        forward(np.array([1.0, None], dtype=object))
    with pytest.raises(ValueError, match=rf"^{fn}: z contains NaN or infinity"):
        forward([1.0, np.nan])


@pytest.mark.parametrize("name", sorted(OPS))
def test_backward_rejects_bad_input(name):
    forward, backward, _ = OPS[name]
    fn = f"{name}_backward"
    _, cache = forward(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=rf"^{fn}: dy must have the shape of the forward output \(2, 3\), got \(3, 2\)",
    ):
        backward(np.ones((3, 2)), cache)
    with pytest.raises(
        TypeError,
        match=rf"^{fn}: cache must be the second value returned by {name}_forward, got tuple",
    ):
        backward(np.ones((2, 3)), (np.ones((2, 3)),))
    other = "relu" if name == "tanh" else "tanh"
    _, other_cache = OPS[other][0](np.ones((2, 3)))
    with pytest.raises(TypeError, match=rf"^{fn}: cache must be the second value"):
        backward(np.ones((2, 3)), other_cache)
    with pytest.raises(ValueError, match=rf"^{fn}: dy contains NaN or infinity"):
        backward(np.full((2, 3), np.inf), cache)


def test_gradcheck_catches_a_scaled_gradient(rng):
    z = rng.normal(size=(3, 4))

    def scaled_backward(dy, cache):
        return 1.001 * tanh_backward(dy, cache)

    assert not gradcheck(tanh_forward, scaled_backward, (z,)).passed


def test_gradcheck_catches_tanh_instead_of_its_derivative(rng):
    z = rng.normal(size=(3, 4))

    def wrong_backward(dy, cache):
        return dy * cache.t

    assert not gradcheck(tanh_forward, wrong_backward, (z,)).passed


@pytest.mark.parametrize("name", sorted(OPS))
def test_empty_input_gives_empty_results(name):
    forward, backward, _ = OPS[name]
    y, cache = forward(np.zeros((0, 3)))
    assert y.shape == (0, 3)
    assert backward(np.zeros((0, 3)), cache).shape == (0, 3)
