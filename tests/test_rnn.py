"""Tests of mathgrad.rnn: BPTT, truncated BPTT, per-step views, oracles, torch."""

import numpy as np
import pytest

from mathgrad import (
    gradcheck,
    rnn_backward,
    rnn_backward_loop,
    rnn_backward_per_step,
    rnn_forward,
    rnn_forward_loop,
    rnn_hidden_grad_norms,
)

NAMES = ("dx", "dh0", "dwx", "dwh", "db")
# (N, T, D, H), always D != H so that a transposed dwx cannot pass
SHAPES = [(2, 4, 3, 5), (1, 1, 2, 3), (3, 5, 4, 2), (2, 2, 5, 3)]


def make(rng, n, t, d, h, scale=0.6, dtype=np.float64):
    """Inputs (x, h0, wx, wh, b) with weights small enough to keep tanh unsaturated."""
    x = rng.standard_normal((n, t, d))
    h0 = rng.standard_normal((n, h)) * 0.5
    wx = rng.standard_normal((h, d)) * scale / np.sqrt(d)
    wh = rng.standard_normal((h, h)) * scale / np.sqrt(h)
    b = rng.standard_normal(h) * 0.2
    return tuple(a.astype(dtype) for a in (x, h0, wx, wh, b))


def truncations(steps):
    """The truncation settings of the gradient checks, those valid for T = steps."""
    ks = {0, 1, 2, steps - 2, steps - 1}
    return [k for k in sorted(ks) if k >= 0] + [None]


def truncated_forward(x, h0, wx, wh, b, *, k, h_fixed):
    """A function whose true gradient is k-truncated BPTT.

    Output t is h_t recomputed over steps max(0, t-k), …, t only, starting from the
    hidden state h_fixed[:, t-k-1] held constant (or from h0 when t - k <= 0). Its
    value equals the RNN's; its derivative keeps the paths the truncation keeps.
    """
    _, cache = rnn_forward(x, h0, wx, wh, b)
    steps = x.shape[1]
    kk = steps if k is None else k
    out = np.empty(h_fixed.shape)
    for t in range(steps):
        start = max(0, t - kk)
        prev = h0 if start == 0 else h_fixed[:, start - 1]
        for s in range(start, t + 1):
            prev = np.tanh(x[:, s] @ wx.T + prev @ wh.T + b)
        out[:, t] = prev
    return out, cache


# --- gradients against finite differences --------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_full(rng, shape):
    inputs = make(rng, *shape)
    report = gradcheck(rnn_forward, rnn_backward, inputs)
    assert report.passed, str(report)
    assert len(report.errors) == 5


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_truncated(rng, shape):
    inputs = make(rng, *shape)
    h_fixed, _ = rnn_forward(*inputs)
    for k in truncations(shape[1]):
        report = gradcheck(
            truncated_forward,
            lambda dh, cache, k=k: rnn_backward(dh, cache, truncate=k),
            inputs,
            k=k,
            h_fixed=h_fixed,
        )
        assert report.passed, f"truncate={k}\n{report}"


def test_truncated_forward_is_the_rnn(rng):
    inputs = make(rng, 2, 5, 3, 4)
    h, _ = rnn_forward(*inputs)
    for k in (0, 2, None):
        out, _ = truncated_forward(*inputs, k=k, h_fixed=h)
        np.testing.assert_allclose(out, h, rtol=1e-14, atol=1e-15)


# --- vectorised equals the loop oracles ----------------------------------------------


@pytest.mark.parametrize("shape", [(2, 6, 3, 4), (3, 1, 2, 3), (1, 4, 5, 2)])
def test_forward_matches_loop(rng, shape):
    inputs = make(rng, *shape)
    h, _ = rnn_forward(*inputs)
    h_loop, _ = rnn_forward_loop(*inputs)
    np.testing.assert_allclose(h, h_loop, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("shape", [(2, 6, 3, 4), (3, 1, 2, 3), (1, 4, 5, 2), (2, 7, 2, 3)])
def test_backward_matches_loop_for_every_truncation(rng, shape):
    # weights large enough that every extra or missing step shows in every gradient
    inputs = make(rng, *shape, scale=1.2)
    h, cache = rnn_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    steps = shape[1]
    for k in [*range(steps + 2), None]:
        grads = rnn_backward(dh, cache, truncate=k)
        grads_loop = rnn_backward_loop(dh, cache, truncate=k)
        for name, g, g_loop in zip(NAMES, grads, grads_loop, strict=True):
            np.testing.assert_allclose(
                g, g_loop, rtol=1e-12, atol=1e-12, err_msg=f"{name}, truncate={k}"
            )


def test_loop_oracle_from_loop_cache(rng):
    inputs = make(rng, 2, 4, 3, 5)
    h, cache = rnn_forward_loop(*inputs)
    dh = rng.standard_normal(h.shape)
    for k in (1, None):
        for g, g_ref in zip(
            rnn_backward_loop(dh, cache, k), rnn_backward(dh, cache, k), strict=True
        ):
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)


# --- truncation semantics ------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_long_truncation_equals_full(rng, steps):
    inputs = make(rng, 2, steps, 3, 4)
    h, cache = rnn_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    full = rnn_backward(dh, cache)
    for k in (steps - 1, steps, steps + 3):
        for name, g, g_full in zip(NAMES, rnn_backward(dh, cache, truncate=k), full, strict=True):
            np.testing.assert_allclose(g, g_full, rtol=1e-12, atol=1e-12, err_msg=name)


def test_short_truncation_differs_from_full(rng):
    steps = 5
    inputs = make(rng, 2, steps, 3, 4, scale=1.2)
    h, cache = rnn_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    _, dh0_full, dwx_full, dwh_full, db_full = rnn_backward(dh, cache)
    for k in range(steps - 1):
        _, dh0, dwx, dwh, db = rnn_backward(dh, cache, truncate=k)
        for g, g_full in ((dh0, dh0_full), (dwx, dwx_full), (dwh, dwh_full), (db, db_full)):
            assert not np.allclose(g, g_full, rtol=1e-6, atol=1e-9), f"truncate={k}"


def test_truncate_zero_by_hand(rng):
    # k = 0: each dh[:, t] reaches step t only; h0 hears only from step 0
    x, h0, wx, wh, b = make(rng, 2, 3, 3, 4)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dwx, dwh, db = rnn_backward(dh, cache, truncate=0)
    delta = dh * (1 - h**2)  # (N, T, H)
    np.testing.assert_allclose(dx, delta @ wx, rtol=1e-13)
    np.testing.assert_allclose(dh0, delta[:, 0] @ wh, rtol=1e-13)
    np.testing.assert_allclose(db, delta.sum(axis=(0, 1)), rtol=1e-13)
    np.testing.assert_allclose(dwx, np.einsum("nth,ntd->hd", delta, x), rtol=1e-13)
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    np.testing.assert_allclose(dwh, np.einsum("nth,ntk->hk", delta, h_prev), rtol=1e-13)


def test_gradient_reaches_h0_only_within_window(rng):
    # with the gradient fed in at the last step only, h0 hears of it iff T-1 <= k
    steps = 4
    inputs = make(rng, 2, steps, 3, 4)
    h, cache = rnn_forward(*inputs)
    dh = np.zeros(h.shape)
    dh[:, -1] = rng.standard_normal(h[:, -1].shape)
    for k in range(steps + 1):
        dx, dh0, *_ = rnn_backward(dh, cache, truncate=k)
        assert (np.abs(dh0).max() > 0) == (k >= steps - 1), k
        reached = [np.abs(dx[:, s]).max() > 0 for s in range(steps)]
        assert reached == [s >= steps - 1 - k for s in range(steps)], k


# --- per-step contributions and hidden-gradient norms --------------------------------


@pytest.mark.parametrize("truncate", [None, 0, 2])
def test_per_step_contributions_sum_to_gradients(rng, truncate):
    x, h0, wx, wh, b = make(rng, 3, 5, 2, 4)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    _, _, dwx, dwh, db = rnn_backward(dh, cache, truncate=truncate)
    dwx_steps, dwh_steps, db_steps = rnn_backward_per_step(dh, cache, truncate=truncate)
    assert dwx_steps.shape == (5, 4, 2)
    assert dwh_steps.shape == (5, 4, 4)
    assert db_steps.shape == (5, 4)
    np.testing.assert_allclose(dwx_steps.sum(axis=0), dwx, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dwh_steps.sum(axis=0), dwh, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(db_steps.sum(axis=0), db, rtol=1e-12, atol=1e-13)


def test_per_step_contribution_is_gradient_of_that_steps_copy(rng):
    # the last step's copy of the weights only affects h_{T-1}: its gradient is δ_{T-1}ᵀ x
    x, h0, wx, wh, b = make(rng, 2, 4, 3, 5)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    dwx_steps, dwh_steps, db_steps = rnn_backward_per_step(dh, cache)
    delta_last = dh[:, -1] * (1 - h[:, -1] ** 2)
    np.testing.assert_allclose(dwx_steps[-1], delta_last.T @ x[:, -1], rtol=1e-13)
    np.testing.assert_allclose(dwh_steps[-1], delta_last.T @ h[:, -2], rtol=1e-13)
    np.testing.assert_allclose(db_steps[-1], delta_last.sum(axis=0), rtol=1e-13)


def test_hidden_grad_norms_match_loop_oracle(rng):
    # the total gradient reaching h_t is dh[:, t] plus the gradient of the rest of the
    # sequence with respect to its initial state h_t: the oracle's dh0 on the tail
    x, h0, wx, wh, b = make(rng, 3, 6, 2, 4, scale=1.5)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    steps = x.shape[1]
    expected = np.empty(steps)
    for t in range(steps):
        total = dh[:, t].copy()
        if t < steps - 1:
            _, tail = rnn_forward_loop(x[:, t + 1 :], h[:, t], wx, wh, b)
            total += rnn_backward_loop(dh[:, t + 1 :], tail)[1]
        expected[t] = np.linalg.norm(total)
    norms = rnn_hidden_grad_norms(dh, cache)
    assert norms.shape == (steps,)
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    np.testing.assert_allclose(norms[-1], np.linalg.norm(dh[:, -1]), rtol=1e-14)


@pytest.mark.parametrize("k", [0, 1, 2, 4])
def test_truncated_hidden_grad_norms_match_definition(rng, k):
    # under truncation with horizon k, h_s receives dh[:, s] plus the packets born at
    # steps s+1, …, min(T-1, s+k), each walked back in full: the loop oracle's dh0 on the
    # tail from h_s, fed only those packets
    x, h0, wx, wh, b = make(rng, 2, 7, 3, 4, scale=1.5)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    steps = x.shape[1]
    expected = np.empty(steps)
    for s in range(steps):
        total = dh[:, s].copy()
        if s < steps - 1:
            _, tail = rnn_forward_loop(x[:, s + 1 :], h[:, s], wx, wh, b)
            dh_tail = np.zeros_like(dh[:, s + 1 :])
            dh_tail[:, :k] = dh[:, s + 1 : s + 1 + k]
            total += rnn_backward_loop(dh_tail, tail)[1]
        expected[s] = np.linalg.norm(total)
    norms = rnn_hidden_grad_norms(dh, cache, truncate=k)
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    full = rnn_hidden_grad_norms(dh, cache)
    assert not np.allclose(norms[: steps - 1 - k], full[: steps - 1 - k])


@pytest.mark.parametrize("k", [0, 2, 5])
def test_truncated_hidden_grad_norms_are_rnn_backwards_totals(rng, k):
    # one sample: rnn_backward's truncated δ_s (db_steps[s]) is (1 - h_s²) times the
    # gradient whose norm rnn_hidden_grad_norms reports
    x, h0, wx, wh, b = make(rng, 1, 8, 2, 3, scale=1.2)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    _, _, db_steps = rnn_backward_per_step(dh, cache, truncate=k)
    expected = np.linalg.norm(db_steps / (1 - h[0] ** 2), axis=1)
    np.testing.assert_allclose(rnn_hidden_grad_norms(dh, cache, truncate=k), expected, rtol=1e-12)


def test_hidden_grad_norms_truncation_limits(rng):
    x, h0, wx, wh, b = make(rng, 2, 5, 3, 4)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    dh = rng.standard_normal(h.shape)
    full = rnn_hidden_grad_norms(dh, cache)
    for k in (4, 9):  # k >= T - 1 is full BPTT
        np.testing.assert_array_equal(rnn_hidden_grad_norms(dh, cache, truncate=k), full)
    np.testing.assert_allclose(  # k = 0: only the step's own gradient
        rnn_hidden_grad_norms(dh, cache, truncate=0),
        np.sqrt((dh**2).sum(axis=(0, 2))),
        rtol=1e-14,
    )


# --- PyTorch ---------------------------------------------------------------------------


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    inputs = make(rng, 3, 6, 4, 5, scale=1.2)
    h, cache = rnn_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    grads = rnn_backward(dh, cache)
    x, h0, wx, wh, b = (torch.tensor(a, requires_grad=True) for a in inputs)
    prev, hs = h0, []
    for t in range(x.shape[1]):
        prev = torch.tanh(x[:, t] @ wx.T + prev @ wh.T + b)
        hs.append(prev)
    h_t = torch.stack(hs, dim=1)
    h_t.backward(torch.tensor(dh))
    np.testing.assert_allclose(h, h_t.detach().numpy(), rtol=1e-13, atol=1e-14)
    for name, g, v in zip(NAMES, grads, (x, h0, wx, wh, b), strict=True):
        np.testing.assert_allclose(g, v.grad.numpy(), rtol=1e-11, atol=1e-13, err_msg=name)


def test_matches_torch_nn_rnn(rng):
    torch = pytest.importorskip("torch")
    x, h0, wx, wh, b = make(rng, 2, 5, 3, 4)
    h, _ = rnn_forward(x, h0, wx, wh, b)
    rnn = torch.nn.RNN(3, 4, batch_first=True, nonlinearity="tanh").double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(wx))
        rnn.weight_hh_l0.copy_(torch.tensor(wh))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
        out, _ = rnn(torch.tensor(x), torch.tensor(h0)[None])
    np.testing.assert_allclose(h, out.numpy(), rtol=1e-13, atol=1e-14)


# --- dtypes, array-likes, no in-place changes ----------------------------------------


def test_float32_kept(rng):
    inputs = make(rng, 2, 3, 3, 4, dtype=np.float32)
    h, cache = rnn_forward(*inputs)
    assert h.dtype == np.float32
    for g in rnn_backward(np.ones(h.shape, np.float32), cache):
        assert g.dtype == np.float32
    for g in rnn_backward(np.ones(h.shape), cache, truncate=1):
        assert g.dtype == np.float32
    for g in rnn_backward_per_step(np.ones(h.shape, np.float32), cache):
        assert g.dtype == np.float32
    assert rnn_forward_loop(*inputs)[0].dtype == np.float32


def test_mixed_dtypes(rng):
    x, h0, wx, wh, b = make(rng, 2, 3, 3, 4)
    h, cache = rnn_forward(x.astype(np.float32), h0, wx, wh, b.astype(np.float32))
    assert h.dtype == np.float64
    dx, dh0, dwx, dwh, db = rnn_backward(np.ones(h.shape), cache)
    assert (dx.dtype, dh0.dtype, dwx.dtype, dwh.dtype, db.dtype) == (
        np.float32,
        np.float64,
        np.float64,
        np.float64,
        np.float32,
    )


def test_int_and_list_input(rng):
    x = rng.integers(-2, 3, size=(2, 3, 2))
    h0 = np.zeros((2, 3), dtype=int)
    wx = rng.integers(-1, 2, size=(3, 2))
    wh = np.eye(3, dtype=int)
    b = [0, 1, 0]
    h, cache = rnn_forward(x.tolist(), h0.tolist(), wx.tolist(), wh.tolist(), b)
    assert h.dtype == np.float64
    ref, _ = rnn_forward(x.astype(float), h0.astype(float), wx.astype(float), wh * 1.0, b)
    np.testing.assert_allclose(h, ref)
    grads = rnn_backward(np.ones(h.shape, dtype=int).tolist(), cache, truncate=1)
    assert all(g.dtype == np.float64 for g in grads)
    assert all(g.dtype == np.float64 for g in rnn_backward_loop(np.ones(h.shape), cache))


def test_inputs_not_modified(rng):
    inputs = make(rng, 2, 4, 3, 5)
    copies = [a.copy() for a in inputs]
    h, cache = rnn_forward(*inputs)
    dh = rng.standard_normal(h.shape)
    dh_copy = dh.copy()
    h_copy = h.copy()
    for k in (None, 0, 2):
        rnn_backward(dh, cache, truncate=k)
        rnn_backward_loop(dh, cache, truncate=k)
        rnn_backward_per_step(dh, cache, truncate=k)
        rnn_hidden_grad_norms(dh, cache, truncate=k)
    rnn_forward_loop(*inputs)
    for a, c in zip(inputs, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(dh, dh_copy)
    np.testing.assert_array_equal(h, h_copy)


# --- validation messages ------------------------------------------------------------


def _good(rng):
    return make(rng, 2, 3, 4, 8)  # x (2, 3, 4), h0 (2, 8), wx (8, 4), wh (8, 8), b (8,)


@pytest.mark.parametrize("forward", [rnn_forward, rnn_forward_loop])
@pytest.mark.parametrize(
    "which, value, error, match",
    [
        (0, np.zeros((2, 3)), ValueError, r"x must have 3 dimensions, got 2"),
        (1, np.zeros((2, 8, 1)), ValueError, r"h0 must have 2 dimensions, got 3"),
        (2, np.zeros(8), ValueError, r"wx must have 2 dimensions, got 1"),
        (3, np.zeros((8, 8, 1)), ValueError, r"wh must have 2 dimensions, got 3"),
        (4, np.zeros((8, 1)), ValueError, r"b must have 1 dimension, got 2"),
        (0, np.zeros((2, 0, 4)), ValueError, r"x must hold at least one time step"),
        (0, np.zeros((2, 3, 0)), ValueError, r"x has D = 0 \(x: \(2, 3, 0\), axes \(N, T, D\)\)"),
        (1, np.zeros((2, 0)), ValueError, r"h0 has H = 0 \(h0: \(2, 0\), axes \(N, H\)\); "),
        (
            1,
            np.zeros((3, 8)),
            ValueError,
            r"h0 has 3 rows but x has batch size 2 \(x: \(2, 3, 4\), h0: \(3, 8\)\)",
        ),
        (
            2,
            np.zeros((4, 8)),
            ValueError,
            r"wx must have shape \(8, 4\) \(H×D with H = h0.shape\[1\], D = x.shape\[2\]\), "
            r"got \(4, 8\)",
        ),
        (
            3,
            np.zeros((8, 7)),
            ValueError,
            r"wh must have shape \(8, 8\) \(H×H with H = h0.shape\[1\]\), got \(8, 7\)",
        ),
        (4, np.zeros(7), ValueError, r"b must have shape \(8,\) .*got \(7,\)"),
        (3, np.zeros((8, 8), complex), TypeError, r"wh must be real"),
        (0, "x", TypeError, r"x must be an array of real numbers"),
        (4, np.array([np.nan] * 8), ValueError, r"b contains NaN or infinity"),
    ],
)
def test_forward_validation(rng, forward, which, value, error, match):
    inputs = list(_good(rng))
    inputs[which] = value
    with pytest.raises(error, match=forward.__name__ + ": " + match):
        forward(*inputs)


BACKWARDS = [rnn_backward, rnn_backward_loop, rnn_backward_per_step, rnn_hidden_grad_norms]


@pytest.mark.parametrize("backward", BACKWARDS)
def test_backward_validation(rng, backward):
    name = backward.__name__
    h, cache = rnn_forward(*_good(rng))
    with pytest.raises(
        ValueError,
        match=name + r": dh must have the shape of the forward output \(2, 3, 8\), "
        r"got \(2, 8, 3\)",
    ):
        backward(np.zeros((2, 8, 3)), cache)
    with pytest.raises(
        TypeError, match=name + r": cache must be the second value returned by .*got tuple"
    ):
        backward(np.zeros(h.shape), tuple(cache))
    with pytest.raises(TypeError, match=name + r": dh must be real"):
        backward(np.zeros(h.shape, complex), cache)


@pytest.mark.parametrize("backward", BACKWARDS)
@pytest.mark.parametrize(
    "truncate, error, match",
    [
        (True, TypeError, r"truncate must be an integer, got bool"),
        (1.0, TypeError, r"truncate must be an integer, got float"),
        ("2", TypeError, r"truncate must be an integer, got str"),
        (-1, ValueError, r"truncate must be an integer >= 0, got -1"),
    ],
)
def test_truncate_validation(rng, backward, truncate, error, match):
    h, cache = rnn_forward(*_good(rng))
    with pytest.raises(error, match=backward.__name__ + ": " + match):
        backward(np.zeros(h.shape), cache, truncate=truncate)


def test_numpy_integer_truncate_accepted(rng):
    h, cache = rnn_forward(*_good(rng))
    dh = rng.standard_normal(h.shape)
    for g, g_ref in zip(
        rnn_backward(dh, cache, truncate=np.int64(1)), rnn_backward(dh, cache, 1), strict=True
    ):
        np.testing.assert_array_equal(g, g_ref)


@pytest.mark.parametrize("truncate", [None, 0, 2])
def test_an_empty_batch_gives_empty_states_and_zero_weight_gradients(rng, truncate):
    x, h0, wx, wh, b = make(rng, 0, 3, 4, 5)
    h, cache = rnn_forward(x, h0, wx, wh, b)
    assert h.shape == (0, 3, 5)
    dx, dh0, dwx, dwh, db = rnn_backward(np.zeros((0, 3, 5)), cache, truncate=truncate)
    assert dx.shape == (0, 3, 4) and dh0.shape == (0, 5)
    for g, w in ((dwx, wx), (dwh, wh), (db, b)):  # a sum over no samples
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, 0)
    np.testing.assert_array_equal(rnn_hidden_grad_norms(np.zeros((0, 3, 5)), cache), 0)
