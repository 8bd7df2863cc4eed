"""One registry of every op pair, driving the checks that every op must pass.

A new op is one new row in ``OPS``; ``test_every_forward_has_a_row`` fails until it has one.
Each row draws its inputs (float64, away from kinks and ties) and its options; the tests
run over every row:

* the float64 gradient check at 1e-7,
* the same check fails when the backward is off by a factor 1.001 (so the check has power),
* float32 input stays float32 and integer input becomes float64,
* neither forward nor backward modifies an argument,
* a NaN or an infinity at any entry of an input (of a row the embedding looks up) or of
  ``dout`` raises ``ValueError``, with no warning first,
* inputs, options and ``dout`` given as an ndarray subclass, an ``np.matrix`` (2-D ones),
  an unmasked masked array or in big-endian byte order give plain arrays equal to the
  plain results (and the dtype's precision); a masked entry raises ``TypeError``,
* a loss (a 0-d output) is a Python float, or a 0-d float32 array for float32 logits,
* writing into the returned array does not change what the backward returns.

The public functions that are not op pairs get the same subclass checks from ``NON_OPS``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import mathgrad as mg


@dataclass
class Op:
    name: str
    forward: Any
    backward: Any
    make: Any  # rng -> tuple of float64 input arrays
    options: dict = field(default_factory=dict)
    int_ok: bool = True  # integer inputs meaningful (no ties/kinks issues for dtype checks)


def _distinct(rng, shape, spacing=0.05):
    """Values with no ties: a shuffled grid spaced well apart relative to eps."""
    n = int(np.prod(shape))
    vals = (np.arange(n) - n / 2) * spacing
    return rng.permutation(vals).reshape(shape)


def _away_from_zero(rng, shape, gap=0.1):
    z = rng.standard_normal(shape)
    return np.where(np.abs(z) < gap, np.sign(z + 1e-12) * gap + z, z)


# MLP as an op pair: forward(x, w0, b0, w1, b1, ...) -> logits
def _mlp_pair(activation, n_layers):
    def mlp_forward(x, *params):
        ws, bs = list(params[0::2]), list(params[1::2])
        net = mg.MLP(ws, bs, activation=activation)
        return net.forward(x), net

    def mlp_backward(dlogits, net):
        dws, dbs = net.backward(dlogits)
        grads = [None] * (2 * len(dws))
        grads[0::2], grads[1::2] = dws, dbs
        dx = net.deltas[0] @ net.weights[0]  # gradient reaching the input
        return (dx, *grads)

    mlp_forward.__name__ = f"MLP[{activation}, {n_layers} layers].forward"
    return mlp_forward, mlp_backward


def _mlp_inputs(sizes, activation):
    def make(rng):
        arrays = [rng.standard_normal((3, sizes[0]))]
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            w = rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)
            b = rng.standard_normal(fan_out) * 0.1
            arrays += [w, b]
        if activation == "relu":
            # shift biases so no pre-activation sits within reach of the kink at 0
            arrays = _relu_safe(arrays, rng)
        return tuple(arrays)

    return make


def _relu_safe(arrays, rng):
    x, params = arrays[0], list(arrays[1:])
    a = x
    for layer in range(len(params) // 2 - 1):
        w, b = params[2 * layer], params[2 * layer + 1]
        z = a @ w.T + b
        close = np.min(np.abs(z), axis=0) < 0.05
        b = b + close * 0.2
        params[2 * layer + 1] = b
        a = np.maximum(a @ w.T + b, 0)
    return (x, *params)


def _embedding_forward(weight, *, ids):
    """embedding_forward with the table first, as the registry passes inputs positionally."""
    return mg.embedding_forward(ids, weight)


_embedding_forward.__name__ = "embedding_forward"  # the row covers the public forward


def _ops() -> list[Op]:
    ops = [
        Op(
            "softmax",
            mg.softmax_forward,
            mg.softmax_backward,
            lambda r: (r.standard_normal((4, 5)),),
        ),
        Op(
            "softmax axis=0",
            mg.softmax_forward,
            mg.softmax_backward,
            lambda r: (r.standard_normal((3, 4, 2)),),
            {"axis": 0},
        ),
        Op(
            "cross_entropy labels",
            mg.cross_entropy_forward,
            mg.cross_entropy_backward,
            lambda r: (r.standard_normal((5, 4)),),
            {"target": np.array([0, 3, 1, 1, 2])},
        ),
        Op(
            "cross_entropy probs",
            mg.cross_entropy_forward,
            mg.cross_entropy_backward,
            lambda r: (r.standard_normal((3, 4)),),
            {"target": np.array([[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 0], [0.5, 0, 0.5, 0]])},
        ),
        Op(
            "sigmoid",
            mg.sigmoid_forward,
            mg.sigmoid_backward,
            lambda r: (r.standard_normal((3, 4)) * 3,),
        ),
        Op(
            "binary_cross_entropy",
            mg.binary_cross_entropy_forward,
            mg.binary_cross_entropy_backward,
            lambda r: (r.standard_normal((2, 3, 2)),),
            {"target": np.array([[[0, 1], [1, 0], [0.3, 0.7]], [[1, 1], [0, 0], [0.5, 0.2]]])},
        ),
        Op("tanh", mg.tanh_forward, mg.tanh_backward, lambda r: (r.standard_normal((2, 3, 4)),)),
        Op(
            "relu",
            mg.relu_forward,
            mg.relu_backward,
            lambda r: (_away_from_zero(r, (4, 6)),),
            int_ok=False,
        ),
        Op(
            "linear",
            mg.linear_forward,
            mg.linear_backward,
            lambda r: (r.standard_normal((4, 3)), r.standard_normal((5, 3)), r.standard_normal(5)),
        ),
        Op(
            "conv2d",
            mg.conv2d_forward,
            mg.conv2d_backward,
            lambda r: (
                r.standard_normal((2, 3, 6, 5)),
                r.standard_normal((4, 3, 3, 2)),
                r.standard_normal(4),
            ),
        ),
        Op(
            "conv2d stride 2 pad 1",
            mg.conv2d_forward,
            mg.conv2d_backward,
            lambda r: (
                r.standard_normal((2, 2, 7, 7)),
                r.standard_normal((3, 2, 3, 3)),
                r.standard_normal(3),
            ),
            {"stride": 2, "padding": 1},
        ),
        Op(
            "conv2d stride (1,2) pad (2,0)",
            mg.conv2d_forward,
            mg.conv2d_backward,
            lambda r: (
                r.standard_normal((1, 2, 5, 6)),
                r.standard_normal((2, 2, 2, 3)),
                r.standard_normal(2),
            ),
            {"stride": (1, 2), "padding": (2, 0)},
        ),
        Op(
            "maxpool2d 2x2",
            mg.maxpool2d_forward,
            mg.maxpool2d_backward,
            lambda r: (_distinct(r, (2, 3, 6, 6)),),
            {"kernel_size": 2},
            int_ok=False,
        ),
        Op(
            "maxpool2d 3x3/2 overlapping",
            mg.maxpool2d_forward,
            mg.maxpool2d_backward,
            lambda r: (_distinct(r, (2, 2, 7, 9)),),
            {"kernel_size": 3, "stride": 2},
            int_ok=False,
        ),
        Op(
            "maxpool2d (2,3)/(1,2)",
            mg.maxpool2d_forward,
            mg.maxpool2d_backward,
            lambda r: (_distinct(r, (1, 2, 5, 7)),),
            {"kernel_size": (2, 3), "stride": (1, 2)},
            int_ok=False,
        ),
        Op(
            "batchnorm 2-D",
            mg.batchnorm_forward,
            mg.batchnorm_backward,
            lambda r: (r.standard_normal((5, 3)), r.standard_normal(3), r.standard_normal(3)),
        ),
        Op(
            "batchnorm 4-D",
            mg.batchnorm_forward,
            mg.batchnorm_backward,
            lambda r: (
                r.standard_normal((2, 3, 3, 2)),
                r.standard_normal(3),
                r.standard_normal(3),
            ),
        ),
        Op(
            "layernorm 3-D",
            mg.layernorm_forward,
            mg.layernorm_backward,
            lambda r: (r.standard_normal((2, 3, 4)), r.standard_normal(4), r.standard_normal(4)),
        ),
        Op(
            "layernorm 1-D",
            mg.layernorm_forward,
            mg.layernorm_backward,
            lambda r: (r.standard_normal(5), r.standard_normal(5), r.standard_normal(5)),
        ),
        Op(
            "dropout p=0.3",
            mg.dropout_forward,
            mg.dropout_backward,
            lambda r: (r.standard_normal((4, 6)),),
            {"p": 0.3, "seed": 7},
        ),
        Op(
            "dropout p=0 (identity)",
            mg.dropout_forward,
            mg.dropout_backward,
            lambda r: (r.standard_normal((3, 4)),),
            {"p": 0.0, "seed": 7},
        ),
        Op(
            "dropout training=False (identity)",
            mg.dropout_forward,
            mg.dropout_backward,
            lambda r: (r.standard_normal((3, 4)),),
            {"p": 0.5, "seed": 7, "training": False},
        ),
        Op(
            "avgpool2d 2x2",
            mg.avgpool2d_forward,
            mg.avgpool2d_backward,
            lambda r: (r.standard_normal((2, 3, 6, 5)),),
            {"kernel_size": 2},
        ),
        Op(
            "avgpool2d 3x3/2 overlapping",
            mg.avgpool2d_forward,
            mg.avgpool2d_backward,
            lambda r: (r.standard_normal((2, 2, 7, 8)),),
            {"kernel_size": 3, "stride": 2},
        ),
        Op(
            "avgpool2d (2,3)/(3,1) gaps and overlaps",
            mg.avgpool2d_forward,
            mg.avgpool2d_backward,
            lambda r: (r.standard_normal((1, 2, 8, 7)),),
            {"kernel_size": (2, 3), "stride": (3, 1)},
        ),
        Op(
            "rnn",
            mg.rnn_forward,
            mg.rnn_backward,
            lambda r: (
                r.standard_normal((3, 5, 4)),
                r.standard_normal((3, 6)) * 0.5,
                r.standard_normal((6, 4)) * 0.4,
                r.standard_normal((6, 6)) * 0.4,
                r.standard_normal(6) * 0.1,
            ),
        ),
        Op(
            "rnn T=1",
            mg.rnn_forward,
            mg.rnn_backward,
            lambda r: (
                r.standard_normal((2, 1, 3)),
                r.standard_normal((2, 2)),
                r.standard_normal((2, 3)),
                r.standard_normal((2, 2)),
                r.standard_normal(2),
            ),
        ),
        Op(
            "lstm",
            mg.lstm_forward,
            mg.lstm_backward,
            lambda r: (
                r.standard_normal((2, 4, 3)),
                r.standard_normal((2, 5)) * 0.5,
                r.standard_normal((2, 5)) * 0.5,
                r.standard_normal((20, 3)) * 0.5,
                r.standard_normal((20, 5)) * 0.5,
                r.standard_normal(20) * 0.3,
            ),
        ),
        Op(
            "lstm T=1",
            mg.lstm_forward,
            mg.lstm_backward,
            lambda r: (
                r.standard_normal((3, 1, 2)),
                r.standard_normal((3, 2)),
                r.standard_normal((3, 2)),
                r.standard_normal((8, 2)),
                r.standard_normal((8, 2)),
                r.standard_normal(8),
            ),
        ),
        Op(
            "attention Tq != Tk",
            mg.attention_forward,
            mg.attention_backward,
            lambda r: (
                r.standard_normal((2, 3, 4)),
                r.standard_normal((2, 5, 4)),
                r.standard_normal((2, 5, 3)),
            ),
        ),
        Op(
            "attention causal, 2 leading axes",
            mg.attention_forward,
            mg.attention_backward,
            lambda r: (
                r.standard_normal((2, 2, 4, 3)),
                r.standard_normal((2, 2, 4, 3)),
                r.standard_normal((2, 2, 4, 5)),
            ),
            {"causal": True},
        ),
        Op(
            "embedding, repeated ids",
            _embedding_forward,
            mg.embedding_backward,
            lambda r: (r.standard_normal((6, 3)),),
            {"ids": np.array([[0, 2, 2], [5, 0, 2]])},
        ),
    ]
    for activation in ("sigmoid", "tanh", "relu"):
        for sizes in ((4, 3), (4, 5, 3), (3, 5, 4, 2)):
            fwd, bwd = _mlp_pair(activation, len(sizes) - 1)
            ops.append(
                Op(
                    f"MLP {activation} {'-'.join(map(str, sizes))}",
                    fwd,
                    bwd,
                    _mlp_inputs(sizes, activation),
                    int_ok=activation != "relu",
                )
            )
    return ops


OPS = _ops()
IDS = [op.name for op in OPS]


def test_every_forward_has_a_row():
    covered = {op.forward.__name__ for op in OPS}
    forwards = {n for n in mg.__all__ if n.endswith("_forward")}
    assert forwards <= covered, f"ops without a registry row: {sorted(forwards - covered)}"
    assert any(op.name.startswith("MLP") for op in OPS)


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_gradcheck_float64(op):
    inputs = op.make(np.random.default_rng(1))
    report = mg.gradcheck(op.forward, op.backward, inputs, tol=1e-7, options=op.options)
    assert report.passed, str(report)
    assert len(report.errors) == len(inputs)


@pytest.mark.parametrize("op", OPS, ids=IDS)
@pytest.mark.parametrize("which", ["first", "last"])
def test_gradcheck_catches_a_gradient_off_by_a_thousandth(op, which):
    inputs = op.make(np.random.default_rng(2))

    def wrong_backward(dout, cache):
        grads = op.backward(dout, cache)
        if not isinstance(grads, tuple):
            return grads * 1.001
        grads = list(grads)
        k = 0 if which == "first" else len(grads) - 1
        grads[k] = grads[k] * 1.001
        return tuple(grads)

    report = mg.gradcheck(op.forward, wrong_backward, inputs, tol=1e-7, options=op.options)
    assert not report.passed, str(report)


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_float32_is_kept(op):
    inputs = tuple(x.astype(np.float32) for x in op.make(np.random.default_rng(3)))
    out, cache = op.forward(*inputs, **op.options)
    assert np.asarray(out).dtype == np.float32
    dout = np.ones_like(np.asarray(out)) if np.ndim(out) else np.float32(1.0)
    grads = op.backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for x, g in zip(inputs, grads, strict=True):
        assert g.dtype == np.float32 and g.shape == x.shape


@pytest.mark.parametrize("op", [op for op in OPS if op.int_ok], ids=lambda op: op.name)
def test_integer_input_becomes_float64(op):
    inputs = tuple(np.round(x * 3).astype(np.int64) for x in op.make(np.random.default_rng(4)))
    out, cache = op.forward(*inputs, **op.options)
    assert np.asarray(out).dtype == np.float64
    dout = np.ones(np.shape(out)) if np.ndim(out) else 1.0
    grads = op.backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for x, g in zip(inputs, grads, strict=True):
        assert g.dtype == np.float64 and g.shape == x.shape


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_arguments_are_not_modified(op):
    rng = np.random.default_rng(5)
    inputs = op.make(rng)
    saved = [x.copy() for x in inputs]
    options_saved = {k: np.array(v, copy=True) for k, v in op.options.items()}
    out, cache = op.forward(*inputs, **op.options)
    dout = rng.standard_normal(np.shape(out)) if np.ndim(out) else 0.7
    dout_saved = np.array(dout, copy=True)
    op.backward(dout, cache)
    for x, s in zip(inputs, saved, strict=True):
        np.testing.assert_array_equal(x, s)
    for k, v in op.options.items():
        np.testing.assert_array_equal(v, options_saved[k])
    np.testing.assert_array_equal(dout, dout_saved)


def _non_finite_douts(dout, bad):
    """``dout`` with ``bad`` at each entry in turn; for "±inf", +inf and -inf everywhere, so
    that every sum over ``dout`` meets inf − inf."""
    if bad == "±inf":
        d = np.full(dout.shape, np.inf)
        d.reshape(-1)[::2] = -np.inf
        yield d
        return
    for index in np.ndindex(dout.shape):  # a 0-d dout has the one index ()
        d = dout.copy()
        d[index] = bad
        yield d


@pytest.mark.parametrize(
    "bad", [np.nan, np.inf, -np.inf, "±inf"], ids=["nan", "inf", "-inf", "±inf"]
)
@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_a_non_finite_dout_raises_wherever_it_sits(op, bad):
    # a backward may prove dout finite from a sum it computes anyway: that sum must see
    # every entry, and inf − inf on the way must not warn before the error
    inputs, dout = _draw(op, 17)
    dout = np.asarray(dout, dtype=np.float64)
    _, cache = op.forward(*inputs, **op.options)
    for d in _non_finite_douts(dout, bad):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=r": \w+ contains NaN or infinity"):
                op.backward(d, cache)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_a_non_finite_input_raises_wherever_it_sits(op, bad):
    # the one exception by contract: the embedding reads only the table rows ids looks up
    looked_up = set(np.ravel(op.options["ids"])) if "ids" in op.options else None
    inputs = op.make(np.random.default_rng(18))
    for k, x in enumerate(inputs):
        for index in np.ndindex(np.shape(x)):
            bad_inputs = [np.array(a, copy=True) for a in inputs]
            bad_inputs[k][index] = bad
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                if looked_up is not None and index[0] not in looked_up:
                    op.forward(*bad_inputs, **op.options)  # a row nobody reads
                    continue
                with pytest.raises(ValueError, match=r"contains NaN or infinity"):
                    op.forward(*bad_inputs, **op.options)


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_directional_check_agrees(op):
    inputs = op.make(np.random.default_rng(6))
    report = mg.directional_gradcheck(
        op.forward, op.backward, inputs, tol=1e-7, options=op.options
    )
    assert report.passed, str(report)


# ------------------------------------------------- inputs of every kind, plain results


class Sub(np.ndarray):
    """A trivial ndarray subclass: nothing of its own, yet ``np.maximum`` etc. return it."""


def _grads_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def _run(op, inputs, options, dout):
    """Forward, then backward with ``dout`` (a function of the output, or a value)."""
    out, cache = op.forward(*inputs, **options)
    d = dout(out) if callable(dout) else dout
    return out, _grads_tuple(op.backward(d, cache))


def _draw(op, seed):
    rng = np.random.default_rng(seed)
    inputs = op.make(rng)
    out, _ = op.forward(*inputs, **op.options)
    dout = rng.standard_normal(np.shape(out)) if np.ndim(out) else 0.7
    return inputs, dout


def _assert_same_plain(result, expected):
    """``result`` holds plain arrays (or a float where ``expected`` has one), equal exactly."""
    out, grads = result
    out_ref, grads_ref = expected
    assert type(out) is type(out_ref)
    np.testing.assert_array_equal(out, out_ref)
    assert len(grads) == len(grads_ref)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        assert type(g) is np.ndarray, type(g)
        np.testing.assert_array_equal(g, g_ref)


def _convert(value, how):
    """An array input, option or dout as another kind of array; other values unchanged."""
    if not isinstance(value, np.ndarray):
        return value
    if how == "subclass":
        return value.view(Sub)
    if how == "masked, nothing masked":
        return np.ma.masked_array(value, mask=np.zeros(value.shape, bool))
    if how == "matrix":
        return np.asmatrix(value) if value.ndim == 2 else value
    return value.astype(how)  # a dtype such as ">f4"


@pytest.mark.parametrize("how", ["subclass", "masked, nothing masked"])
@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_subclass_inputs_give_plain_equal_results(op, how):
    inputs, dout = _draw(op, 7)
    expected = _run(op, inputs, op.options, np.asarray(dout))
    result = _run(
        op,
        tuple(_convert(x, how) for x in inputs),
        {k: _convert(v, how) for k, v in op.options.items()},
        _convert(np.asarray(dout), how),
    )
    _assert_same_plain(result, expected)


def _has_2d(op):
    inputs, dout = _draw(op, 8)
    arrays = [*inputs, np.asarray(dout), *op.options.values()]
    return any(np.ndim(a) == 2 for a in arrays)


MATRIX_OPS = [op for op in OPS if _has_2d(op)]


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("op", MATRIX_OPS, ids=[op.name for op in MATRIX_OPS])
def test_matrix_inputs_give_plain_equal_results(op):
    # np.matrix: `*` is a matrix product, reductions keep two dimensions, keepdims fails
    inputs, dout = _draw(op, 8)
    expected = _run(op, inputs, op.options, np.asarray(dout))
    result = _run(
        op,
        tuple(_convert(x, "matrix") for x in inputs),
        {k: _convert(v, "matrix") for k, v in op.options.items()},
        _convert(np.asarray(dout), "matrix"),
    )
    _assert_same_plain(result, expected)


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_masked_entries_raise(op):
    inputs, dout = _draw(op, 9)
    masked = np.ma.masked_array(inputs[0], mask=np.zeros(inputs[0].shape, bool))
    masked.mask.flat[0] = True
    with pytest.raises(TypeError, match=r"is a masked array with 1 masked entry"):
        op.forward(masked, *inputs[1:], **op.options)
    if np.ndim(dout):
        _, cache = op.forward(*inputs, **op.options)
        dout = np.ma.masked_array(dout, mask=np.ones(np.shape(dout), bool))
        with pytest.raises(TypeError, match=r"is a masked array with \d+ masked entr"):
            op.backward(dout, cache)


@pytest.mark.parametrize(("code", "native"), [(">f4", np.float32), (">f8", np.float64)])
@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_big_endian_keeps_its_precision(op, code, native):
    inputs, dout = _draw(op, 10)
    native_inputs = tuple(x.astype(native) for x in inputs)
    expected = _run(op, native_inputs, op.options, np.asarray(dout, native))
    out, grads = _run(
        op, tuple(x.astype(code) for x in inputs), op.options, np.asarray(dout, code)
    )
    assert np.asarray(out).dtype == np.dtype(native)  # native byte order, same precision
    for g in grads:
        assert g.dtype == np.dtype(native)
    _assert_same_plain((out, grads), expected)


def _out_ndim(op):
    inputs, _ = _draw(op, 11)
    return np.ndim(op.forward(*inputs, **op.options)[0])


LOSS_OPS = [op for op in OPS if _out_ndim(op) == 0]
ARRAY_OPS = [op for op in OPS if _out_ndim(op) > 0]


def test_the_losses_are_found():
    assert {op.forward for op in LOSS_OPS} >= {
        mg.cross_entropy_forward,
        mg.binary_cross_entropy_forward,
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("op", LOSS_OPS, ids=[op.name for op in LOSS_OPS])
def test_a_loss_is_a_python_float_or_a_0d_array_of_the_logits_dtype(op, dtype):
    inputs = tuple(
        np.round(x * 3).astype(dtype) if dtype == np.int64 else x.astype(dtype)
        for x in op.make(np.random.default_rng(12))
    )
    loss, _ = op.forward(*inputs, **op.options)
    if dtype == np.float32:
        assert type(loss) is np.ndarray and loss.shape == () and loss.dtype == np.float32
    else:
        assert type(loss) is float


def _double(out):
    out *= 2


def _zero(out):
    out[...] = 0


@pytest.mark.parametrize("write", [_double, _zero], ids=["out *= 2", "out[...] = 0"])
@pytest.mark.parametrize("op", ARRAY_OPS, ids=[op.name for op in ARRAY_OPS])
def test_writes_into_the_output_do_not_reach_the_backward(op, write):
    inputs, dout = _draw(op, 13)
    expected = _run(op, inputs, op.options, dout)[1]
    out, cache = op.forward(*inputs, **op.options)
    write(out)  # the caller reuses the output, e.g. an in-place ReLU
    grads = _grads_tuple(op.backward(dout, cache))
    for g, g_ref in zip(grads, expected, strict=True):
        np.testing.assert_array_equal(g, g_ref)


# ------------------------------------------- the functions that are not op pairs, likewise


def _mlp_all(x, w0, b0, w1, b1, dlogits):
    net = mg.MLP([w0, w1], [b0, b1], activation="tanh")
    logits = net.forward(x)
    dws, dbs = net.backward(dlogits)
    return (logits, *dws, *dbs, *net.deltas, *net.activations, *net.zs)


def _conv_loop(x, w, b, dy):
    y, cache = mg.conv2d_forward_loop(x, w, b, stride=1, padding=1)
    return (y, *mg.conv2d_backward_loop(dy, cache))


def _pool_loop(x, dy):
    y, cache = mg.maxpool2d_forward_loop(x, 2)
    return y, mg.maxpool2d_backward_loop(dy, cache)


def _rnn_extras(x, h0, wx, wh, b, dh):
    h, cache = mg.rnn_forward_loop(x, h0, wx, wh, b)
    _, cache_v = mg.rnn_forward(x, h0, wx, wh, b)
    return (
        h,
        *mg.rnn_backward_loop(dh, cache),
        *mg.rnn_backward(dh, cache_v, truncate=1),
        *mg.rnn_backward_per_step(dh, cache_v),
        mg.rnn_hidden_grad_norms(dh, cache_v),
    )


def _tanh_sum(v):
    return float(np.sum(np.tanh(v) * np.arange(v.size).reshape(v.shape)))


def _checks(x, w):
    full = mg.gradcheck(mg.linear_forward, mg.linear_backward, (x, w, np.zeros(len(w))))
    fast = mg.directional_gradcheck(mg.tanh_forward, mg.tanh_backward, (x,))
    return (*full.analytic, *full.numerical, *fast.analytic, *fast.numerical)


def _non_ops():
    r = np.random.default_rng(14)
    z, w = r.standard_normal((3, 4)), r.standard_normal((2, 4))
    rnn_args = (
        r.standard_normal((2, 3, 4)),
        r.standard_normal((2, 3)),
        r.standard_normal((3, 4)) * 0.4,
        r.standard_normal((3, 3)) * 0.4,
        r.standard_normal(3),
        r.standard_normal((2, 3, 3)),
    )
    return {
        "softmax": (mg.softmax, (z,)),
        "softmax axis=0": (lambda v: mg.softmax(v, axis=0), (z,)),
        "log_softmax": (mg.log_softmax, (z,)),
        "softmax_jacobian": (mg.softmax_jacobian, (z,)),
        "sigmoid": (mg.sigmoid, (z,)),
        "sigmoid_to_softmax_logits": (mg.sigmoid_to_softmax_logits, (z,)),
        "softmax_to_sigmoid_logit": (mg.softmax_to_sigmoid_logit, (z[:, :2],)),
        "relative_error": (mg.relative_error, (z, z + 1e-3)),
        "numerical_gradient": (lambda v: mg.numerical_gradient(_tanh_sum, v), (z,)),
        "gradcheck, directional_gradcheck": (_checks, (z, w)),
        "conv2d_as_linear": (
            lambda v: mg.conv2d_as_linear(v, (2, 4, 4), padding=1),
            (r.standard_normal((3, 2, 2, 2)),),
        ),
        "conv2d loop pair": (
            _conv_loop,
            (
                r.standard_normal((2, 2, 4, 4)),
                r.standard_normal((3, 2, 3, 3)),
                r.standard_normal(3),
                r.standard_normal((2, 3, 4, 4)),
            ),
        ),
        "maxpool2d loop pair": (
            _pool_loop,
            (_distinct(r, (2, 2, 4, 4)), r.standard_normal((2, 2, 2, 2))),
        ),
        "rnn loops, truncation, per step, norms": (_rnn_extras, rnn_args),
        "MLP tanh": (
            _mlp_all,
            (
                r.standard_normal((3, 4)),
                r.standard_normal((5, 4)),
                r.standard_normal(5),
                r.standard_normal((2, 5)),
                r.standard_normal(2),
                r.standard_normal((3, 2)),
            ),
        ),
    }


NON_OPS = _non_ops()


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("how", ["subclass", "matrix", ">f4"])
@pytest.mark.parametrize("name", list(NON_OPS))
def test_other_functions_give_plain_equal_results_for_any_array_kind(name, how):
    fn, args = NON_OPS[name]
    if how == ">f4":  # big-endian float32 computes as native float32
        args = tuple(a.astype(np.float32) for a in args)
    expected = fn(*args)
    result = fn(*(_convert(a, how) for a in args))
    expected = expected if isinstance(expected, tuple) else (expected,)
    result = result if isinstance(result, tuple) else (result,)
    for got, want in zip(result, expected, strict=True):
        assert type(got) is type(want) and type(got) in (np.ndarray, float), type(got)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)
