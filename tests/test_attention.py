"""Tests of mathgrad.attention: gradients, loop oracles, the causal mask, PyTorch, errors."""

import numpy as np
import pytest

from mathgrad import (
    attention_backward,
    attention_backward_loop,
    attention_forward,
    attention_forward_loop,
    attention_score_grad,
    attention_weights,
    gradcheck,
    numerical_gradient,
    relative_error,
    softmax,
)

# (leading axes, Tq, Tk, d, dv); d != dv so that a swapped product cannot pass
CASES = [((), 3, 5, 4, 2), ((2,), 4, 4, 3, 5), ((2, 3), 3, 2, 2, 4), ((1, 2, 2), 4, 4, 5, 3)]


def make(rng, lead, tq, tk, d, dv):
    return (
        rng.standard_normal((*lead, tq, d)),
        rng.standard_normal((*lead, tk, d)),
        rng.standard_normal((*lead, tk, dv)),
    )


def cases(causal):
    return [c for c in CASES if not causal or c[1] == c[2]]


@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck(rng, causal):
    for case in cases(causal):
        report = gradcheck(attention_forward, attention_backward, make(rng, *case), causal=causal)
        assert report.passed, f"{case}\n{report}"


@pytest.mark.parametrize("causal", [False, True])
def test_forward_and_backward_match_the_loops(rng, causal):
    for case in cases(causal):
        q, k, v = make(rng, *case)
        out, cache = attention_forward(q, k, v, causal=causal)
        out_loop, cache_loop = attention_forward_loop(q, k, v, causal=causal)
        np.testing.assert_allclose(out, out_loop, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(cache.p, cache_loop.p, rtol=1e-13, atol=1e-15)
        dout = rng.standard_normal(out.shape)
        for name, g, g_loop in zip(
            ("dq", "dk", "dv"),
            attention_backward(dout, cache),
            attention_backward_loop(dout, cache_loop),
            strict=True,
        ):
            np.testing.assert_allclose(g, g_loop, rtol=1e-12, atol=1e-13, err_msg=f"{name} {case}")


def test_formula_and_weights(rng):
    q, k, v = make(rng, (2,), 3, 5, 4, 2)
    out, cache = attention_forward(q, k, v)
    a = softmax(q @ k.swapaxes(-1, -2) / 2.0)  # sqrt(d) = 2
    np.testing.assert_allclose(out, a @ v, rtol=1e-13)
    np.testing.assert_allclose(attention_weights(q, k), a, rtol=1e-13)
    np.testing.assert_array_equal(attention_weights(q, k), cache.p)


def test_causal_mask_gives_exact_zeros(rng):
    q, k, v = make(rng, (2, 2), 5, 5, 3, 4)
    out, cache = attention_forward(q, k, v, causal=True)
    above = np.triu(np.ones((5, 5), dtype=bool), 1)
    assert (cache.p[..., above] == 0).all()
    assert (cache.p[..., ~above] > 0).all()
    np.testing.assert_allclose(cache.p.sum(axis=-1), 1.0, rtol=1e-14)
    ds = attention_score_grad(rng.standard_normal(out.shape), cache)
    assert (ds[..., above] == 0).all()
    # query 0 sees one key, whose weight is 1 whatever its score: its gradient is 0 too
    assert (ds[..., 0, :] == 0).all()
    assert (ds[..., 1:, :][..., ~above[1:]] != 0).all()
    # the first query sees only the first key, so out[..., 0, :] is v[..., 0, :]
    np.testing.assert_allclose(out[..., 0, :], v[..., 0, :], rtol=1e-14)


@pytest.mark.parametrize("causal", [False, True])
def test_score_grad_against_finite_differences(rng, causal):
    q, k, v = make(rng, (2,), 4, 4, 3, 2)
    out, cache = attention_forward(q, k, v, causal=causal)
    dout = rng.standard_normal(out.shape)
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(3)
    mask = np.triu(np.ones((4, 4), dtype=bool), 1) if causal else np.zeros((4, 4), bool)

    def loss(s):
        # masked scores held at -1e4, whose exp is exactly 0
        return float(np.sum(softmax(np.where(mask, -1e4, s)) @ v * dout))

    num = numerical_gradient(loss, scores)
    assert relative_error(attention_score_grad(dout, cache), num) < 1e-8


def test_score_grad_feeds_dq_and_dk(rng):
    q, k, v = make(rng, (3,), 4, 6, 5, 2)
    out, cache = attention_forward(q, k, v)
    dout = rng.standard_normal(out.shape)
    ds = attention_score_grad(dout, cache)
    dq, dk, dv = attention_backward(dout, cache)
    np.testing.assert_allclose(dq, ds @ k / np.sqrt(5), rtol=1e-12)
    np.testing.assert_allclose(dk, ds.swapaxes(-1, -2) @ q / np.sqrt(5), rtol=1e-12)
    np.testing.assert_allclose(dv, cache.p.swapaxes(-1, -2) @ dout, rtol=1e-12)


def test_large_scores_are_stable(rng):
    q, k, v = make(rng, (), 4, 4, 3, 2)
    out, cache = attention_forward(q * 1e3, k * 1e3, v, causal=True)
    grads = attention_backward(np.ones_like(out), cache)
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    np.testing.assert_allclose(cache.p.sum(axis=-1), 1.0)


def test_float32_close_to_float64(rng):
    q, k, v = make(rng, (2,), 4, 4, 3, 5)
    out64, c64 = attention_forward(q, k, v, causal=True)
    out32, c32 = attention_forward(*(a.astype(np.float32) for a in (q, k, v)), causal=True)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=1e-5)
    dout = rng.standard_normal(out64.shape)
    for g32, g64 in zip(
        attention_backward(dout.astype(np.float32), c32),
        attention_backward(dout, c64),
        strict=True,
    ):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, atol=1e-5)


@pytest.mark.parametrize("lead", [(2,), (2, 3), (2, 2, 3)])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch(rng, lead, causal):
    torch = pytest.importorskip("torch")
    tq, tk = (5, 5) if causal else (4, 6)
    q, k, v = make(rng, lead, tq, tk, 3, 2)
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=causal)
    out, cache = attention_forward(q, k, v, causal=causal)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    dout = rng.standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    for mine, t in zip(attention_backward(dout, cache), (qt, kt, vt), strict=True):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_errors(rng):
    q, k, v = make(rng, (2,), 3, 4, 5, 2)
    with pytest.raises(ValueError, match=r"attention_forward: causal=True needs as many queries"):
        attention_forward(q, k, v, causal=True)
    with pytest.raises(ValueError, match=r"attention_forward: q and k must have the same leading"):
        attention_forward(q, k[None], v[None])
    with pytest.raises(ValueError, match=r"attention_forward: q and k must have the same leading"):
        attention_forward(q[:1], k, v)
    with pytest.raises(
        ValueError, match=r"attention_forward: q and k must have the same last axis d"
    ):
        attention_forward(q, k[..., :4], v)
    with pytest.raises(
        ValueError, match=r"attention_forward: v must have shape \(\.\.\., Tk, dv\)"
    ):
        attention_forward(q, k, v[:, :3])
    with pytest.raises(ValueError, match=r"attention_forward: v must have shape"):
        attention_forward(q, k, v[:1])
    with pytest.raises(ValueError, match=r"attention_forward: k must have at least 2 dimensions"):
        attention_forward(q[0], k[0, 0], v[0])
    with pytest.raises(ValueError, match=r"attention_forward: k must hold at least one key"):
        attention_forward(q, k[:, :0], v[:, :0])
    with pytest.raises(TypeError, match=r"attention_forward: causal must be True or False"):
        attention_forward(q, k, v, causal="yes")
    with pytest.raises(TypeError, match=r"attention_weights: q must be real"):
        attention_weights(q + 1j, k)
    out, cache = attention_forward(q, k, v)
    with pytest.raises(
        ValueError, match=r"attention_backward: dout must have the shape .* \(2, 3, 2\)"
    ):
        attention_backward(out[..., :1], cache)
    with pytest.raises(TypeError, match=r"attention_backward: cache must be the second value"):
        attention_backward(out, (q, k, v))
