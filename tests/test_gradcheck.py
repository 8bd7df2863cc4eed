"""Tests of the finite-difference checker itself: it must pass right rules and fail wrong ones."""

import numpy as np
import pytest

import mathgrad as mg
from mathgrad import (
    directional_gradcheck,
    gradcheck,
    linear_backward,
    linear_forward,
    numerical_gradient,
    relative_error,
)


def square_forward(x):
    return x * x, x


def square_backward(dout, x):
    return 2 * x * dout


def wrong_square_backward(dout, x):
    return 2.001 * x * dout


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.standard_normal((3, 4))
    g = numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8, atol=1e-9)
    assert g.shape == x.shape and g.dtype == np.float64


def test_numerical_gradient_leaves_x_alone_and_accepts_lists():
    x = np.array([1.0, -2.0, 3.0])
    saved = x.copy()
    g = numerical_gradient(lambda v: float(v @ v), x)
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-9)
    np.testing.assert_allclose(numerical_gradient(lambda v: float(v.sum()), [[1, 2]]), [[1, 1]])


def test_numerical_gradient_of_a_scalar_input():
    assert numerical_gradient(lambda v: float(v) ** 3, 2.0) == pytest.approx(12.0, rel=1e-8)


def test_numerical_gradient_rejects_bad_arguments():
    with pytest.raises(TypeError, match="numerical_gradient: f must be callable"):
        numerical_gradient(3, np.ones(2))
    with pytest.raises(ValueError, match="numerical_gradient: eps must be a positive"):
        numerical_gradient(np.sum, np.ones(2), eps=0)
    with pytest.raises(TypeError, match="numerical_gradient: eps must be a positive real"):
        numerical_gradient(np.sum, np.ones(2), eps="small")
    with pytest.raises(ValueError, match="numerical_gradient: f must return a scalar"):
        numerical_gradient(lambda v: v, np.ones(2))
    with pytest.raises(TypeError, match="numerical_gradient: x must be real"):
        numerical_gradient(np.sum, np.ones(2) * 1j)


def test_relative_error_definition():
    a = np.array([1.0, 2.0, -3.0])
    b = np.array([1.0, 2.5, -3.0])
    assert relative_error(a, b) == pytest.approx(0.5 / 6.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, a) == 0.0
    assert relative_error([], []) == 0.0
    with pytest.raises(
        ValueError,
        match=r"relative_error: a and b must have the same shape, "
        r"got \(3,\) and \(2,\)",
    ):
        relative_error(a, b[:2])


def test_gradcheck_passes_a_right_rule_and_fails_a_wrong_one(rng):
    x = rng.standard_normal((4, 3))
    good = gradcheck(square_forward, square_backward, (x,))
    assert good.passed and bool(good)
    assert good.errors[0] < 1e-9
    bad = gradcheck(square_forward, wrong_square_backward, (x,))
    assert not bad.passed
    assert bad.errors[0] > 1e-4
    assert "FAIL" in str(bad) and "square_forward" in str(bad)


def test_gradcheck_report_names_inputs_in_order(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    report = gradcheck(linear_forward, linear_backward, (x, w, b))
    assert report.names == ["x", "w", "b"]
    assert report.passed and len(report.errors) == 3
    text = str(report)
    for name in ("x", "w", "b", "passed"):
        assert name in text


def test_gradcheck_catches_a_transposed_weight_gradient(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)

    def transposed(dy, cache):
        dx, dw, db = linear_backward(dy, cache)
        return dx, dw.T, db

    assert not gradcheck(linear_forward, transposed, (x, w, b)).passed


def test_gradcheck_checks_the_number_of_gradients(rng):
    x = rng.standard_normal(3)
    with pytest.raises(ValueError, match="gradcheck: backward returned 2 gradient"):
        gradcheck(square_forward, lambda d, c: (d, d), (x,))


def test_gradcheck_argument_errors(rng):
    with pytest.raises(TypeError, match="gradcheck: forward must be callable"):
        gradcheck(None, square_backward, (np.ones(2),))
    with pytest.raises(ValueError, match="gradcheck: inputs must hold at least one array"):
        gradcheck(square_forward, square_backward, ())
    with pytest.raises(ValueError, match="gradcheck: tol must be a non-negative number"):
        gradcheck(square_forward, square_backward, (np.ones(2),), tol=-1)


def test_gradcheck_is_reproducible_and_seeded(rng):
    x = rng.standard_normal(5)
    a = gradcheck(square_forward, square_backward, (x,), seed=3)
    b = gradcheck(square_forward, square_backward, (x,), seed=3)
    assert a.errors == b.errors


def test_directional_gradcheck_passes_and_fails(rng):
    x = rng.standard_normal((50, 40))
    assert directional_gradcheck(square_forward, square_backward, (x,)).passed
    report = directional_gradcheck(square_forward, wrong_square_backward, (x,))
    assert not report.passed
    assert "directional" in str(report)
    with pytest.raises(ValueError, match="directional_gradcheck: n_directions must be >= 1"):
        directional_gradcheck(square_forward, square_backward, (x,), n_directions=0)


def test_directional_gradcheck_is_cheap(rng):
    calls = []

    def counting_forward(x):
        calls.append(1)
        return square_forward(x)

    x = rng.standard_normal((100, 100))
    directional_gradcheck(counting_forward, square_backward, (x,), n_directions=3)
    assert len(calls) == 1 + 2 * 3


def test_gradcheck_names_variadic_inputs(rng):
    def forward(x, *params):
        return x * params[0] + params[1], (x, params[0])

    def backward(dout, cache):
        x, a = cache
        return dout * a, dout * x, dout

    x, a, b = rng.standard_normal((3, 2))
    report = gradcheck(forward, backward, (x, a, b))
    assert report.names == ["x", "params[0]", "params[1]"]
    assert report.passed


def test_numerical_gradient_rejects_a_step_lost_to_rounding():
    x = np.array([1.0, 2.0], dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"numerical_gradient: eps=1e-09 is below the spacing "
        r"of float32 numbers near x.flat\[0\] = 1",
    ):
        numerical_gradient(lambda v: float(v.sum()), x, eps=1e-9)
    np.testing.assert_array_equal(x, [1.0, 2.0])


@pytest.mark.parametrize("check", [gradcheck, directional_gradcheck])
@pytest.mark.parametrize(
    ("inputs", "got"),
    [
        (np.ones((2, 3)), r"an array of shape \(2, 3\)"),
        (np.float64(2.0), "float64"),
        (2.0, "float"),
        (None, "NoneType"),
    ],
)
def test_inputs_that_are_not_a_tuple_raise_type_error(check, inputs, got):
    # a bare array was taken as one input: a (2, 3) array is not the tuple of its rows
    name = check.__name__
    with pytest.raises(
        TypeError,
        match=rf"^{name}: inputs must be a tuple of the arrays to differentiate, got {got}; "
        r"for a single input x pass \(x,\)$",
    ):
        check(square_forward, square_backward, inputs)


@pytest.mark.parametrize("check", [mg.gradcheck, mg.directional_gradcheck])
def test_options_dict_reaches_forward_options_named_like_gradchecks_own(check, rng):
    x = rng.standard_normal((4, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    seen = {}

    def forward(x, gamma, beta, eps=1e-5):
        seen["eps"] = eps
        return mg.batchnorm_forward(x, gamma, beta, eps=eps)

    report = check(forward, mg.batchnorm_backward, (x, gamma, beta), options={"eps": 0.1})
    assert report.passed, str(report)
    assert seen["eps"] == 0.1  # the op's eps, not the finite-difference step

    y = rng.standard_normal((50, 40))
    report = check(mg.dropout_forward, mg.dropout_backward, (y,), options={"p": 0.3, "seed": 7})
    assert report.passed, str(report)  # one mask for every call: the seed reached dropout


@pytest.mark.parametrize("check", [mg.gradcheck, mg.directional_gradcheck])
def test_options_dict_errors(check, rng):
    x = (rng.standard_normal((2, 3)),)
    with pytest.raises(TypeError, match=check.__name__ + ": options must be a dict"):
        check(mg.softmax_forward, mg.softmax_backward, x, options=[("axis", 0)])
    with pytest.raises(ValueError, match=check.__name__ + ": axis given both in options"):
        check(mg.softmax_forward, mg.softmax_backward, x, options={"axis": 0}, axis=0)
