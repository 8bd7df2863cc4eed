"""Tests of mathgrad.dropout: the mask, its scale, the seed, the identity cases, torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrad import dropout_backward, dropout_forward, dropout_mask, gradcheck


def away_from_zero(rng, shape):
    x = rng.standard_normal(shape)
    return x + np.sign(x) * 0.5


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mask_statistics_and_scale(rng, p):
    n = 200_000
    x = away_from_zero(rng, n)
    out, _ = dropout_forward(x, p, seed=11)
    kept = out != 0
    # the kept fraction is 1 − p within 5 binomial standard deviations
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_inverted_scaling_keeps_the_mean(p):
    n = 400_000
    out, _ = dropout_forward(np.full(n, 3.0), p, seed=5)
    # each entry is 3/(1−p) with probability 1−p: mean 3, standard deviation 3·sqrt(p/(1−p))
    assert abs(out.mean() - 3.0) < 5 * 3.0 * np.sqrt(p / (1 - p)) / np.sqrt(n)


def test_backward_is_the_same_mask_exactly(rng):
    x = away_from_zero(rng, (50, 40))
    out, cache = dropout_forward(x, 0.3, seed=2)
    dout = rng.standard_normal(x.shape)
    dx = dropout_backward(dout, cache)
    keep = out != 0
    np.testing.assert_array_equal(dx, np.where(keep, dout * (1 / 0.7), 0.0))
    np.testing.assert_array_equal(dx == 0, ~keep)


def test_seed_fixes_the_mask(rng):
    x = away_from_zero(rng, (30, 30))
    a, _ = dropout_forward(x, 0.5, seed=3)
    b, _ = dropout_forward(x, 0.5, seed=3)
    c, _ = dropout_forward(x, 0.5, seed=4)
    d, _ = dropout_forward(x, 0.5)
    e, _ = dropout_forward(x, 0.5)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert (d != e).any()  # seed=None: a fresh mask each call
    np.testing.assert_array_equal(a != 0, dropout_mask(x.shape, 0.5, seed=3))
    # the same mask for float32 input
    a32, _ = dropout_forward(x.astype(np.float32), 0.5, seed=3)
    np.testing.assert_array_equal(a32 != 0, a != 0)


def test_gradcheck_needs_a_fixed_mask(rng):
    x = away_from_zero(rng, (4, 5))

    def fixed(x, p):
        return dropout_forward(x, p, seed=9)

    assert gradcheck(fixed, dropout_backward, (x,), p=0.4).passed
    # a fresh mask at every call of the forward: the check fails
    fresh = gradcheck(dropout_forward, dropout_backward, (x,), p=0.4)
    assert not fresh.passed


@pytest.mark.parametrize("kwargs", [{"p": 0.0}, {"p": 0.7, "training": False}])
def test_identity_cases(rng, kwargs):
    x = rng.standard_normal((3, 4))
    out, cache = dropout_forward(x, seed=1, **kwargs)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    dout = rng.standard_normal((3, 4))
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx, dout)
    assert dx is not dout


def test_p_one_drops_everything(rng):
    x = rng.standard_normal((3, 4))
    out, cache = dropout_forward(x, 1.0, seed=0)
    assert not out.any()
    assert not dropout_backward(np.ones((3, 4)), cache).any()


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 0.99), st.integers(0, 2**32), st.integers(1, 50))
def test_property_each_entry_is_zero_or_scaled(p, seed, n):
    x = np.linspace(1, 2, n)
    out, cache = dropout_forward(x, p, seed=seed)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-14)
    dx = dropout_backward(np.ones(n), cache)
    np.testing.assert_allclose(dx * x, out, rtol=1e-14)


def test_dtypes():
    out, cache = dropout_forward(np.ones((4, 4), np.float32), 0.5, seed=0)
    assert out.dtype == np.float32
    assert dropout_backward(np.ones((4, 4)), cache).dtype == np.float32
    out, cache = dropout_forward(np.ones((4, 4), int), 0.5, seed=0)
    assert out.dtype == np.float64
    out, cache = dropout_forward([[1, 2], [3, 4]], 0.0)
    assert out.dtype == np.float64
    assert dropout_backward(np.ones((2, 2), np.float32), cache).dtype == np.float64


def test_matches_torch_statistics_and_scale(rng):
    torch = pytest.importorskip("torch")
    n, p = 200_000, 0.3
    x = away_from_zero(rng, n)
    torch.manual_seed(0)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.dropout(xt, p, training=True)
    dout = rng.standard_normal(n)
    out_t.backward(torch.tensor(dout))
    out, cache = dropout_forward(x, p, seed=0)
    kept, kept_t = out != 0, out_t.detach().numpy() != 0
    # both keep 1 − p of the entries (within 5 standard deviations) with the same scale
    for k in (kept, kept_t):
        assert abs(k.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)
    np.testing.assert_allclose(out_t.detach().numpy()[kept_t], x[kept_t] / (1 - p), rtol=1e-15)
    # and both backward passes apply their own forward's mask and scale
    np.testing.assert_allclose(xt.grad.numpy(), np.where(kept_t, dout / (1 - p), 0), rtol=1e-15)
    np.testing.assert_allclose(
        dropout_backward(dout, cache), np.where(kept, dout / (1 - p), 0), rtol=1e-15
    )


def test_arguments_not_modified(rng):
    x = rng.standard_normal((5, 5))
    saved = x.copy()
    out, cache = dropout_forward(x, 0.5, seed=1)
    dout = rng.standard_normal((5, 5))
    dsaved = dout.copy()
    dropout_backward(dout, cache)
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_array_equal(dout, dsaved)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"p": 1.5}, ValueError, r"dropout_forward: p must be a number in \[0, 1\], got 1.5"),
        ({"p": -0.1}, ValueError, r"dropout_forward: p must be a number in \[0, 1\], got -0.1"),
        ({"p": float("nan")}, ValueError, r"dropout_forward: p must be a number in \[0, 1\]"),
        ({"p": "0.5"}, TypeError, r"dropout_forward: p must be a real number, got str"),
        ({"seed": 3.0}, TypeError, r"dropout_forward: seed must be None or an int, got float"),
        ({"seed": -1}, ValueError, r"dropout_forward: seed must be None or an int >= 0, got -1"),
        ({"seed": True}, TypeError, r"dropout_forward: seed must be None or an int"),
        ({"training": 1}, TypeError, r"dropout_forward: training must be a bool, got 1"),
    ],
)
def test_forward_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        dropout_forward(np.ones(3), **kwargs)


def test_backward_and_mask_validation():
    _, cache = dropout_forward(np.ones((2, 3)), 0.5, seed=0)
    with pytest.raises(
        ValueError,
        match=r"dropout_backward: dout must have the shape of the forward output \(2, 3\), "
        r"got \(3, 2\)",
    ):
        dropout_backward(np.ones((3, 2)), cache)
    with pytest.raises(TypeError, match=r"dropout_backward: cache must be the second value"):
        dropout_backward(np.ones((2, 3)), tuple(cache))
    with pytest.raises(ValueError, match=r"dropout_mask: p must be a number in \[0, 1\]"):
        dropout_mask((2,), 2.0)
    with pytest.raises(TypeError, match=r"dropout_mask: seed must be None or an int"):
        dropout_mask((2,), 0.5, seed=0.5)
