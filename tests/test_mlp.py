"""Tests of mathgrad.mlp: the network built from the op pairs, and backpropagation."""

import numpy as np
import pytest

import mathgrad
import mathgrad.mlp
from mathgrad import MLP, gradcheck, numerical_gradient, relative_error

ACTIVATIONS = ["sigmoid", "tanh", "relu"]
# input width first; widths differ between neighbours so a transposed weight gradient fails
SIZES = {1: (4, 3), 2: (4, 5, 3), 3: (3, 5, 4, 2), 4: (3, 4, 6, 5, 2)}
N = 5


def act(name, z):
    return {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
            "relu": lambda z: np.maximum(z, 0.0)}[name](z)  # fmt: skip


def act_prime(name, z):
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return (z > 0).astype(float)


def draw_net(rng, sizes, activation, n=N, margin=0.05, scale=1.0):
    """Random weights, biases and a batch; for ReLU every hidden z is kept away from 0."""
    for _ in range(200):
        weights = [
            rng.normal(size=(m, k)) * (scale / np.sqrt(k))
            for k, m in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        biases = [rng.normal(size=m) * 0.5 for m in sizes[1:]]
        x = rng.normal(size=(n, sizes[0]))
        net = MLP(weights, biases, activation)
        net.forward(x)
        if activation != "relu" or all(np.abs(z).min() > margin for z in net.zs[:-1]):
            return net, x
    raise AssertionError("could not draw a ReLU net away from its kinks")


def cross_entropy(logits, labels):
    """Mean cross-entropy and its gradient, written out in NumPy as a test oracle."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    loss = -logp[np.arange(n), labels].mean()
    dlogits = np.exp(logp)
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits / n


def mlp_forward(*params, x, activation):
    """Op-pair wrapper: every weight, then every bias, are the inputs; logits the output."""
    half = len(params) // 2
    net = MLP(list(params[:half]), list(params[half:]), activation)
    return net.forward(x), net


def mlp_backward(dlogits, net):
    dweights, dbiases = net.backward(dlogits)
    return (*dweights, *dbiases)


def mlp_ce_forward(*params, x, labels, activation):
    """The network composed with a loss: output is the scalar cross-entropy."""
    logits, net = mlp_forward(*params, x=x, activation=activation)
    loss, cache = mathgrad.cross_entropy_forward(logits, labels)
    return loss, (net, cache)


def mlp_ce_backward(dloss, cache):
    net, ce_cache = cache
    return mlp_backward(mathgrad.cross_entropy_backward(dloss, ce_cache), net)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", sorted(SIZES))
def test_gradcheck_every_weight_and_bias(depth, activation, rng):
    net, x = draw_net(rng, SIZES[depth], activation)
    params = (*net.weights, *net.biases)
    report = gradcheck(mlp_forward, mlp_backward, params, tol=1e-7, x=x, activation=activation)
    assert report.passed, str(report)
    assert len(report.errors) == 2 * depth


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", sorted(SIZES))
def test_gradcheck_composed_with_cross_entropy(depth, activation, rng):
    # larger sigmoid weights, so the first layer's gradient of a loss of size ~1 is not so
    # small (0.25 per sigmoid layer) that rounding in the finite differences dominates it
    net, x = draw_net(rng, SIZES[depth], activation, scale=3.0 if activation == "sigmoid" else 1.0)
    labels = rng.integers(0, SIZES[depth][-1], size=N)
    params = (*net.weights, *net.biases)
    report = gradcheck(
        mlp_ce_forward, mlp_ce_backward, params, x=x, labels=labels, activation=activation
    )
    assert report.passed, str(report)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_deltas_are_gradients_of_the_loss_wrt_zs(depth, activation, rng):
    sizes = SIZES[depth]
    net, x = draw_net(rng, sizes, activation)
    labels = rng.integers(0, sizes[-1], size=N)
    loss, dlogits = cross_entropy(net.forward(x), labels)
    net.backward(dlogits)
    assert len(net.deltas) == depth

    for l in range(depth):  # noqa: E741

        def loss_from_z(z, l=l):  # noqa: E741
            # re-run the layers above l from a perturbed zs[l]
            for k in range(l + 1, depth):
                z = act(activation, z) @ net.weights[k].T + net.biases[k]
            return cross_entropy(z, labels)[0]

        assert loss_from_z(net.zs[l]) == pytest.approx(loss, rel=1e-12)
        numeric = numerical_gradient(loss_from_z, net.zs[l])
        err = relative_error(net.deltas[l], numeric)
        assert err < 1e-7, f"deltas[{l}]: relative error {err:.2e}"


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_deltas_obey_the_recursion(activation, rng):
    net, x = draw_net(rng, SIZES[4], activation)
    dlogits = rng.normal(size=(N, SIZES[4][-1]))
    net.forward(x)
    dweights, dbiases = net.backward(dlogits)
    # hand-written recursion δ^l = σ'(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}, rows are samples
    expected = [None] * net.n_layers
    expected[-1] = dlogits
    for l in range(net.n_layers - 2, -1, -1):  # noqa: E741
        expected[l] = act_prime(activation, net.zs[l]) * (expected[l + 1] @ net.weights[l + 1])
    np.testing.assert_array_equal(net.deltas[-1], dlogits)
    for l in range(net.n_layers):  # noqa: E741
        np.testing.assert_allclose(net.deltas[l], expected[l], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(
            dweights[l], net.deltas[l].T @ net.activations[l], rtol=1e-13, atol=1e-15
        )
        np.testing.assert_allclose(dbiases[l], net.deltas[l].sum(axis=0), rtol=1e-13, atol=1e-15)
        assert dweights[l].shape == net.weights[l].shape
        assert dbiases[l].shape == net.biases[l].shape


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_keeps_aligned_intermediates(activation, rng):
    net, x = draw_net(rng, SIZES[3], activation)
    logits = net.forward(x)
    assert len(net.activations) == len(net.zs) == net.n_layers == 3
    np.testing.assert_array_equal(net.activations[0], x)
    for l in range(net.n_layers):  # noqa: E741
        np.testing.assert_allclose(
            net.zs[l], net.activations[l] @ net.weights[l].T + net.biases[l], rtol=1e-14
        )
        if l > 0:
            np.testing.assert_allclose(net.activations[l], act(activation, net.zs[l - 1]))
    np.testing.assert_array_equal(logits, net.zs[-1])


def test_one_layer_is_linear(rng):
    w, b, x = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(2, 4))
    net = MLP([w], [b], "tanh")
    np.testing.assert_allclose(net.forward(x), x @ w.T + b, rtol=1e-14)
    dweights, dbiases = net.backward(np.ones((2, 3)))
    np.testing.assert_allclose(dweights[0], np.ones((3, 2)) @ x, rtol=1e-14)
    np.testing.assert_array_equal(dbiases[0], [2.0, 2.0, 2.0])


def test_relu_derivative_at_exactly_zero_is_zero():
    # the first hidden neuron gets z = 2 - 2 = 0 exactly, the second z = 4
    net = MLP([np.array([[1.0, -1.0], [1.0, 1.0]]), np.array([[3.0, 5.0]])],
              [np.zeros(2), np.zeros(1)], "relu")  # fmt: skip
    net.forward([[2.0, 2.0]])
    assert net.zs[0][0, 0] == 0.0
    dweights, _ = net.backward([[1.0]])
    np.testing.assert_array_equal(net.deltas[0], [[0.0, 5.0]])
    np.testing.assert_array_equal(dweights[0], [[0.0, 0.0], [10.0, 10.0]])


def test_backward_uses_the_latest_forward(rng):
    net, x = draw_net(rng, SIZES[2], "tanh")
    net.forward(x)
    net.backward(np.ones((N, 3)))
    net.forward(x[:2])
    assert net.deltas == []
    dweights, _ = net.backward(np.ones((2, 3)))
    assert len(net.deltas) == 2 and net.deltas[0].shape == (2, 5)
    with pytest.raises(ValueError, match=r"^MLP.backward: dlogits must have the shape"):
        net.backward(np.ones((N, 3)))


# ---------------------------------------------------------------- the checks can fail


def wrong_tanh_backward(dy, cache):
    return dy * cache.t  # tanh instead of its derivative


def scaled_tanh_backward(dy, cache):
    return 1.001 * mathgrad.tanh_backward(dy, cache)


@pytest.mark.parametrize("bad_backward", [wrong_tanh_backward, scaled_tanh_backward])
def test_gradcheck_catches_a_wrong_activation_derivative(bad_backward, rng, monkeypatch):
    net, x = draw_net(rng, SIZES[2], "tanh")
    params = (*net.weights, *net.biases)
    monkeypatch.setitem(mathgrad.mlp._ACTIVATIONS, "tanh", (mathgrad.tanh_forward, bad_backward))
    report = gradcheck(mlp_forward, mlp_backward, params, x=x, activation="tanh")
    assert not report.passed
    assert report.errors[-1] <= 1e-7  # the output layer does not see the activation
    assert report.errors[0] > 1e-4


def test_gradcheck_catches_a_transposed_weight_gradient(rng):
    net, x = draw_net(rng, (3, 3, 3), "sigmoid")  # square, so shapes agree

    def transposed_backward(dlogits, net):
        grads = mlp_backward(dlogits, net)
        return (grads[0].T, *grads[1:])

    params = (*net.weights, *net.biases)
    report = gradcheck(mlp_forward, transposed_backward, params, x=x, activation="sigmoid")
    assert not report.passed


# ---------------------------------------------------------------- dtypes, lists, no mutation


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_kept(activation, rng):
    weights = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(2, 4)).astype("f4")]
    biases = [np.zeros(4, np.float32), np.zeros(2, np.float32)]
    net = MLP(weights, biases, activation)
    logits = net.forward(rng.normal(size=(5, 3)).astype(np.float32))
    assert logits.dtype == np.float32
    assert all(a.dtype == np.float32 for a in net.activations + net.zs)
    dweights, dbiases = net.backward(rng.normal(size=(5, 2)))
    assert all(g.dtype == np.float32 for g in dweights + dbiases + net.deltas)


def test_int_becomes_float64_and_lists_work():
    net = MLP([[[1, 0], [0, 1], [1, 1]], [[1, -1, 2]]], [[0, 0, 0], [1]], "relu")
    assert all(w.dtype == np.float64 for w in net.weights + net.biases)
    logits = net.forward([[1, 2]])
    assert logits.dtype == np.float64
    np.testing.assert_array_equal(logits, [[1 - 2 + 6 + 1.0]])
    dweights, dbiases = net.backward([[1]])
    assert all(g.dtype == np.float64 for g in dweights + dbiases)
    np.testing.assert_array_equal(dweights[1], [[1.0, 2.0, 3.0]])


def test_nothing_modified_in_place(rng):
    net, x = draw_net(rng, SIZES[3], "sigmoid")
    weights, biases = list(net.weights), list(net.biases)
    saved = [a.copy() for a in (x, *weights, *biases)]
    dlogits = rng.normal(size=(N, 2))
    dlogits0 = dlogits.copy()
    rebuilt = MLP(weights, biases, "sigmoid")
    for _ in range(2):
        rebuilt.forward(x)
        rebuilt.backward(dlogits)
    for a, a0 in zip((x, *weights, *biases), saved, strict=True):
        np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(dlogits, dlogits0)
    # stored as given (no copy, no conversion of float arrays)
    assert all(a is b for a, b in zip(rebuilt.weights, weights, strict=True))


# ---------------------------------------------------------------- attributes, init, repr


def test_attributes_and_repr():
    net = MLP.init([784, 256, 256, 10])
    assert repr(net) == "MLP(784-256-256-10, activation='sigmoid')"
    assert net.n_layers == 3 and net.activation == "sigmoid"
    assert net.sizes == (784, 256, 256, 10)
    assert [w.shape for w in net.weights] == [(256, 784), (256, 256), (10, 256)]
    assert [b.shape for b in net.biases] == [(256,), (256,), (10,)]


def test_init_is_seeded_and_scaled():
    a = MLP.init([400, 300, 2], activation="relu", seed=3)
    b = MLP.init([400, 300, 2], activation="relu", seed=3)
    c = MLP.init([400, 300, 2], activation="relu", seed=4)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert not np.array_equal(a.weights[0], c.weights[0])
    assert a.weights[0].std() == pytest.approx(1 / np.sqrt(400), rel=0.02)
    assert a.weights[1].std() == pytest.approx(1 / np.sqrt(300), rel=0.1)
    assert all((bias == 0).all() for bias in a.biases)
    assert a.activation == "relu"
    f32 = MLP.init([3, 2], dtype=np.float32)
    assert f32.weights[0].dtype == np.float32 and f32.biases[0].dtype == np.float32


def test_init_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"^MLP.init: sizes must hold at least two widths"):
        MLP.init([3])
    with pytest.raises(ValueError, match=r"^MLP.init: sizes must be positive integers, got 0"):
        MLP.init([3, 0, 2])
    with pytest.raises(TypeError, match=r"^MLP.init: sizes must hold integers, got 2.5"):
        MLP.init([3, 2.5])
    with pytest.raises(TypeError, match=r"^MLP.init: sizes must be a sequence of layer widths"):
        MLP.init(3)
    with pytest.raises(ValueError, match=r"^MLP.init: dtype must be float32 or float64"):
        MLP.init([3, 2], dtype=np.int64)
    with pytest.raises(ValueError, match=r"^MLP: activation must be one of"):
        MLP.init([3, 2], activation="gelu")


# ---------------------------------------------------------------- validation


def good():
    return [np.ones((4, 3)), np.ones((2, 4))], [np.ones(4), np.ones(2)]


def test_constructor_rejects_bad_lists():
    weights, biases = good()
    with pytest.raises(
        TypeError, match=r"^MLP: weights must be a list of arrays, one per layer, got an array"
    ):
        MLP(np.ones((4, 3)), biases)
    with pytest.raises(TypeError, match=r"^MLP: biases must be a list of arrays, .* got int"):
        MLP(weights, 3)
    with pytest.raises(ValueError, match=r"^MLP: weights must hold at least one layer"):
        MLP([], [])
    with pytest.raises(
        ValueError,
        match=r"^MLP: weights has 2 layers but biases has 1; "
        r"expected one bias vector per weight matrix",
    ):
        MLP(weights, biases[:1])


def test_constructor_rejects_bad_activation():
    weights, biases = good()
    with pytest.raises(
        ValueError,
        match=r"^MLP: activation must be one of 'sigmoid', 'tanh', 'relu', got 'softmax'",
    ):
        MLP(weights, biases, "softmax")
    with pytest.raises(ValueError, match=r"^MLP: activation must be one of .*, got None"):
        MLP(weights, biases, None)


def test_constructor_rejects_shapes_that_do_not_chain():
    weights, biases = good()
    with pytest.raises(
        ValueError,
        match=r"^MLP: weights\[1\] has 5 input features but weights\[0\] has 4 outputs "
        r"\(weights\[0\]: \(4, 3\), weights\[1\]: \(2, 5\)\); "
        r"expected weights\[1\] of shape \(2, 4\)",
    ):
        MLP([weights[0], np.ones((2, 5))], biases)
    with pytest.raises(
        ValueError,
        match=r"^MLP: biases\[1\] has shape \(4,\) but weights\[1\] has shape \(2, 4\); "
        r"expected biases\[1\] of shape \(2,\), one bias per row of weights\[1\]",
    ):
        MLP(weights, [biases[0], np.ones(4)])
    with pytest.raises(ValueError, match=r"^MLP: weights\[1\] must have 2 dimensions, got 1"):
        MLP([weights[0], np.ones(4)], biases)
    with pytest.raises(ValueError, match=r"^MLP: biases\[0\] must have 1 dimension, got 2"):
        MLP(weights, [np.ones((4, 1)), biases[1]])
    with pytest.raises(
        ValueError, match=r"^MLP: weights\[0\] has shape \(0, 3\); every layer needs"
    ):
        MLP([np.ones((0, 3))], [np.ones(0)])


def test_constructor_rejects_bad_values():
    weights, biases = good()
    with pytest.raises(TypeError, match=r"^MLP: weights\[0\] must be real, got complex"):
        MLP([weights[0] * 1j, weights[1]], biases)
    with pytest.raises(ValueError, match=r"^MLP: biases\[1\] contains NaN or infinity"):
        MLP(weights, [biases[0], np.array([np.nan, 0.0])])
    with pytest.raises(TypeError, match=r"^MLP: weights\[1\] must be an array of real numbers"):
        MLP([weights[0], "w"], biases)


def test_forward_rejects_bad_input():
    net = MLP(*good())
    with pytest.raises(
        ValueError,
        match=r"^MLP.forward: x has 5 features but the network expects 3 "
        r"\(x: \(2, 5\), weights\[0\]: \(4, 3\)\); expected x of shape \(N, 3\)",
    ):
        net.forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"^MLP.forward: x must have 2 dimensions, got 1"):
        net.forward(np.ones(3))
    with pytest.raises(ValueError, match=r"^MLP.forward: x contains NaN or infinity"):
        net.forward(np.full((2, 3), np.inf))


def test_backward_rejects_bad_input():
    net = MLP(*good())
    with pytest.raises(RuntimeError, match=r"^MLP.backward: call forward before backward"):
        net.backward(np.ones((2, 2)))
    net.forward(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r"^MLP.backward: dlogits must have the shape of the forward output \(2, 2\), "
        r"got \(2, 3\)",
    ):
        net.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^MLP.backward: dlogits contains NaN or infinity"):
        net.backward(np.full((2, 2), np.nan))


def test_an_empty_batch_gives_empty_logits_and_zero_gradients():
    net = MLP.init([3, 4, 2], activation="tanh")
    assert net.forward(np.zeros((0, 3))).shape == (0, 2)
    dweights, dbiases = net.backward(np.zeros((0, 2)))
    for g, w in zip(dweights + dbiases, net.weights + net.biases, strict=True):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, 0)  # a sum over no samples
