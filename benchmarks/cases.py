"""The benchmark cases: what is timed, on which inputs, against which PyTorch code.

Each case is a :class:`Case` row in :data:`CASES`; its ``prep(dtype, rng, torch)`` builds
the inputs once and returns a :class:`Prepared` holding closures that run one
forward+backward (mathgrad's, and one or more PyTorch variants), the GEMM FLOPs the op does
and the shapes of those GEMMs. Adding a case is one ``prep_*`` function and one row.
The loop (oracle) comparisons, on small sizes, are :func:`loop_cases`.

Nothing here times anything (that is ``timing.py``) or prints anything (``report.py``).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import mathgrad as mgd


@dataclass
class Prepared:
    mg: Callable[[], list]  # mathgrad forward+backward, returns the gradients (flat list)
    torch_fns: dict[str, Callable[[], list]] = field(default_factory=dict)
    flops: float | None = None  # forward+backward FLOPs of the GEMMs the op does
    gemms: list[tuple[int, int, int, int]] = field(default_factory=list)  # (M, K, N, count)
    note: str = ""


def flat(grads) -> list:
    out = []
    for g in grads if isinstance(grads, (tuple, list)) else [grads]:
        if isinstance(g, (tuple, list)):
            out.extend(flat(g))
        else:
            out.append(g)
    return out


def torch_grads(out, inputs, grad, reset=()):
    """``out.backward(grad)``, then the inputs' ``.grad`` (cleared, so nothing accumulates)."""
    out.backward(grad)
    grads = [t.grad for t in inputs]
    for t in (*inputs, *reset):
        t.grad = None
    return grads


def prep_conv(dtype, rng, torch, N, C, H, W, F, K, stride, pad) -> Prepared:
    conv2d_forward, conv2d_backward = mgd.conv2d_forward, mgd.conv2d_backward
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = (rng.standard_normal((F, C, K, K)) / math.sqrt(C * K * K)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    OH = (H + 2 * pad - K) // stride + 1
    OW = (W + 2 * pad - K) // stride + 1
    dy = rng.standard_normal((N, F, OH, OW)).astype(dtype)

    def mg():
        _, cache = conv2d_forward(x, w, b, stride=stride, padding=pad)
        return flat(conv2d_backward(dy, cache))

    p = Prepared(mg)
    ckk, m = C * K * K, N * OH * OW
    gemm = 2.0 * F * ckk * m
    p.flops = 3 * gemm  # forward, dw, dx (im2col form)
    p.gemms = [(F, ckk, m, 1), (F, m, ckk, 1), (ckk, F, m, 1)]
    if torch is not None:
        import torch.nn.functional as TF

        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        dyt = torch.from_numpy(dy)

        def tconv():
            y = TF.conv2d(xt, wt, bt, stride=stride, padding=pad)
            return torch_grads(y, (xt, wt, bt), dyt)

        p.torch_fns["F.conv2d"] = tconv
    return p


def prep_pool(dtype, rng, torch, shape, K, stride) -> Prepared:
    fwd, bwd = mgd.maxpool2d_forward, mgd.maxpool2d_backward
    x = rng.standard_normal(shape).astype(dtype)
    N, C, H, W = shape
    dy = rng.standard_normal((N, C, (H - K) // stride + 1, (W - K) // stride + 1)).astype(dtype)

    def mg():
        _, cache = fwd(x, K, stride)
        return flat(bwd(dy, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        xt = torch.from_numpy(x).requires_grad_()
        dyt = torch.from_numpy(dy)

        def tpool():
            y = TF.max_pool2d(xt, K, stride)
            return torch_grads(y, (xt,), dyt)

        p.torch_fns["F.max_pool2d"] = tpool
    return p


def prep_rnn(dtype, rng, torch, N, T, D, H) -> Prepared:
    rnn_forward, rnn_backward = mgd.rnn_forward, mgd.rnn_backward
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype) * 0.5
    wx = (rng.standard_normal((H, D)) / math.sqrt(D)).astype(dtype)
    wh = (rng.standard_normal((H, H)) / math.sqrt(H)).astype(dtype)
    b = (rng.standard_normal(H) * 0.1).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)

    def mg():
        _, cache = rnn_forward(x, h0, wx, wh, b)
        return flat(rnn_backward(dh, cache))

    p = Prepared(mg)
    # forward: x_t wx^T and h_{t-1} wh^T; backward: dwx, dx, dwh, dh_{t-1}: 3 of each.
    p.flops = 3 * (2.0 * N * T * D * H + 2.0 * N * T * H * H)
    p.gemms = [
        (N * T, D, H, 1),  # input projection, all steps at once
        (N, H, H, T),  # recurrent step h_{t-1} wh^T
        (N, H, H, T),  # backward step dz_t wh
        (H, N * T, D, 1),  # dwx
        (N * T, H, D, 1),  # dx
        (H, N * T, H, 1),  # dwh
    ]
    if torch is not None:
        xt, h0t, wxt, wht, bt = (torch.from_numpy(a).requires_grad_() for a in (x, h0, wx, wh, b))
        dht = torch.from_numpy(dh)

        def tloop():
            xp = xt @ wxt.T + bt
            h = h0t
            hs = []
            for t in range(T):
                h = torch.tanh(xp[:, t] + h @ wht.T)
                hs.append(h)
            out = torch.stack(hs, 1)
            return torch_grads(out, (xt, h0t, wxt, wht, bt), dht)

        p.torch_fns["tanh loop"] = tloop

        tdtype = getattr(torch, np.dtype(dtype).name)
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=tdtype)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(wx))
            rnn.weight_hh_l0.copy_(torch.from_numpy(wh))
            rnn.bias_ih_l0.copy_(torch.from_numpy(b))
            rnn.bias_hh_l0.zero_()
        h0_3 = torch.from_numpy(h0[None].copy()).requires_grad_()
        params = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0)

        def tmodule():
            out, _ = rnn(xt, h0_3)
            gx, gh0, gwx, gwh, gb = torch_grads(
                out, (xt, h0_3, *params), dht, reset=(rnn.bias_hh_l0,)
            )
            return [gx, gh0[0], gwx, gwh, gb]

        p.torch_fns["nn.RNN"] = tmodule
    return p


def prep_ce(dtype, rng, torch, N, K) -> Prepared:
    fwd, bwd = mgd.cross_entropy_forward, mgd.cross_entropy_backward
    z = (rng.standard_normal((N, K)) * 3).astype(dtype)
    y = rng.integers(0, K, N)

    def mg():
        _, cache = fwd(z, y)
        return flat(bwd(1.0, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        zt = torch.from_numpy(z).requires_grad_()
        yt = torch.from_numpy(y.astype(np.int64))

        def tce():
            loss = TF.cross_entropy(zt, yt)
            return torch_grads(loss, (zt,), None)

        p.torch_fns["F.cross_entropy"] = tce
    return p


def prep_mlp(dtype, rng, torch, sizes, N) -> Prepared:
    MLP = mgd.MLP
    net0 = MLP.init(sizes, "sigmoid", 0, dtype=dtype)
    weights, biases = net0.weights, net0.biases
    note = "weights from MLP.init"
    net = MLP(weights, biases, activation="sigmoid")
    x = rng.standard_normal((N, sizes[0])).astype(dtype)
    g = rng.standard_normal((N, sizes[-1])).astype(dtype)

    def mg():
        net.forward(x)
        dws, dbs = net.backward(g)
        return [a for pair in zip(dws, dbs, strict=True) for a in pair]

    p = Prepared(mg, note=note)
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    # The products MLP does: forward and dW for every layer, dx for every layer but the
    # first (MLP.backward does not compute the gradient of the input x).
    p.flops = sum(3 * 2.0 * N * i * o for i, o in pairs) - 2.0 * N * pairs[0][0] * pairs[0][1]
    for li, (i, o) in enumerate(pairs):
        p.gemms += [(N, i, o, 1), (o, N, i, 1)] + ([(N, o, i, 1)] if li else [])
    if torch is not None:
        tdtype = getattr(torch, np.dtype(dtype).name)
        layers = []
        for li, (i, o) in enumerate(pairs):
            lin = torch.nn.Linear(i, o, dtype=tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(weights[li]))
                lin.bias.copy_(torch.from_numpy(biases[li]))
            layers.append(lin)
            if li < len(pairs) - 1:
                layers.append(torch.nn.Sigmoid())
        seq = torch.nn.Sequential(*layers)
        params = [prm for lin in layers[::2] for prm in (lin.weight, lin.bias)]
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)

        def tmlp():
            return torch_grads(seq(xt), params, gt)

        p.torch_fns["nn.Sequential"] = tmlp
    return p


def prep_batchnorm(dtype, rng, torch, shape) -> Prepared:
    x = rng.standard_normal(shape).astype(dtype)
    gamma = rng.standard_normal(shape[1]).astype(dtype)
    beta = rng.standard_normal(shape[1]).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)

    def mg():
        _, cache = mgd.batchnorm_forward(x, gamma, beta)
        return flat(mgd.batchnorm_backward(dy, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        xt, gt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, gamma, beta))
        dyt = torch.from_numpy(dy)

        def tbn():
            y = TF.batch_norm(xt, None, None, gt, bt, training=True)
            return torch_grads(y, (xt, gt, bt), dyt)

        p.torch_fns["F.batch_norm"] = tbn
    return p


def prep_layernorm(dtype, rng, torch, shape) -> Prepared:
    d = shape[-1]
    x = rng.standard_normal(shape).astype(dtype)
    gamma = rng.standard_normal(d).astype(dtype)
    beta = rng.standard_normal(d).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)

    def mg():
        _, cache = mgd.layernorm_forward(x, gamma, beta)
        return flat(mgd.layernorm_backward(dy, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        xt, gt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, gamma, beta))
        dyt = torch.from_numpy(dy)

        def tln():
            y = TF.layer_norm(xt, (d,), gt, bt)
            return torch_grads(y, (xt, gt, bt), dyt)

        p.torch_fns["F.layer_norm"] = tln
    return p


def prep_dropout(dtype, rng, torch, shape, drop) -> Prepared:
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)

    def mg():
        _, cache = mgd.dropout_forward(x, drop, seed=0)
        return flat(mgd.dropout_backward(dy, cache))

    p = Prepared(mg, note="masks differ (different generators): the gradients are not compared")
    if torch is not None:
        import torch.nn.functional as TF

        xt = torch.from_numpy(x).requires_grad_()
        dyt = torch.from_numpy(dy)

        def tdrop():
            y = TF.dropout(xt, drop, training=True)
            return torch_grads(y, (xt,), dyt)

        p.torch_fns["F.dropout"] = tdrop
    return p


def prep_avgpool(dtype, rng, torch, shape, K, stride) -> Prepared:
    x = rng.standard_normal(shape).astype(dtype)
    N, C, H, W = shape
    dy = rng.standard_normal((N, C, (H - K) // stride + 1, (W - K) // stride + 1)).astype(dtype)

    def mg():
        _, cache = mgd.avgpool2d_forward(x, K, stride)
        return flat(mgd.avgpool2d_backward(dy, cache))

    p = Prepared(mg)
    if torch is not None:
        import torch.nn.functional as TF

        xt = torch.from_numpy(x).requires_grad_()
        dyt = torch.from_numpy(dy)

        def tpool():
            y = TF.avg_pool2d(xt, K, stride)
            return torch_grads(y, (xt,), dyt)

        p.torch_fns["F.avg_pool2d"] = tpool
    return p


def prep_lstm(dtype, rng, torch, N, T, D, H) -> Prepared:
    lstm_forward, lstm_backward = mgd.lstm_forward, mgd.lstm_backward
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = (rng.standard_normal((N, H)) * 0.5).astype(dtype)
    c0 = (rng.standard_normal((N, H)) * 0.5).astype(dtype)
    wx = (rng.standard_normal((4 * H, D)) / math.sqrt(D)).astype(dtype)
    wh = (rng.standard_normal((4 * H, H)) / math.sqrt(H)).astype(dtype)
    b = (rng.standard_normal(4 * H) * 0.1).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)

    def mg():
        _, cache = lstm_forward(x, h0, c0, wx, wh, b)
        return flat(lstm_backward(dh, cache))

    p = Prepared(mg)
    # as the RNN with 4H gate rows: forward x wx^T, h wh^T; backward dwx, dx, dwh, dh_{t-1}
    p.flops = 3 * (2.0 * N * T * D * 4 * H + 2.0 * N * T * H * 4 * H)
    p.gemms = [
        (N * T, D, 4 * H, 1),  # input projection, all steps at once
        (N, H, 4 * H, T),  # recurrent step h_{t-1} wh^T, four gates at once
        (N, 4 * H, H, T),  # backward step da_t wh
        (4 * H, N * T, D, 1),  # dwx
        (N * T, 4 * H, D, 1),  # dx
        (4 * H, N * T, H, 1),  # dwh
    ]
    if torch is not None:
        tdtype = getattr(torch, np.dtype(dtype).name)
        lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=tdtype)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(torch.from_numpy(wx))
            lstm.weight_hh_l0.copy_(torch.from_numpy(wh))
            lstm.bias_ih_l0.copy_(torch.from_numpy(b))
            lstm.bias_hh_l0.zero_()
        xt = torch.from_numpy(x).requires_grad_()
        h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
        c0t = torch.from_numpy(c0[None].copy()).requires_grad_()
        dht = torch.from_numpy(dh)
        params = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0)

        def tmodule():
            out, _ = lstm(xt, (h0t, c0t))
            gx, gh0, gc0, gwx, gwh, gb = torch_grads(
                out, (xt, h0t, c0t, *params), dht, reset=(lstm.bias_hh_l0,)
            )
            return [gx, gh0[0], gc0[0], gwx, gwh, gb]

        p.torch_fns["nn.LSTM"] = tmodule
    return p


def prep_attention(dtype, rng, torch, N, heads, T, d, causal) -> Prepared:
    attention_forward, attention_backward = mgd.attention_forward, mgd.attention_backward
    q, k, v, dout = (rng.standard_normal((N, heads, T, d)).astype(dtype) for _ in range(4))

    def mg():
        _, cache = attention_forward(q, k, v, causal=causal)
        return flat(attention_backward(dout, cache))

    p = Prepared(mg)
    # forward q k^T, p v; backward dp = dout v^T, dv = p^T dout, dq = ds k, dk = ds^T q
    p.flops = 6 * 2.0 * N * heads * T * T * d
    p.gemms = [(T, d, T, 2 * N * heads), (T, T, d, 4 * N * heads)]  # q k^T, dout v^T; the rest
    if torch is not None:
        qt, kt, vt = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
        dt = torch.from_numpy(dout)
        sdpa = torch.nn.functional.scaled_dot_product_attention

        def tsdpa():
            out = sdpa(qt, kt, vt, is_causal=causal)
            return torch_grads(out, (qt, kt, vt), dt)

        p.torch_fns["sdpa"] = tsdpa
    return p


def prep_embedding(dtype, rng, torch, V, E, shape) -> Prepared:
    embedding_forward, embedding_backward = mgd.embedding_forward, mgd.embedding_backward
    ids = rng.integers(0, V, size=shape)
    weight = rng.standard_normal((V, E)).astype(dtype)
    dout = rng.standard_normal((*shape, E)).astype(dtype)

    def mg():
        _, cache = embedding_forward(ids, weight)
        return flat(embedding_backward(dout, cache))

    p = Prepared(mg)
    if torch is not None:
        idt = torch.from_numpy(ids)
        wt = torch.from_numpy(weight).requires_grad_()
        dt = torch.from_numpy(dout)

        def temb():
            out = torch.nn.functional.embedding(idt, wt)
            return torch_grads(out, (wt,), dt)

        p.torch_fns["F.embedding"] = temb
    return p


def prep_train_step(dtype, rng, torch, N) -> Prepared:
    """One training step of the book's digits CNN (docs/training.md, ``cnn_forward``):
    3x3 conv 1->16 (pad 1) on 8x8 images, ReLU, 2x2 max pool, linear 256->64, ReLU, linear
    64->10, mean cross-entropy; backward; one Adam step (lr 3e-3). Random images and
    labels of the digits' shapes. The gradients compared are those of the first step; the
    parameters then move on with every timed step, the same number of steps for both."""
    x = rng.standard_normal((N, 1, 8, 8)).astype(dtype)
    y = rng.integers(0, 10, N)
    shapes = [((16, 1, 3, 3), 9), ((64, 256), 256), ((10, 64), 64)]
    params = []
    for shape, fan_in in shapes:
        params.append((rng.standard_normal(shape) * math.sqrt(2 / fan_in)).astype(dtype))
        params.append((0.1 * rng.standard_normal(shape[0])).astype(dtype))
    init = [a.copy() for a in params]  # torch starts from the same values
    opt = mgd.Adam(params, lr=3e-3)

    def mg():
        w1, b1, w2, b2, w3, b3 = params
        z1, conv = mgd.conv2d_forward(x, w1, b1, padding=1)  # (N, 16, 8, 8)
        a1, relu1 = mgd.relu_forward(z1)
        p1, pool = mgd.maxpool2d_forward(a1, 2)  # (N, 16, 4, 4)
        z2, fc1 = mgd.linear_forward(p1.reshape(N, -1), w2, b2)  # (N, 64)
        a2, relu2 = mgd.relu_forward(z2)
        logits, fc2 = mgd.linear_forward(a2, w3, b3)  # (N, 10)
        _, ce = mgd.cross_entropy_forward(logits, y)
        da2, dw3, db3 = mgd.linear_backward(mgd.cross_entropy_backward(1.0, ce), fc2)
        dflat, dw2, db2 = mgd.linear_backward(mgd.relu_backward(da2, relu2), fc1)
        da1 = mgd.maxpool2d_backward(dflat.reshape(p1.shape), pool)
        _, dw1, db1 = mgd.conv2d_backward(mgd.relu_backward(da1, relu1), conv)
        grads = [dw1, db1, dw2, db2, dw3, db3]
        opt.step(grads)
        return grads

    p = Prepared(mg, note=f"batch {N}; grads of the first step compared")
    if torch is not None:
        import torch.nn.functional as TF

        tdtype = getattr(torch, np.dtype(dtype).name)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1, dtype=tdtype),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(256, 64, dtype=tdtype),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 10, dtype=tdtype),
        )
        tparams = [
            prm
            for layer in model
            if hasattr(layer, "weight")
            for prm in (layer.weight, layer.bias)
        ]
        with torch.no_grad():
            for prm, a in zip(tparams, init, strict=True):
                prm.copy_(torch.from_numpy(a))
        topt = torch.optim.Adam(tparams, lr=3e-3)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

        def tstep():
            loss = TF.cross_entropy(model(xt), yt)
            loss.backward()
            grads = [prm.grad for prm in tparams]
            topt.step()
            topt.zero_grad(set_to_none=True)
            return grads

        p.torch_fns["nn.Sequential + Adam"] = tstep
    return p


@dataclass
class Case:
    key: str
    label: str
    prep: Callable  # (dtype, rng, torch) -> Prepared
    gemm_bound: bool = False
    is_conv: bool = False


CASES = [
    Case(
        "conv1",
        "conv2d N32 C16 32x32 F32 3x3 s1 p1",
        lambda d, r, t: prep_conv(d, r, t, 32, 16, 32, 32, 32, 3, 1, 1),
        True,
        True,
    ),
    Case(
        "conv2",
        "conv2d N16 C32 16x16 F64 3x3 s2 p1",
        lambda d, r, t: prep_conv(d, r, t, 16, 32, 16, 16, 64, 3, 2, 1),
        True,
        True,
    ),
    Case(
        "pool1",
        "maxpool 2x2/2 (32,32,32,32)",
        lambda d, r, t: prep_pool(d, r, t, (32, 32, 32, 32), 2, 2),
    ),
    Case(
        "pool2",
        "maxpool 3x3/2 (16,32,33,33)",
        lambda d, r, t: prep_pool(d, r, t, (16, 32, 33, 33), 3, 2),
    ),
    Case(
        "rnn",
        "RNN N32 T64 D64 H128 full BPTT",
        lambda d, r, t: prep_rnn(d, r, t, 32, 64, 64, 128),
        True,
    ),
    Case(
        "ce",
        "softmax CE N1024 K1000 int labels",
        lambda d, r, t: prep_ce(d, r, t, 1024, 1000),
    ),
    Case(
        "mlp",
        "MLP 784-256-256-10 sigmoid N256",
        lambda d, r, t: prep_mlp(d, r, t, [784, 256, 256, 10], 256),
        True,
    ),
    Case(
        "bn4d",
        "batchnorm (64,32,32,32) training",
        lambda d, r, t: prep_batchnorm(d, r, t, (64, 32, 32, 32)),
    ),
    Case(
        "bn2d",
        "batchnorm (1024,512) training",
        lambda d, r, t: prep_batchnorm(d, r, t, (1024, 512)),
    ),
    Case(
        "ln",
        "layernorm (64,128,512) over 512",
        lambda d, r, t: prep_layernorm(d, r, t, (64, 128, 512)),
    ),
    Case(
        "drop",
        "dropout p=0.5 (1024,1024)",
        lambda d, r, t: prep_dropout(d, r, t, (1024, 1024), 0.5),
    ),
    Case(
        "avgpool",
        "avgpool 2x2/2 (32,32,32,32)",
        lambda d, r, t: prep_avgpool(d, r, t, (32, 32, 32, 32), 2, 2),
    ),
    Case(
        "lstm",
        "LSTM N32 T64 D64 H128",
        lambda d, r, t: prep_lstm(d, r, t, 32, 64, 64, 128),
        True,
    ),
    Case(
        "attn",
        "attention N8 h8 T128 d64",
        lambda d, r, t: prep_attention(d, r, t, 8, 8, 128, 64, False),
        True,
    ),
    Case(
        "attn-causal",
        "attention causal N8 h8 T128 d64",
        lambda d, r, t: prep_attention(d, r, t, 8, 8, 128, 64, True),
        True,
    ),
    Case(
        "emb",
        "embedding V10000 E256 ids 32x128",
        lambda d, r, t: prep_embedding(d, r, t, 10000, 256, (32, 128)),
    ),
    Case(
        "train",
        "digits CNN training step, batch 32, Adam",
        lambda d, r, t: prep_train_step(d, r, t, 32),
    ),
]


@dataclass
class LoopCase:
    """A vectorised forward+backward and its loop (oracle) version, on a small size."""

    label: str
    vec: Callable[[], list]
    loop: Callable[[], list]
    loop_names: str


def loop_cases(dtype) -> list[LoopCase]:
    """The loop (oracle) versions against the vectorised ones, on small inputs."""
    cases = []
    rng = np.random.default_rng(1)
    # conv2d N=2, C=3, 8x8, F=4, 3x3, stride 1, pad 1
    x = rng.standard_normal((2, 3, 8, 8)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    dy = rng.standard_normal((2, 4, 8, 8)).astype(dtype)

    def conv(f, bk):
        return lambda: flat(bk(dy, f(x, w, b, stride=1, padding=1)[1]))

    cases.append(
        LoopCase(
            "conv2d N2 C3 8x8 F4 3x3 p1",
            conv(mgd.conv2d_forward, mgd.conv2d_backward),
            conv(mgd.conv2d_forward_loop, mgd.conv2d_backward_loop),
            "conv2d_forward_loop+conv2d_backward_loop",
        )
    )

    # maxpool 2x2/2 on (2, 3, 8, 8)
    xp = rng.standard_normal((2, 3, 8, 8)).astype(dtype)
    dyp = rng.standard_normal((2, 3, 4, 4)).astype(dtype)

    def pool(f, bk):
        return lambda: flat(bk(dyp, f(xp, 2, 2)[1]))

    cases.append(
        LoopCase(
            "maxpool 2x2/2 (2,3,8,8)",
            pool(mgd.maxpool2d_forward, mgd.maxpool2d_backward),
            pool(mgd.maxpool2d_forward_loop, mgd.maxpool2d_backward_loop),
            "maxpool2d_forward_loop+maxpool2d_backward_loop",
        )
    )

    # RNN N=2, T=8, D=4, H=5
    xr = rng.standard_normal((2, 8, 4)).astype(dtype)
    h0 = rng.standard_normal((2, 5)).astype(dtype)
    wx = rng.standard_normal((5, 4)).astype(dtype) * 0.5
    wh = rng.standard_normal((5, 5)).astype(dtype) * 0.5
    br = rng.standard_normal(5).astype(dtype)
    dh = rng.standard_normal((2, 8, 5)).astype(dtype)

    def rnn(f, bk):
        return lambda: flat(bk(dh, f(xr, h0, wx, wh, br)[1]))

    cases.append(
        LoopCase(
            "RNN N2 T8 D4 H5",
            rnn(mgd.rnn_forward, mgd.rnn_backward),
            rnn(mgd.rnn_forward_loop, mgd.rnn_backward_loop),
            "rnn_forward_loop+rnn_backward_loop",
        )
    )

    # LSTM N=2, T=8, D=4, H=5
    c0 = rng.standard_normal((2, 5)).astype(dtype)
    wxl = rng.standard_normal((20, 4)).astype(dtype) * 0.5
    whl = rng.standard_normal((20, 5)).astype(dtype) * 0.5
    bl = rng.standard_normal(20).astype(dtype)

    def lstm(f, bk):
        return lambda: flat(bk(dh, f(xr, h0, c0, wxl, whl, bl)[1]))

    cases.append(
        LoopCase(
            "LSTM N2 T8 D4 H5",
            lstm(mgd.lstm_forward, mgd.lstm_backward),
            lstm(mgd.lstm_forward_loop, mgd.lstm_backward_loop),
            "lstm_forward_loop+lstm_backward_loop",
        )
    )

    # causal attention (2, 2, 8, 4)
    qa, ka, va, da = (rng.standard_normal((2, 2, 8, 4)).astype(dtype) for _ in range(4))

    def attn(f, bk):
        return lambda: flat(bk(da, f(qa, ka, va, causal=True)[1]))

    cases.append(
        LoopCase(
            "attention causal (2,2,8,4)",
            attn(mgd.attention_forward, mgd.attention_backward),
            attn(mgd.attention_forward_loop, mgd.attention_backward_loop),
            "attention_forward_loop+attention_backward_loop",
        )
    )
    return cases
