"""Tests of mathgrad.normalization: batch norm (2-D, 4-D, evaluation mode, running
statistics) and layer norm, against the loop oracle, the identities and PyTorch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mathgrad import (
    batchnorm_backward,
    batchnorm_backward_loop,
    batchnorm_forward,
    batchnorm_forward_loop,
    batchnorm_inference,
    batchnorm_running_stats,
    gradcheck,
    layernorm_backward,
    layernorm_forward,
)

SHAPES = [(5, 3), (2, 1), (8, 7), (2, 3, 4, 5), (3, 2, 1, 1), (1, 4, 2, 3)]


def affine(rng, shape):
    c = shape[1]
    return rng.standard_normal(c), rng.standard_normal(c)


# --- definition: per-feature mean 0, variance 1, then the affine map ----------------


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_normalises_each_feature(rng, shape):
    x = rng.standard_normal(shape) * 3 + 2
    c = shape[1]
    y, _ = batchnorm_forward(x, np.ones(c), np.zeros(c), eps=1e-12)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1, rtol=1e-9)
    gamma, beta = affine(rng, shape)
    y2, _ = batchnorm_forward(x, gamma, beta, eps=1e-12)
    bshape = (1, c) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(y2, y * gamma.reshape(bshape) + beta.reshape(bshape), atol=1e-12)


def test_eps_enters_under_the_root(rng):
    x = rng.standard_normal((6, 2))
    y, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), eps=0.5)
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 0.5)
    np.testing.assert_allclose(y, expected, rtol=1e-13)


# --- gradients -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck(rng, shape):
    x = rng.standard_normal(shape)
    gamma, beta = affine(rng, shape)
    report = gradcheck(batchnorm_forward, batchnorm_backward, (x, gamma, beta), seed=3)
    assert report.passed, str(report)


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_loop_oracle(rng, shape):
    x = rng.standard_normal(shape)
    gamma, beta = affine(rng, shape)
    y, cache = batchnorm_forward(x, gamma, beta)
    y_loop, cache_loop = batchnorm_forward_loop(x, gamma, beta)
    np.testing.assert_allclose(y, y_loop, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(shape)
    for got, want in zip(
        batchnorm_backward(dy, cache), batchnorm_backward_loop(dy, cache_loop), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("shape", [s for s in SHAPES if s != (2, 1)])
def test_identities_sum_dx_and_dx_xhat_vanish(rng, shape):
    # Σ dx = 0 always; Σ dx · x̂ = 0 exactly when eps = 0 (here eps = 1e-30)
    x = rng.standard_normal(shape) * 2 - 1
    gamma, beta = affine(rng, shape)
    _, cache = batchnorm_forward(x, gamma, beta, eps=1e-30)
    dx, _, _ = batchnorm_backward(rng.standard_normal(shape), cache)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    xhat = cache.xhat.reshape(shape)
    scale = np.abs(dx).max()
    np.testing.assert_allclose(dx.sum(axis=axes), 0, atol=1e-13 * scale * x.size)
    np.testing.assert_allclose((dx * xhat).sum(axis=axes), 0, atol=1e-13 * scale * x.size)
    assert scale > 1e-3  # not trivially zero


def test_two_values_per_feature_give_no_gradient(rng):
    # m = 2: x̂ = ±1 and every dy lies in the span of 1 and x̂, so dx = 0 (eps → 0)
    x = rng.standard_normal((2, 4))
    _, cache = batchnorm_forward(x, np.ones(4), np.zeros(4), eps=1e-30)
    dx, dgamma, _ = batchnorm_backward(rng.standard_normal((2, 4)), cache)
    np.testing.assert_allclose(dx, 0, atol=1e-12)
    assert np.abs(dgamma).max() > 1e-2


def test_dx_xhat_identity_is_off_by_eps_over_v_plus_eps(rng):
    # with eps > 0: Σ dx · x̂ = (gamma / sqrt(v + eps)) · Σ dy · x̂ · eps / (v + eps)
    x = rng.standard_normal((6, 3)) * 0.1
    gamma, beta = affine(rng, x.shape)
    eps = 1e-3
    _, cache = batchnorm_forward(x, gamma, beta, eps=eps)
    dy = rng.standard_normal(x.shape)
    dx, dgamma, _ = batchnorm_backward(dy, cache)
    v = x.var(axis=0)
    predicted = gamma / np.sqrt(v + eps) * dgamma * eps / (v + eps)
    got = (dx * cache.xhat).sum(axis=0)
    np.testing.assert_allclose(got, predicted, rtol=1e-9)
    assert np.abs(got).min() > 1e-3


def test_gradient_blind_to_shift_and_scale_of_dy(rng):
    # dy in the span of 1 and x̂ per feature carries no gradient to x
    x = rng.standard_normal((7, 3))
    gamma, beta = affine(rng, x.shape)
    _, cache = batchnorm_forward(x, gamma, beta, eps=1e-30)  # exact for eps = 0
    xhat = cache.xhat
    dy = rng.standard_normal(3) + xhat * rng.standard_normal(3)
    dx, _, _ = batchnorm_backward(dy, cache)
    np.testing.assert_allclose(dx, 0, atol=1e-13)


def test_4d_is_2d_over_positions(rng):
    x = rng.standard_normal((3, 4, 2, 5))
    gamma, beta = affine(rng, x.shape)
    y4, c4 = batchnorm_forward(x, gamma, beta)
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, 4)  # (N·H·W, C)
    y2, c2 = batchnorm_forward(x2, gamma, beta)
    np.testing.assert_allclose(y4, y2.reshape(3, 2, 5, 4).transpose(0, 3, 1, 2), atol=1e-14)
    dy = rng.standard_normal(x.shape)
    dx4, dg4, db4 = batchnorm_backward(dy, c4)
    dx2, dg2, db2 = batchnorm_backward(dy.transpose(0, 2, 3, 1).reshape(-1, 4), c2)
    np.testing.assert_allclose(dx4, dx2.reshape(3, 2, 5, 4).transpose(0, 3, 1, 2), atol=1e-13)
    np.testing.assert_allclose(dg4, dg2, rtol=1e-13)
    np.testing.assert_allclose(db4, db2, rtol=1e-13)


def test_scale_invariance_and_orthogonal_weight_gradient(rng):
    # BN(a·Wx) = BN(Wx), so each row of dW is orthogonal to that row of W
    x = rng.standard_normal((16, 5))
    w = rng.standard_normal((4, 5))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    z = x @ w.T
    y, cache = batchnorm_forward(z, gamma, beta, eps=1e-12)
    y_scaled, _ = batchnorm_forward(3.7 * z, gamma, beta, eps=1e-12)
    np.testing.assert_allclose(y, y_scaled, atol=1e-10)
    dz, _, _ = batchnorm_backward(rng.standard_normal(y.shape), cache)
    dw = dz.T @ x
    cos = np.einsum("ij,ij->i", dw, w) / (np.linalg.norm(dw, axis=1) * np.linalg.norm(w, axis=1))
    np.testing.assert_allclose(cos, 0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 6), st.integers(1, 4)),
        elements=st.floats(-100, 100, allow_nan=False),
    ),
    st.floats(0.01, 50),
    st.floats(-50, 50),
)
def test_property_invariant_to_per_batch_affine_map(x, a, b):
    # Normalising removes a shift and a positive scale of the batch (when the spread
    # dominates eps): BN(a·x + b) = BN(x).
    spread = x.std(axis=0)
    if (spread < 1e-2).any() or (a * spread < 1e-2).any():  # both batches, not only x
        return
    c = x.shape[1]
    y, _ = batchnorm_forward(x, np.ones(c), np.zeros(c), eps=1e-12)
    y2, _ = batchnorm_forward(a * x + b, np.ones(c), np.zeros(c), eps=1e-12)
    np.testing.assert_allclose(y, y2, atol=1e-6)


# --- evaluation mode and running statistics ---------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4)])
def test_inference_is_an_affine_map(rng, shape):
    x = rng.standard_normal(shape)
    c = shape[1]
    gamma, beta = affine(rng, shape)
    mean, var = rng.standard_normal(c), rng.random(c) + 0.1
    y = batchnorm_inference(x, gamma, beta, mean, var, eps=1e-3)
    bshape = (1, c) + (1,) * (len(shape) - 2)
    r = lambda a: a.reshape(bshape)  # noqa: E731
    np.testing.assert_allclose(y, r(gamma) * (x - r(mean)) / np.sqrt(r(var) + 1e-3) + r(beta))
    # one sample at a time gives the same rows: no batch statistics are involved
    np.testing.assert_allclose(
        batchnorm_inference(x[:1], gamma, beta, mean, var, eps=1e-3), y[:1], rtol=1e-14
    )


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4)])
@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0, 0.35])
def test_running_stats_formula(rng, shape, momentum):
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[1]
    mean, var = rng.standard_normal(c), rng.random(c)
    mean0, var0 = mean.copy(), var.copy()
    new_mean, new_var = batchnorm_running_stats(mean, var, x, momentum)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    np.testing.assert_allclose(new_mean, (1 - momentum) * mean + momentum * x.mean(axes))
    np.testing.assert_allclose(new_var, (1 - momentum) * var + momentum * x.var(axes, ddof=1))
    np.testing.assert_array_equal(mean, mean0)
    np.testing.assert_array_equal(var, var0)


# --- layer norm ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5), (7,), (3, 1)])
def test_layernorm_gradcheck_and_definition(rng, shape):
    x = rng.standard_normal(shape) * 2 + 0.5
    d = shape[-1]
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    report = gradcheck(layernorm_forward, layernorm_backward, (x, gamma, beta), seed=4)
    assert report.passed, str(report)
    y, _ = layernorm_forward(x, gamma, beta, eps=1e-3)
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    np.testing.assert_allclose(y, gamma * (x - mu) / np.sqrt(var + 1e-3) + beta, rtol=1e-12)


def test_layernorm_is_batchnorm_of_the_transpose(rng):
    # the same derivation over the other axis: LN(x) = BN(xᵀ)ᵀ with a scalar gamma, beta
    x = rng.standard_normal((5, 8))
    gamma, beta = rng.standard_normal(8), rng.standard_normal(8)
    y, cache = layernorm_forward(x, np.ones(8), np.zeros(8))
    y_bn, cache_bn = batchnorm_forward(x.T, np.ones(5), np.zeros(5))
    np.testing.assert_allclose(y, y_bn.T, atol=1e-14)
    dy = rng.standard_normal(x.shape)
    dx, _, _ = layernorm_backward(dy, cache)
    dx_bn, _, _ = batchnorm_backward(dy.T, cache_bn)
    np.testing.assert_allclose(dx, dx_bn.T, atol=1e-13)
    # with gamma: dx is the same map applied to dy · gamma
    _, cache_g = layernorm_forward(x, gamma, beta)
    dx_g, _, _ = layernorm_backward(dy, cache_g)
    np.testing.assert_allclose(dx_g, batchnorm_backward((dy * gamma).T, cache_bn)[0].T, atol=1e-13)


def test_layernorm_identities_per_row(rng):
    x = rng.standard_normal((3, 4, 6))
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    _, cache = layernorm_forward(x, gamma, beta, eps=1e-30)  # Σ dx · x̂ = 0 needs eps → 0
    dx, _, _ = layernorm_backward(rng.standard_normal(x.shape), cache)
    xhat = cache.xhat.reshape(x.shape)
    tol = 1e-14 * np.abs(dx).max(axis=-1) * x.shape[-1]
    assert np.all(np.abs(dx.sum(axis=-1)) <= tol)
    assert np.all(np.abs((dx * xhat).sum(axis=-1)) <= tol)


# --- PyTorch ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 2)])
@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_batchnorm_matches_torch_training(rng, shape, eps):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    gamma, beta = affine(rng, shape)
    dy = rng.standard_normal(shape)
    y, cache = batchnorm_forward(x, gamma, beta, eps)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    yt = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(dgamma, gt.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dbeta, bt.grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 2)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_eval_and_running_stats_match_torch(rng, shape, momentum):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[1]
    gamma, beta = affine(rng, shape)
    mean, var = rng.standard_normal(c), rng.random(c) + 0.5
    mt, vt = torch.tensor(mean), torch.tensor(var)  # updated in place by torch
    torch.nn.functional.batch_norm(torch.tensor(x), mt, vt, training=True, momentum=momentum)
    new_mean, new_var = batchnorm_running_stats(mean, var, x, momentum)
    np.testing.assert_allclose(new_mean, mt.numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(new_var, vt.numpy(), rtol=1e-13)
    y = batchnorm_inference(x, gamma, beta, new_mean, new_var, eps=1e-4)
    yt = torch.nn.functional.batch_norm(
        torch.tensor(x), mt, vt, torch.tensor(gamma), torch.tensor(beta), False, eps=1e-4
    )
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 7)])
def test_layernorm_matches_torch(rng, shape):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    d = shape[-1]
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    dy = rng.standard_normal(shape)
    y, cache = layernorm_forward(x, gamma, beta, 1e-4)
    grads = layernorm_backward(dy, cache)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    yt = torch.nn.functional.layer_norm(xt, (d,), gt, bt, 1e-4)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, t in zip(grads, (xt, gt, bt), strict=True):
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-11, atol=1e-13)


# --- dtypes and no in-place changes ----------------------------------------------------


def test_float32_and_mixed_dtypes(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    g, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    y, cache = batchnorm_forward(x, g, b)
    assert y.dtype == np.float32 and cache.xhat.dtype == np.float32
    assert all(a.dtype == np.float32 for a in batchnorm_backward(np.ones_like(y), cache))
    y64, _ = batchnorm_forward(x, g.astype(np.float64), b)
    assert y64.dtype == np.float64
    assert batchnorm_inference(x, g, b, np.zeros(3, np.float32), g).dtype == np.float32
    yl, _ = layernorm_forward(x, g, b)
    assert yl.dtype == np.float32


def test_inference_and_running_stats_leave_arguments(rng):
    x = rng.standard_normal((2, 3, 2, 2))
    args = [x, rng.standard_normal(3), rng.standard_normal(3), rng.random(3), rng.random(3)]
    saved = [a.copy() for a in args]
    batchnorm_inference(*args)
    batchnorm_running_stats(args[3], args[4], x)
    for a, s in zip(args, saved, strict=True):
        np.testing.assert_array_equal(a, s)


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "forward", [batchnorm_forward, batchnorm_forward_loop], ids=["vectorised", "loop"]
)
@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.zeros((4, 3, 2)), np.ones(3), np.zeros(3)), ValueError, r"x must have 2 or 4 dim"),
        (
            (np.zeros((4, 3)), np.ones(2), np.zeros(3)),
            ValueError,
            r"gamma must have shape \(3,\) \(one per feature of x: \(4, 3\)\), got \(2,\)",
        ),
        (
            (np.zeros((2, 3, 4, 4)), np.ones(3), np.zeros(4)),
            ValueError,
            r"beta must have shape \(3,\) \(one per channel of x: \(2, 3, 4, 4\)\), got \(4,\)",
        ),
        ((np.zeros((4, 3)), np.ones((3, 1)), np.zeros(3)), ValueError, r"gamma must have 1 dim"),
        (
            (np.zeros((1, 3)), np.ones(3), np.zeros(3)),
            ValueError,
            r"x has 1 value per feature \(x: \(1, 3\)\); batch statistics need at least 2",
        ),
        (
            (np.zeros((1, 3, 1, 1)), np.ones(3), np.zeros(3)),
            ValueError,
            r"x has 1 value per channel .* \(N·H·W >= 2\)",
        ),
        (
            (np.zeros((4, 3)), np.ones(3), np.zeros(3), 0.0),
            ValueError,
            r"eps must be a number > 0",
        ),
        ((np.zeros((4, 3)), np.ones(3), np.zeros(3), -1e-5), ValueError, r"eps must be .* > 0"),
        ((np.zeros((4, 3)), np.ones(3), np.zeros(3), "1e-5"), TypeError, r"eps must be a real"),
        ((np.zeros((4, 3), complex), np.ones(3), np.zeros(3)), TypeError, r"x must be real"),
    ],
)
def test_batchnorm_validation(forward, args, error, match):
    with pytest.raises(error, match=forward.__name__ + ": " + match):
        forward(*args)


def test_inference_and_running_stats_validation():
    x, g, b = np.zeros((4, 3)), np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match=r"batchnorm_inference: running_mean must have shape"):
        batchnorm_inference(x, g, b, np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match=r"batchnorm_inference: running_var must be >= 0"):
        batchnorm_inference(x, g, b, np.zeros(3), np.array([1.0, -0.5, 1.0]))
    with pytest.raises(ValueError, match=r"batchnorm_inference: eps must be a number > 0"):
        batchnorm_inference(x, g, b, np.zeros(3), np.ones(3), eps=0)
    with pytest.raises(ValueError, match=r"batchnorm_running_stats: momentum must be .* \[0, 1\]"):
        batchnorm_running_stats(np.zeros(3), np.ones(3), x, momentum=1.5)
    with pytest.raises(ValueError, match=r"batchnorm_running_stats: running_var must have shape"):
        batchnorm_running_stats(np.zeros(3), np.ones(4), x)
    with pytest.raises(ValueError, match=r"batchnorm_running_stats: x has 1 value per feature"):
        batchnorm_running_stats(np.zeros(3), np.ones(3), np.zeros((1, 3)))


def test_layernorm_validation():
    with pytest.raises(
        ValueError,
        match=r"layernorm_forward: gamma must have shape \(4,\) \(one per entry of the last "
        r"axis of x: \(2, 4\)\), got \(2,\)",
    ):
        layernorm_forward(np.zeros((2, 4)), np.ones(2), np.zeros(4))
    with pytest.raises(ValueError, match=r"layernorm_forward: eps must be a number > 0"):
        layernorm_forward(np.zeros((2, 4)), np.ones(4), np.zeros(4), eps=-1.0)
    with pytest.raises(ValueError, match=r"layernorm_forward: x must have at least 1 dim"):
        layernorm_forward(3.0, np.ones(1), np.zeros(1))


@pytest.mark.parametrize(
    "forward, backward",
    [
        (batchnorm_forward, batchnorm_backward),
        (batchnorm_forward_loop, batchnorm_backward_loop),
        (layernorm_forward, layernorm_backward),
    ],
)
def test_backward_validation(forward, backward):
    name = backward.__name__
    _, cache = forward(np.arange(6.0).reshape(2, 3), np.ones(3), np.zeros(3))
    with pytest.raises(
        ValueError, match=name + r": dy must have the shape of the forward output \(2, 3\)"
    ):
        backward(np.zeros((3, 2)), cache)
    with pytest.raises(TypeError, match=name + r": cache must be the second value returned by"):
        backward(np.zeros((2, 3)), tuple(cache))


@pytest.mark.parametrize("shape", [(9, 5), (7, 3, 2, 3)])
def test_blocks_do_not_change_the_result(rng, shape, monkeypatch):
    # batch norm works block by block (blocks of rows or of samples, each about BLOCK_BYTES
    # of memory); with tiny blocks every row or sample is a block of its own
    import mathgrad._blocks as blocks

    x = rng.standard_normal(shape) * 3 + 5
    gamma, beta = affine(rng, shape)
    dy = rng.standard_normal(shape)
    whole, _ = batchnorm_forward(x, gamma, beta)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 1)
    y, cache = batchnorm_forward(x, gamma, beta)
    np.testing.assert_allclose(y, whole, rtol=1e-13, atol=1e-13)
    y_loop, cache_loop = batchnorm_forward_loop(x, gamma, beta)
    np.testing.assert_allclose(y, y_loop, rtol=1e-12, atol=1e-12)
    for got, want in zip(
        batchnorm_backward(dy, cache), batchnorm_backward_loop(dy, cache_loop), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_and_dy_raise(rng, shape, bad):
    # the check rides on the channel sums batch norm computes anyway: same message
    x = rng.standard_normal(shape)
    gamma, beta = affine(rng, shape)
    x_bad = x.copy()
    x_bad.flat[3] = bad
    with pytest.raises(ValueError, match=r"^batchnorm_forward: x contains NaN or infinity"):
        batchnorm_forward(x_bad, gamma, beta)
    _, cache = batchnorm_forward(x, gamma, beta)
    with pytest.raises(ValueError, match=r"^batchnorm_backward: dy contains NaN or infinity"):
        batchnorm_backward(x_bad, cache)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_layernorm_non_finite_input_raises(rng, bad):
    x = rng.standard_normal((3, 4))
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"^layernorm_forward: x contains NaN or infinity"):
        layernorm_forward(x, np.ones(4), np.zeros(4))
