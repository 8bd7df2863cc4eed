"""A vanilla tanh RNN: forward, backpropagation through time, and truncated BPTT.

The recurrence is ``h_t = tanh(x_t @ wx.T + h_{t-1} @ wh.T + b)`` for ``t = 0, …, T-1``,
with ``h_{-1} = h0``. Code index ``t`` is the book's time step ``t``; the array ``h``
holds ``h_0, …, h_{T-1}`` and ``h0`` is the initial state, not ``h[:, 0]``.

Backward first sweeps from the last step to the first, carrying the gradient that flows
into ``h_{t-1}`` and storing each step's ``δ_t = ∂L/∂z_t`` (``z_t`` the pre-activation);
the gradients of the weights, the bias and the inputs are then single matrix products
over all steps. The loop versions at the end mirror the definitions step by step and
serve as test oracles.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import (
    as_float_array,
    check_cache,
    check_dout,
    check_int,
    check_nonzero_sizes,
    fmt_shape,
)

__all__ = [
    "rnn_backward",
    "rnn_backward_loop",
    "rnn_backward_per_step",
    "rnn_forward",
    "rnn_forward_loop",
    "rnn_hidden_grad_norms",
]


class RNNCache(NamedTuple):
    """What the backward functions need from :func:`rnn_forward`."""

    x: np.ndarray  # (N, T, D)
    h0: np.ndarray  # (N, H)
    wx: np.ndarray  # (H, D)
    wh: np.ndarray  # (H, H)
    h: np.ndarray  # (N, T, H), a copy of the forward output
    b_dtype: np.dtype


def _check_rnn_args(x, h0, wx, wh, b, func):
    x = as_float_array(x, "x", func, ndim=3)
    h0 = as_float_array(h0, "h0", func, ndim=2)
    wx = as_float_array(wx, "wx", func, ndim=2)
    wh = as_float_array(wh, "wh", func, ndim=2)
    b = as_float_array(b, "b", func, ndim=1)
    n, t, d = x.shape
    if t == 0:
        raise ValueError(
            f"{func}: x must hold at least one time step, got shape {fmt_shape(x.shape)} "
            "(N, T, D) with T = 0"
        )
    check_nonzero_sizes(x, ("", "T", "D"), "x", func)
    check_nonzero_sizes(h0, ("", "H"), "h0", func)
    if h0.shape[0] != n:
        raise ValueError(
            f"{func}: h0 has {h0.shape[0]} rows but x has batch size {n} "
            f"(x: {fmt_shape(x.shape)}, h0: {fmt_shape(h0.shape)})"
        )
    hid = h0.shape[1]
    for arr, name, want, hint in (
        (wx, "wx", (hid, d), "(H×D with H = h0.shape[1], D = x.shape[2])"),
        (wh, "wh", (hid, hid), "(H×H with H = h0.shape[1])"),
        (b, "b", (hid,), "(H with H = h0.shape[1])"),
    ):
        if arr.shape != want:
            raise ValueError(
                f"{func}: {name} must have shape {fmt_shape(want)} {hint}, "
                f"got {fmt_shape(arr.shape)}"
            )
    return x, h0, wx, wh, b


def _check_backward_args(dh, cache, truncate, func):
    check_cache(cache, RNNCache, func)
    dh = check_dout(dh, cache.h.shape, func, name="dh")
    if truncate is not None:
        truncate = check_int(truncate, "truncate", func, minimum=0)
    return dh, truncate


def rnn_forward(x, h0, wx, wh, b):
    """Run a tanh RNN over a batch of sequences.

    Parameters
    ----------
    x : array_like of shape (N, T, D)
        Inputs, batch first: ``x[:, t]`` is the input at step ``t``. ``N = 0`` gives an
        empty ``h`` (and zero weight gradients); ``T = 0`` and ``D = 0`` raise
        ``ValueError``.
    h0 : array_like of shape (N, H)
        Initial hidden state; ``H = 0`` raises ``ValueError``.
    wx : array_like of shape (H, D)
        Input-to-hidden weights.
    wh : array_like of shape (H, H)
        Hidden-to-hidden weights.
    b : array_like of shape (H,)
        Bias.

    Returns
    -------
    h : ndarray of shape (N, T, H)
        Every hidden state, ``h[:, t] = tanh(x[:, t] @ wx.T + h[:, t-1] @ wh.T + b)``
        with ``h[:, -1]`` read as ``h0``; dtype ``np.result_type`` of the inputs.
    cache : RNNCache
        ``x``, ``h0``, ``wx``, ``wh``, a copy of ``h`` (the caller may write into the
        returned one) and the bias dtype.
    """
    x, h0, wx, wh, b = _check_rnn_args(x, h0, wx, wh, b, "rnn_forward")
    dtype = np.result_type(x, h0, wx, wh, b)
    n, steps, d = x.shape
    hid = h0.shape[1]
    whT = wh.T.astype(dtype, copy=False)
    # input and bias terms of every step in one product; the buffer then becomes h,
    # step by step (few large temporaries: fresh large arrays cost page faults)
    h = x.reshape(n * steps, d).astype(dtype, copy=False) @ wx.T.astype(dtype, copy=False)
    h = h.reshape(n, steps, hid)  # (N, T, H)
    h += b.astype(dtype, copy=False)
    z = np.empty((n, hid), dtype=dtype)
    prev = h0.astype(dtype, copy=False)
    for t in range(steps):
        np.matmul(prev, whT, out=z)
        prev = h[:, t]
        prev += z
        np.tanh(prev, out=prev)
    return h, RNNCache(x, h0, wx, wh, h.copy(), b.dtype)


def _sweep(dh, cache, truncate, record_totals=False):
    """The backward sweep: each step's δ_t = ∂L/∂z_t (N, T, H) and the gradient of h0.

    With ``record_totals`` also returns the gradient reaching each hidden state,
    ``(T, N, H)``: the total one, or under truncation the sum of the packets alive there.
    """
    h = cache.h
    n, steps, hid = h.shape
    dtype = np.result_type(h, dh)
    wh = cache.wh.astype(dtype, copy=False)
    # deltas[:, t] first holds tanh' at step t, then δ_t (computed in place)
    deltas = np.multiply(h, h, dtype=dtype)  # (N, T, H)
    np.subtract(1.0, deltas, out=deltas)
    totals = np.empty((steps, n, hid), dtype=dtype) if record_totals else None
    if truncate is None or truncate >= steps - 1:
        carry = None  # gradient flowing from step t+1 into h_t
        for t in range(steps - 1, -1, -1):
            g = dh[:, t] if carry is None else carry + dh[:, t]
            if record_totals:
                totals[t] = g
            delta = deltas[:, t]
            delta *= g
            carry = delta @ wh
        return deltas, carry, totals
    # Truncated BPTT. A packet born at step t (the gradient dh[:, t]) lives from step t
    # back to step t - k. At most L = k + 1 packets are alive at once; packet t sits in
    # slot t % L of `live`, which the packet born at t + L vacated one step earlier (it
    # died there: its age would exceed k). Slots of packets never born hold zeros.
    k = truncate
    slots = k + 1
    live = np.zeros((slots, n, hid), dtype=dtype)  # (L, N, H)
    for s in range(steps - 1, -1, -1):
        live[s % slots] = dh[:, s]
        if record_totals:
            np.sum(live, axis=0, out=totals[s])
        live *= deltas[:, s]  # each packet's δ at step s
        np.sum(live, axis=0, out=deltas[:, s])
        # pass every packet on to h_{s-1}; the one born at s + k dies here and its slot
        # is overwritten by the packet born at s - 1 before it is read again
        live = (live.reshape(slots * n, hid) @ wh).reshape(slots, n, hid)
    # at s = 0 every live packet was born at t <= k, so all of them reach h0
    return deltas, live.sum(axis=0), totals


def _weight_grads(deltas, cache, dtype):
    """dx (N, T, D), dwx (H, D), dwh (H, H), db (H,) from the stacked δ's."""
    n, steps, hid = deltas.shape
    d = cache.x.shape[2]
    x = cache.x.astype(dtype, copy=False)
    h = cache.h
    flat = deltas.reshape(n * steps, hid)  # (N·T, H), row n·T + t is δ_t of sample n
    dx = (flat @ cache.wx.astype(dtype, copy=False)).reshape(n, steps, d)
    dwx = flat.T @ x.reshape(n * steps, d)
    # dwh = Σ_t δ_tᵀ h_{t-1}: pair row n·T + t with row n·T + t - 1 of h, remove the
    # pairs that cross from sample n-1 to sample n, and add the t = 0 terms with h0
    hflat = h.reshape(n * steps, hid)
    dwh = flat[1:].T @ hflat[:-1]
    if n > 1:
        dwh -= deltas[1:, 0].T @ h[:-1, -1]
    dwh += deltas[:, 0].T @ cache.h0.astype(dtype, copy=False)
    db = flat.sum(axis=0)
    return dx, dwx, dwh, db


def rnn_backward(dh, cache, truncate=None):
    """Backpropagation through time, full or truncated.

    Parameters
    ----------
    dh : array_like of shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : RNNCache
        The second value returned by :func:`rnn_forward`.
    truncate : int or None, default None
        ``None`` for full BPTT. An integer ``k >= 0`` truncates: the gradient fed in at
        step ``t`` reaches steps ``t, t-1, …, max(0, t-k)`` only, and ``h0`` only when
        ``t <= k``. ``k >= T-1`` equals full BPTT.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dwx : ndarray of shape (H, D)
    dwh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
        Each in the dtype of its input.
    """
    dh, truncate = _check_backward_args(dh, cache, truncate, "rnn_backward")
    deltas, dh0, _ = _sweep(dh, cache, truncate)
    dx, dwx, dwh, db = _weight_grads(deltas, cache, deltas.dtype)
    return (
        dx.astype(cache.x.dtype, copy=False),
        dh0.astype(cache.h0.dtype, copy=False),
        dwx.astype(cache.wx.dtype, copy=False),
        dwh.astype(cache.wh.dtype, copy=False),
        db.astype(cache.b_dtype, copy=False),
    )


def rnn_backward_per_step(dh, cache, truncate=None):
    """Each step's contribution to the weight and bias gradients.

    Treats the weights of step ``t`` as an independent copy ``wx_t, wh_t, b_t``; the
    gradient of the shared weights is the sum of the copies' gradients.

    Parameters
    ----------
    dh, cache, truncate
        As in :func:`rnn_backward`.

    Returns
    -------
    dwx_steps : ndarray of shape (T, H, D)
        ``dwx_steps[t] = δ_tᵀ x_t``.
    dwh_steps : ndarray of shape (T, H, H)
        ``dwh_steps[t] = δ_tᵀ h_{t-1}`` (``h_{-1} = h0``).
    db_steps : ndarray of shape (T, H)
        ``db_steps[t] = Σ_n δ_t[n]``.
        Sums over axis 0 equal ``dwx``, ``dwh``, ``db`` of :func:`rnn_backward`.
    """
    dh, truncate = _check_backward_args(dh, cache, truncate, "rnn_backward_per_step")
    deltas, _, _ = _sweep(dh, cache, truncate)
    dtype = deltas.dtype
    d_tm = deltas.transpose(1, 2, 0)  # (T, H, N)
    x_tm = cache.x.astype(dtype, copy=False).transpose(1, 0, 2)  # (T, N, D)
    hprev = np.concatenate(
        [cache.h0.astype(dtype, copy=False)[None], cache.h.transpose(1, 0, 2)[:-1]]
    )  # (T, N, H): h_{t-1}
    dwx_steps = d_tm @ x_tm
    dwh_steps = d_tm @ hprev
    db_steps = deltas.sum(axis=0)
    return (
        dwx_steps.astype(cache.wx.dtype, copy=False),
        dwh_steps.astype(cache.wh.dtype, copy=False),
        db_steps.astype(cache.b_dtype, copy=False),
    )


def rnn_hidden_grad_norms(dh, cache, truncate=None):
    """Norm of the gradient reaching each hidden state, under full or truncated BPTT.

    Parameters
    ----------
    dh : array_like of shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : RNNCache
        The second value returned by :func:`rnn_forward`.
    truncate : int or None, default None
        As in :func:`rnn_backward`: ``None`` for full BPTT; ``k >= 0`` counts at step
        ``s`` only the gradients fed in at steps ``s, …, min(T-1, s+k)``.

    Returns
    -------
    ndarray of shape (T,)
        ``‖∂L/∂h_t‖``, the Frobenius norm over batch and hidden units of ``dh[:, t]``
        plus everything that flows back into ``h_t`` from later steps (from at most
        ``truncate`` steps later when truncated).
    """
    dh, truncate = _check_backward_args(dh, cache, truncate, "rnn_hidden_grad_norms")
    _, _, totals = _sweep(dh, cache, truncate, record_totals=True)
    return np.sqrt(np.einsum("tnh,tnh->t", totals, totals))


def rnn_forward_loop(x, h0, wx, wh, b):
    """The RNN forward as a plain loop over steps (a test oracle).

    Same parameters, output and cache as :func:`rnn_forward`.
    """
    x, h0, wx, wh, b = _check_rnn_args(x, h0, wx, wh, b, "rnn_forward_loop")
    dtype = np.result_type(x, h0, wx, wh, b)
    n, steps, _ = x.shape
    h = np.empty((n, steps, h0.shape[1]), dtype=dtype)
    prev = h0
    for t in range(steps):
        h[:, t] = np.tanh(x[:, t] @ wx.T + prev @ wh.T + b)
        prev = h[:, t]
    return h, RNNCache(x, h0, wx, wh, h.copy(), b.dtype)


def rnn_backward_loop(dh, cache, truncate=None):
    """Full or truncated BPTT straight from the definition (a test oracle).

    For each birth step ``t`` separately, the gradient ``dh[:, t]`` is walked back from
    step ``t`` to step ``max(0, t - k)``; at each step ``s`` on the way its
    ``δ = g ⊙ (1 - h_s²)`` is added to the gradients of ``x_s``, ``wx``, ``wh``, ``b``,
    and passed on as ``δ @ wh`` to ``h_{s-1}``, which is ``h0`` when ``s = 0``.
    Costs O(T²) products; same parameters and returns as :func:`rnn_backward`.
    """
    dh, truncate = _check_backward_args(dh, cache, truncate, "rnn_backward_loop")
    x, h0, wx, wh, h = cache.x, cache.h0, cache.wx, cache.wh, cache.h
    steps = x.shape[1]
    k = steps if truncate is None else truncate
    dx = np.zeros(x.shape)
    dh0 = np.zeros(h0.shape)
    dwx = np.zeros(wx.shape)
    dwh = np.zeros(wh.shape)
    db = np.zeros(wh.shape[0])
    for t in range(steps):
        g = dh[:, t]
        for s in range(t, max(0, t - k) - 1, -1):
            delta = g * (1.0 - h[:, s] ** 2)
            h_before = h0 if s == 0 else h[:, s - 1]
            dx[:, s] += delta @ wx
            dwx += delta.T @ x[:, s]
            dwh += delta.T @ h_before
            db += delta.sum(axis=0)
            if s == 0:
                dh0 += delta @ wh
            else:
                g = delta @ wh  # used only if step s - 1 >= t - k is still in the loop
    return (
        dx.astype(x.dtype),
        dh0.astype(h0.dtype),
        dwx.astype(wx.dtype),
        dwh.astype(wh.dtype),
        db.astype(cache.b_dtype),
    )
