"""Tests of mathgrad.lstm: gradients, loop oracles, state-gradient norms, PyTorch, errors."""

import numpy as np
import pytest

from mathgrad import (
    gradcheck,
    lstm_backward,
    lstm_backward_loop,
    lstm_forward,
    lstm_forward_loop,
    lstm_state_grad_norms,
)

NAMES = ("dx", "dh0", "dc0", "dwx", "dwh", "db")
# (N, T, D, H), D != H so that a transposed block cannot pass
SHAPES = [(2, 4, 3, 5), (1, 1, 2, 3), (3, 6, 4, 2), (2, 3, 5, 4)]


def make(rng, n, t, d, h, scale=0.8, dtype=np.float64):
    """Inputs (x, h0, c0, wx, wh, b) with the gates away from saturation."""
    x = rng.standard_normal((n, t, d))
    h0 = rng.standard_normal((n, h)) * 0.5
    c0 = rng.standard_normal((n, h)) * 0.5
    wx = rng.standard_normal((4 * h, d)) * scale / np.sqrt(d)
    wh = rng.standard_normal((4 * h, h)) * scale / np.sqrt(h)
    b = rng.standard_normal(4 * h) * 0.3
    return tuple(a.astype(dtype) for a in (x, h0, c0, wx, wh, b))


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck(rng, shape):
    report = gradcheck(lstm_forward, lstm_backward, make(rng, *shape))
    assert report.passed, str(report)
    assert len(report.errors) == 6


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_backward_match_the_loops(rng, shape):
    inputs = make(rng, *shape, scale=1.5)
    h, cache = lstm_forward(*inputs)
    h_loop, cache_loop = lstm_forward_loop(*inputs)
    np.testing.assert_allclose(h, h_loop, rtol=1e-13, atol=1e-14)
    for name in ("gates", "c", "tc"):
        np.testing.assert_allclose(getattr(cache, name), getattr(cache_loop, name), atol=1e-14)
    dh = rng.standard_normal(h.shape)
    for name, g, g_loop in zip(
        NAMES, lstm_backward(dh, cache), lstm_backward_loop(dh, cache_loop), strict=True
    ):
        np.testing.assert_allclose(g, g_loop, rtol=1e-12, atol=1e-13, err_msg=name)


def test_equations_of_one_step(rng):
    """T = 1 from the API's formulas written out, gate blocks in the order i, f, g, o."""
    x, h0, c0, wx, wh, b = make(rng, 2, 1, 3, 4)
    h, _ = lstm_forward(x, h0, c0, wx, wh, b)
    a = x[:, 0] @ wx.T + h0 @ wh.T + b
    i, f, g, o = np.split(a, 4, axis=1)

    def sig(z):
        return 1 / (1 + np.exp(-z))

    c = sig(f) * c0 + sig(i) * np.tanh(g)
    np.testing.assert_allclose(h[:, 0], sig(o) * np.tanh(c), rtol=1e-14)


def test_state_grad_norms_against_a_suffix_lstm(rng):
    """∂L/∂h_t and ∂L/∂c_t rebuilt from a second LSTM that starts at (h_t, c_t)."""
    inputs = make(rng, 2, 6, 3, 4)
    x, h0, c0, wx, wh, b = inputs
    h, cache = lstm_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    c_norms, h_norms = lstm_state_grad_norms(dh, cache)
    assert c_norms.shape == h_norms.shape == (6,)
    hid = h.shape[2]
    for t in range(6):
        if t < 5:
            _, sub = lstm_forward(x[:, t + 1 :], h[:, t], cache.c[:, t], wx, wh, b)
            _, dh_later, dc_later, *_ = lstm_backward(dh[:, t + 1 :], sub)
        else:
            dh_later = dc_later = 0.0
        dh_total = dh[:, t] + dh_later
        o = cache.gates[:, t, 3 * hid :]
        dc_total = dc_later + dh_total * o * (1 - np.tanh(cache.c[:, t]) ** 2)
        np.testing.assert_allclose(h_norms[t], np.linalg.norm(dh_total), rtol=1e-12)
        np.testing.assert_allclose(c_norms[t], np.linalg.norm(dc_total), rtol=1e-12)


def test_cell_path_is_the_forget_gate(rng):
    """With the loss on c only through the last h, dc0 = f_0 ⊙ ∂L/∂c_0 entry by entry."""
    inputs = make(rng, 2, 1, 3, 4)
    h, cache = lstm_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    dc0 = lstm_backward(dh, cache)[2]
    f = cache.gates[:, 0, 4:8]
    o = cache.gates[:, 0, 12:]
    np.testing.assert_allclose(dc0, f * dh[:, 0] * o * (1 - cache.tc[:, 0] ** 2), rtol=1e-13)


def test_float32_close_to_float64(rng):
    inputs = make(rng, 2, 5, 3, 4)
    h64, c64 = lstm_forward(*inputs)
    h32, c32 = lstm_forward(*(a.astype(np.float32) for a in inputs))
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, atol=1e-5)
    dh = rng.standard_normal(h64.shape)
    for g32, g64 in zip(
        lstm_backward(dh.astype(np.float32), c32), lstm_backward(dh, c64), strict=True
    ):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, atol=1e-4)


def test_large_preactivations_stay_finite(rng):
    x, h0, c0, wx, wh, b = make(rng, 2, 3, 3, 4)
    h, cache = lstm_forward(x * 1e3, h0, c0, wx, wh, b)
    grads = lstm_backward(np.ones_like(h), cache)
    assert np.isfinite(h).all() and all(np.isfinite(g).all() for g in grads)


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    n, t, d, hid = 3, 5, 4, 6
    x, h0, c0, wx, wh, b = make(rng, n, t, d, hid)
    b_ih = rng.standard_normal(4 * hid) * 0.2
    lstm = torch.nn.LSTM(d, hid, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(wx))
        lstm.weight_hh_l0.copy_(torch.tensor(wh))
        lstm.bias_ih_l0.copy_(torch.tensor(b_ih))
        lstm.bias_hh_l0.copy_(torch.tensor(b - b_ih))
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    c0t = torch.tensor(c0[None], requires_grad=True)
    out, _ = lstm(xt, (h0t, c0t))
    h, cache = lstm_forward(x, h0, c0, wx, wh, b)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    dh = rng.standard_normal(h.shape)
    out.backward(torch.tensor(dh))
    dx, dh0, dc0, dwx, dwh, db = lstm_backward(dh, cache)
    for mine, theirs in (
        (dx, xt.grad),
        (dh0, h0t.grad[0]),
        (dc0, c0t.grad[0]),
        (dwx, lstm.weight_ih_l0.grad),
        (dwh, lstm.weight_hh_l0.grad),
        (db, lstm.bias_ih_l0.grad),
        (db, lstm.bias_hh_l0.grad),
    ):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-11, atol=1e-12)


# --- errors --------------------------------------------------------------------------


def test_errors(rng):
    x, h0, c0, wx, wh, b = make(rng, 2, 3, 3, 4)
    with pytest.raises(ValueError, match=r"lstm_forward: wx must have 4H = 16 rows .* got 12"):
        lstm_forward(x, h0, c0, wx[:12], wh, b)
    with pytest.raises(ValueError, match=r"lstm_forward: wx must have shape \(16, 3\)"):
        lstm_forward(x, h0, c0, wx[:, :2], wh, b)
    with pytest.raises(ValueError, match=r"lstm_forward: wh must have shape \(16, 4\)"):
        lstm_forward(x, h0, c0, wx, wh[:, :3], b)
    with pytest.raises(ValueError, match=r"lstm_forward: b must have shape \(16,\)"):
        lstm_forward(x, h0, c0, wx, wh, b[:4])
    with pytest.raises(ValueError, match=r"lstm_forward: c0 must have the shape of h0 \(2, 4\)"):
        lstm_forward(x, h0, c0[:1], wx, wh, b)
    with pytest.raises(ValueError, match=r"lstm_forward: h0 has 1 rows but x has batch size 2"):
        lstm_forward(x, h0[:1], c0, wx, wh, b)
    with pytest.raises(ValueError, match=r"lstm_forward: x must hold at least one time step"):
        lstm_forward(x[:, :0], h0, c0, wx, wh, b)
    with pytest.raises(ValueError, match=r"lstm_forward: x must have 3 dimensions"):
        lstm_forward(x[0], h0, c0, wx, wh, b)
    with pytest.raises(TypeError, match=r"lstm_forward: wh must be real"):
        lstm_forward(x, h0, c0, wx, wh + 0j, b)
    h, cache = lstm_forward(x, h0, c0, wx, wh, b)
    with pytest.raises(ValueError, match=r"lstm_backward: dh must have the shape .* \(2, 3, 4\)"):
        lstm_backward(h[:, :2], cache)
    with pytest.raises(TypeError, match=r"lstm_backward: cache must be the second value"):
        lstm_backward(h, (x, h0))
    with pytest.raises(TypeError, match=r"lstm_state_grad_norms: cache must be"):
        lstm_state_grad_norms(h, None)
