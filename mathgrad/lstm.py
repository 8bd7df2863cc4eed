"""The LSTM: forward, backpropagation through time, and the cell state's gradient.

Gate blocks follow PyTorch's order ``[i, f, g, o]``: the pre-activations of step ``t`` are
``a_t = x_t @ wx.T + h_{t-1} @ wh.T + b`` of width ``4H``, split in four along the last
axis; ``i, f, o`` go through the logistic sigmoid, ``g`` through tanh, and

    c_t = f ⊙ c_{t-1} + i ⊙ g,        h_t = o ⊙ tanh(c_t).

``b`` is PyTorch's ``bias_ih + bias_hh``. Code index ``t`` is the book's step ``t``;
``h0``, ``c0`` are the initial states (the book's ``h_{-1}``, ``c_{-1}``), not
``h[:, 0]``. The book calls the ``g`` block the candidate ``c̃_t``.

The forward computes the input projection of every step in one product and each step's
four gates with one product by ``wh``. The backward sweeps from the last step to the
first, storing each step's pre-activation gradient ``∂L/∂a_t`` (N, T, 4H); the weight,
bias and input gradients are then single products over all steps. The loop versions at
the end compute one step and one gate at a time and serve as test oracles.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, check_cache, check_dout, fmt_shape

__all__ = [
    "lstm_backward",
    "lstm_backward_loop",
    "lstm_forward",
    "lstm_forward_loop",
    "lstm_state_grad_norms",
]

GATES = ("i", "f", "g", "o")  # PyTorch's order of the four blocks of wx, wh, b


class LSTMCache(NamedTuple):
    """What the backward functions need from :func:`lstm_forward`."""

    x: np.ndarray  # (N, T, D)
    h0: np.ndarray  # (N, H)
    c0: np.ndarray  # (N, H)
    wx: np.ndarray  # (4H, D)
    wh: np.ndarray  # (4H, H)
    gates: np.ndarray  # (N, T, 4H): i, f, g, o after their nonlinearities
    c: np.ndarray  # (N, T, H), cell states
    tc: np.ndarray  # (N, T, H), tanh(c)
    h: np.ndarray  # (N, T, H), the forward output
    b_dtype: np.dtype


def _check_lstm_args(x, h0, c0, wx, wh, b, func):
    x = as_float_array(x, "x", func, ndim=3)
    h0 = as_float_array(h0, "h0", func, ndim=2)
    c0 = as_float_array(c0, "c0", func, ndim=2)
    wx = as_float_array(wx, "wx", func, ndim=2)
    wh = as_float_array(wh, "wh", func, ndim=2)
    b = as_float_array(b, "b", func, ndim=1)
    n, t, d = x.shape
    if t == 0:
        raise ValueError(
            f"{func}: x must hold at least one time step, got shape {fmt_shape(x.shape)} "
            "(N, T, D) with T = 0"
        )
    if h0.shape[0] != n:
        raise ValueError(
            f"{func}: h0 has {h0.shape[0]} rows but x has batch size {n} "
            f"(x: {fmt_shape(x.shape)}, h0: {fmt_shape(h0.shape)})"
        )
    hid = h0.shape[1]
    if c0.shape != h0.shape:
        raise ValueError(
            f"{func}: c0 must have the shape of h0 {fmt_shape(h0.shape)} (N, H), "
            f"got {fmt_shape(c0.shape)}"
        )
    if wx.shape[0] != 4 * hid:
        raise ValueError(
            f"{func}: wx must have 4H = {4 * hid} rows (the blocks i, f, g, o, with "
            f"H = h0.shape[1] = {hid}), got {wx.shape[0]} (wx: {fmt_shape(wx.shape)})"
        )
    for arr, name, want, hint in (
        (wx, "wx", (4 * hid, d), "(4H×D with H = h0.shape[1], D = x.shape[2])"),
        (wh, "wh", (4 * hid, hid), "(4H×H with H = h0.shape[1])"),
        (b, "b", (4 * hid,), "(4H with H = h0.shape[1])"),
    ):
        if arr.shape != want:
            raise ValueError(
                f"{func}: {name} must have shape {fmt_shape(want)} {hint}, "
                f"got {fmt_shape(arr.shape)}"
            )
    return x, h0, c0, wx, wh, b


def lstm_forward(x, h0, c0, wx, wh, b):
    """Run an LSTM over a batch of sequences (PyTorch's ``nn.LSTM(batch_first=True)``).

    Parameters
    ----------
    x : array_like of shape (N, T, D)
        Inputs, batch first: ``x[:, t]`` is the input at step ``t``.
    h0 : array_like of shape (N, H)
        Initial hidden state.
    c0 : array_like of shape (N, H)
        Initial cell state.
    wx : array_like of shape (4H, D)
        Input-to-gate weights, row blocks ``[i, f, g, o]`` (PyTorch's ``weight_ih_l0``).
    wh : array_like of shape (4H, H)
        Hidden-to-gate weights, row blocks ``[i, f, g, o]`` (``weight_hh_l0``).
    b : array_like of shape (4H,)
        Gate biases, blocks ``[i, f, g, o]`` (``bias_ih_l0 + bias_hh_l0``).

    Returns
    -------
    h : ndarray of shape (N, T, H)
        Every hidden state; dtype ``np.result_type`` of the inputs.
    cache : LSTMCache
        The inputs, the gate values, the cell states and their tanh, the hidden states.
    """
    x, h0, c0, wx, wh, b = _check_lstm_args(x, h0, c0, wx, wh, b, "lstm_forward")
    dtype = np.result_type(x, h0, c0, wx, wh, b)
    n, steps, d = x.shape
    hid = h0.shape[1]
    # σ(z) = (1 + tanh(z/2)) / 2: with the rows of the i, f, o blocks halved, one tanh
    # over all 4H pre-activations serves the three gates and the candidate
    half = np.full(4 * hid, 0.5, dtype=dtype)
    half[2 * hid : 3 * hid] = 1.0  # the g block keeps its scale
    whT = (wh * half[:, None]).T.astype(dtype, copy=False)  # (H, 4H)
    # input and bias terms of every step in one product; the buffer then becomes the
    # gate values, step by step
    gates = x.reshape(n * steps, d).astype(dtype, copy=False) @ (wx * half[:, None]).T.astype(
        dtype, copy=False
    )
    gates = gates.reshape(n, steps, 4 * hid)  # (N, T, 4H)
    gates += b * half
    c = np.empty((n, steps, hid), dtype=dtype)
    tc = np.empty((n, steps, hid), dtype=dtype)
    h = np.empty((n, steps, hid), dtype=dtype)
    rec = np.empty((n, 4 * hid), dtype=dtype)
    ig = np.empty((n, hid), dtype=dtype)
    h_prev = h0.astype(dtype, copy=False)
    c_prev = c0.astype(dtype, copy=False)
    for t in range(steps):
        a = gates[:, t]  # (N, 4H), a view: the gates of step t are written in place
        np.matmul(h_prev, whT, out=rec)
        a += rec
        np.tanh(a, out=a)
        for block in (a[:, : 2 * hid], a[:, 3 * hid :]):  # i, f and o: (1 + tanh) / 2
            block += 1.0
            block *= 0.5
        i, f, g, o = a[:, :hid], a[:, hid : 2 * hid], a[:, 2 * hid : 3 * hid], a[:, 3 * hid :]
        ct = c[:, t]
        np.multiply(f, c_prev, out=ct)
        np.multiply(i, g, out=ig)
        ct += ig
        np.tanh(ct, out=tc[:, t])
        np.multiply(o, tc[:, t], out=h[:, t])
        h_prev, c_prev = h[:, t], ct
    return h, LSTMCache(
        x, h0, c0, wx, wh, gates, c, tc, h.copy(), b.dtype
    )  # h.copy(): the caller may write into h


def _sweep(dh, cache, record_norms=False):
    """The backward sweep: ``∂L/∂a_t`` (N, T, 4H) of every step, ``dh0`` and ``dc0``.

    With ``record_norms`` also returns the norms of the total gradients reaching each
    ``c_t`` and each ``h_t``, two arrays of shape (T,).
    """
    gates, c, tc, h = cache.gates, cache.c, cache.tc, cache.h
    n, steps, hid = h.shape
    dtype = np.result_type(h, dh)
    wh = cache.wh.astype(dtype, copy=False)
    c0 = cache.c0.astype(dtype, copy=False)
    i, f, g, o = (gates[:, :, k * hid : (k + 1) * hid] for k in range(4))  # each (N, T, H)
    c_prev = np.concatenate([c0[:, None], c[:, :-1]], axis=1)  # (N, T, H): c_{t-1}
    # Every factor that depends on the forward pass alone, for all steps at once:
    # da[:, t] first holds the factors by which the total gradients of step t are
    # multiplied (∂L/∂c_t for the i, f, g blocks, ∂L/∂h_t for o), then ∂L/∂a_t.
    da = np.empty((n, steps, 4 * hid), dtype=dtype)
    da[:, :, :hid] = g * i * (1.0 - i)
    da[:, :, hid : 2 * hid] = c_prev * f * (1.0 - f)
    da[:, :, 2 * hid : 3 * hid] = i * (1.0 - g * g)
    da[:, :, 3 * hid :] = tc * o * (1.0 - o)
    h_to_c = o * (1.0 - tc * tc)  # (N, T, H): ∂c-gradient per unit of ∂h-gradient
    dh_carry = np.zeros((n, hid), dtype=dtype)  # flows from step t+1 into h_t
    dc_carry = np.zeros((n, hid), dtype=dtype)  # flows from step t+1 into c_t
    c_norms = np.empty(steps) if record_norms else None
    h_norms = np.empty(steps) if record_norms else None
    for t in range(steps - 1, -1, -1):
        dht = dh[:, t] + dh_carry
        # total gradient on c_t: through h_t = o ⊙ tanh(c_t), plus the carry from c_{t+1}
        dct = dht * h_to_c[:, t]
        dct += dc_carry
        if record_norms:
            h_norms[t] = np.sqrt(np.sum(dht * dht))
            c_norms[t] = np.sqrt(np.sum(dct * dct))
        ifg = da[:, t, : 3 * hid].reshape(n, 3, hid)  # a view of the i, f, g blocks
        ifg *= dct[:, None, :]
        da[:, t, 3 * hid :] *= dht
        dc_carry = dct * f[:, t]
        dh_carry = da[:, t] @ wh
    return da, dh_carry, dc_carry, c_norms, h_norms


def _check_backward_args(dh, cache, func):
    check_cache(cache, LSTMCache, func)
    return check_dout(dh, cache.h.shape, func, name="dh")


def lstm_backward(dh, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dh : array_like of shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : LSTMCache
        The second value returned by :func:`lstm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dc0 : ndarray of shape (N, H)
    dwx : ndarray of shape (4H, D)
    dwh : ndarray of shape (4H, H)
    db : ndarray of shape (4H,)
        Each in the dtype of its input.
    """
    dh = _check_backward_args(dh, cache, "lstm_backward")
    da, dh0, dc0, _, _ = _sweep(dh, cache)
    dtype = da.dtype
    n, steps, four_h = da.shape
    d = cache.x.shape[2]
    flat = da.reshape(n * steps, four_h)  # (N·T, 4H), row n·T + t is step t of sample n
    dx = (flat @ cache.wx.astype(dtype, copy=False)).reshape(n, steps, d)
    dwx = flat.T @ cache.x.astype(dtype, copy=False).reshape(n * steps, d)
    # dwh = Σ_t ∂L/∂a_tᵀ h_{t-1}: pair row r of da with row r - 1 of h, remove the pairs
    # that cross from sample n-1 to sample n, add the t = 0 terms with h0
    h = cache.h
    dwh = flat[1:].T @ h.reshape(n * steps, -1)[:-1]
    if n > 1:
        dwh -= da[1:, 0].T @ h[:-1, -1]
    dwh += da[:, 0].T @ cache.h0.astype(dtype, copy=False)
    db = flat.sum(axis=0)
    return (
        dx.astype(cache.x.dtype, copy=False),
        dh0.astype(cache.h0.dtype, copy=False),
        dc0.astype(cache.c0.dtype, copy=False),
        dwx.astype(cache.wx.dtype, copy=False),
        dwh.astype(cache.wh.dtype, copy=False),
        db.astype(cache.b_dtype, copy=False),
    )


def lstm_state_grad_norms(dh, cache):
    """Norms of the total gradients reaching each cell state and each hidden state.

    Parameters
    ----------
    dh : array_like of shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : LSTMCache
        The second value returned by :func:`lstm_forward`.

    Returns
    -------
    c_norms : ndarray of shape (T,)
        ``‖∂L/∂c_t‖``, the Frobenius norm over batch and units of everything that reaches
        ``c_t``: through ``h_t`` and from ``c_{t+1}``.
    h_norms : ndarray of shape (T,)
        ``‖∂L/∂h_t‖``: ``dh[:, t]`` plus everything that flows back into ``h_t`` from
        later steps (as :func:`mathgrad.rnn.rnn_hidden_grad_norms` for the RNN).
    """
    dh = _check_backward_args(dh, cache, "lstm_state_grad_norms")
    _, _, _, c_norms, h_norms = _sweep(dh, cache, record_norms=True)
    return c_norms, h_norms


def _split(w, hid):
    """The four gate blocks of ``w`` (rows, or entries of a vector) as a dict."""
    return {name: w[k * hid : (k + 1) * hid] for k, name in enumerate(GATES)}


def lstm_forward_loop(x, h0, c0, wx, wh, b):
    """The LSTM forward one step and one gate at a time (a test oracle).

    Same parameters, output and cache as :func:`lstm_forward`.
    """
    x, h0, c0, wx, wh, b = _check_lstm_args(x, h0, c0, wx, wh, b, "lstm_forward_loop")
    dtype = np.result_type(x, h0, c0, wx, wh, b)
    n, steps, _ = x.shape
    hid = h0.shape[1]
    wxs, whs, bs = _split(wx, hid), _split(wh, hid), _split(b, hid)
    gates = np.empty((n, steps, 4 * hid), dtype=dtype)
    c = np.empty((n, steps, hid), dtype=dtype)
    tc = np.empty((n, steps, hid), dtype=dtype)
    h = np.empty((n, steps, hid), dtype=dtype)
    h_prev, c_prev = h0, c0
    for t in range(steps):
        pre = {k: x[:, t] @ wxs[k].T + h_prev @ whs[k].T + bs[k] for k in GATES}
        i = 1.0 / (1.0 + np.exp(-pre["i"]))
        f = 1.0 / (1.0 + np.exp(-pre["f"]))
        g = np.tanh(pre["g"])
        o = 1.0 / (1.0 + np.exp(-pre["o"]))
        c[:, t] = f * c_prev + i * g
        tc[:, t] = np.tanh(c[:, t])
        h[:, t] = o * tc[:, t]
        gates[:, t] = np.concatenate([i, f, g, o], axis=1)
        h_prev, c_prev = h[:, t], c[:, t]
    return h, LSTMCache(
        x, h0, c0, wx, wh, gates, c, tc, h.copy(), b.dtype
    )  # h.copy(): the caller may write into h


def lstm_backward_loop(dh, cache):
    """BPTT for the LSTM one step and one gate at a time (a test oracle).

    At each step, from the last to the first: the total gradients on ``h_t`` and ``c_t``,
    then each gate's pre-activation gradient, then each gate's contribution to the
    gradients of its own weight blocks, the input and the previous states.
    Same parameters and returns as :func:`lstm_backward`.
    """
    dh = _check_backward_args(dh, cache, "lstm_backward_loop")
    x, h0, c0, wx, wh = cache.x, cache.h0, cache.c0, cache.wx, cache.wh
    n, steps, hid = cache.h.shape
    wxs, whs = _split(wx, hid), _split(wh, hid)
    dx = np.zeros(x.shape)
    dwx = {k: np.zeros(wxs[k].shape) for k in GATES}
    dwh = {k: np.zeros(whs[k].shape) for k in GATES}
    db = {k: np.zeros(hid) for k in GATES}
    dh_next = np.zeros((n, hid))
    dc_next = np.zeros((n, hid))
    for t in range(steps - 1, -1, -1):
        val = _split(cache.gates[:, t].T, hid)  # each (H, N)
        i, f, g, o = (val[k].T for k in GATES)
        c_prev = c0 if t == 0 else cache.c[:, t - 1]
        h_prev = h0 if t == 0 else cache.h[:, t - 1]
        tanh_c = np.tanh(cache.c[:, t])
        dh_t = dh[:, t] + dh_next
        dc_t = dh_t * o * (1.0 - tanh_c**2) + dc_next
        da = {
            "i": dc_t * g * i * (1.0 - i),
            "f": dc_t * c_prev * f * (1.0 - f),
            "g": dc_t * i * (1.0 - g**2),
            "o": dh_t * tanh_c * o * (1.0 - o),
        }
        dh_next = np.zeros((n, hid))
        for k in GATES:
            dx[:, t] += da[k] @ wxs[k]
            dwx[k] += da[k].T @ x[:, t]
            dwh[k] += da[k].T @ h_prev
            db[k] += da[k].sum(axis=0)
            dh_next += da[k] @ whs[k]
        dc_next = dc_t * f
    return (
        dx.astype(x.dtype),
        dh_next.astype(h0.dtype),
        dc_next.astype(c0.dtype),
        np.concatenate([dwx[k] for k in GATES]).astype(wx.dtype),
        np.concatenate([dwh[k] for k in GATES]).astype(wh.dtype),
        np.concatenate([db[k] for k in GATES]).astype(cache.b_dtype),
    )
