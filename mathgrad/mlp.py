"""A fully connected network of any depth, built from the op pairs.

:class:`MLP` is the only class of the package: its ``forward`` chains
:func:`~mathgrad.linear.linear_forward` with an activation's forward, and its ``backward`` runs
the matching backwards in reverse order, which is backpropagation. It keeps every
intermediate (``activations``, ``zs``, ``deltas``) so that the recursion
``δ^l = σ'(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}`` can be inspected layer by layer.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_float_array, check_dout, check_option, fmt_shape
from .activations import relu_backward, relu_forward, tanh_backward, tanh_forward
from .linear import _linear_param_backward, linear_backward, linear_forward
from .sigmoid import sigmoid_backward, sigmoid_forward

__all__ = ["MLP"]

_ACTIVATIONS = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
}


def _check_layer_list(value, name: str, func: str) -> list:
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        kind = (
            f"an array of shape {fmt_shape(value.shape)}"
            if isinstance(value, np.ndarray)
            else type(value).__name__
        )
        raise TypeError(f"{func}: {name} must be a list of arrays, one per layer, got {kind}")
    if len(value) == 0:
        raise ValueError(f"{func}: {name} must hold at least one layer, got an empty list")
    return list(value)


class MLP:
    """A fully connected network: hidden layers with one activation, linear logits.

    Layer ``l`` computes ``zs[l] = activations[l] @ weights[l].T + biases[l]``; every
    hidden layer then applies the activation, ``activations[l + 1] = act(zs[l])``, and
    the last layer's ``zs[-1]`` are the logits (no activation: pair them with a loss).

    Parameters
    ----------
    weights : list of ndarray, ``weights[l]`` of shape (n_{l+1}, n_l)
        One matrix per layer, ``(out_features, in_features)``. Stored as given (after
        conversion to float when integer; an ``np.matrix`` or other subclass as a plain
        view of its data), never modified by the network.
    biases : list of ndarray, ``biases[l]`` of shape (n_{l+1},)
        One vector per layer.
    activation : {"sigmoid", "tanh", "relu"}, default "sigmoid"
        Applied to every hidden layer.

    Attributes
    ----------
    weights : list of ndarray
        The weight matrices, as passed (floating arrays are not copied, subclasses are
        viewed as plain arrays).
    biases : list of ndarray
        The bias vectors, as passed.
    activation : str
        The hidden layers' activation.
    n_layers : int
        The number of weight matrices (hidden layers plus the output layer).
    sizes : tuple of int
        ``(n_0, n_1, ..., n_L)``, the width of each layer, input first.
    activations : list of ndarray
        Set by :meth:`forward`: ``activations[l]`` (N, n_l) is the input of layer ``l``;
        ``activations[0]`` is ``x``.
    zs : list of ndarray
        Set by :meth:`forward`: ``zs[l]`` (N, n_{l+1}) is layer ``l``'s weighted input;
        ``zs[-1]`` are the logits.
    deltas : list of ndarray
        Set by :meth:`backward`: ``deltas[l] = ∂C/∂zs[l]``; ``deltas[-1]`` is ``dlogits``.
    """

    def __init__(self, weights, biases, activation="sigmoid"):
        func = "MLP"
        weights = _check_layer_list(weights, "weights", func)
        biases = _check_layer_list(biases, "biases", func)
        if len(weights) != len(biases):
            raise ValueError(
                f"{func}: weights has {len(weights)} layers but biases has {len(biases)}; "
                "expected one bias vector per weight matrix"
            )
        check_option(activation, "activation", func, tuple(_ACTIVATIONS))
        ws, bs = [], []
        for l, (w, b) in enumerate(zip(weights, biases, strict=True)):  # noqa: E741 (l as in the book)
            w = as_float_array(w, f"weights[{l}]", func, ndim=2)
            if 0 in w.shape:
                raise ValueError(
                    f"{func}: weights[{l}] has shape {fmt_shape(w.shape)}; every layer "
                    "needs at least one neuron and one input"
                )
            if l > 0 and w.shape[1] != ws[-1].shape[0]:
                prev = ws[-1]
                raise ValueError(
                    f"{func}: weights[{l}] has {w.shape[1]} input features but "
                    f"weights[{l - 1}] has {prev.shape[0]} outputs "
                    f"(weights[{l - 1}]: {fmt_shape(prev.shape)}, weights[{l}]: "
                    f"{fmt_shape(w.shape)}); expected weights[{l}] of shape "
                    f"({w.shape[0]}, {prev.shape[0]})"
                )
            b = as_float_array(b, f"biases[{l}]", func, ndim=1)
            if b.shape != (w.shape[0],):
                raise ValueError(
                    f"{func}: biases[{l}] has shape {fmt_shape(b.shape)} but weights[{l}] "
                    f"has shape {fmt_shape(w.shape)}; expected biases[{l}] of shape "
                    f"({w.shape[0]},), one bias per row of weights[{l}]"
                )
            ws.append(w)
            bs.append(b)
        self.weights = ws
        self.biases = bs
        self.activation = activation
        self.n_layers = len(ws)
        self.activations: list[np.ndarray] = []
        self.zs: list[np.ndarray] = []
        self.deltas: list[np.ndarray] = []
        self._linear_caches: list | None = None
        self._act_caches: list | None = None

    @classmethod
    def init(cls, sizes, activation="sigmoid", seed=0, dtype=np.float64):
        """A network with random weights, scaled so each layer keeps unit variance.

        ``weights[l]`` is drawn from ``N(0, 1 / n_l)`` (``1 / sqrt(fan_in)`` scale) and
        the biases start at zero.

        Parameters
        ----------
        sizes : sequence of int
            ``(n_0, n_1, ..., n_L)``, input width first, at least two entries, each >= 1.
        activation : {"sigmoid", "tanh", "relu"}, default "sigmoid"
        seed : int, default 0
            Seed of ``numpy.random.default_rng``.
        dtype : {float64, float32}, default float64

        Returns
        -------
        MLP
        """
        func = "MLP.init"
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"{func}: sizes must be a sequence of layer widths, got {sizes!r}")
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(
                f"{func}: sizes must hold at least two widths (input and output), got {sizes!r}"
            )
        for n in sizes:
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
                raise TypeError(f"{func}: sizes must hold integers, got {n!r} in {sizes!r}")
            if n < 1:
                raise ValueError(
                    f"{func}: sizes must be positive integers, got {n!r} in {sizes!r}"
                )
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"{func}: dtype must be float32 or float64, got {dtype}")
        rng = np.random.default_rng(seed)
        weights = [
            (rng.standard_normal((int(m), int(n))) / np.sqrt(n)).astype(dtype)
            for n, m in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        biases = [np.zeros(int(m), dtype=dtype) for m in sizes[1:]]
        return cls(weights, biases, activation=activation)

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(n_0, n_1, ..., n_L)``: the input width, then each layer's output width."""
        return (int(self.weights[0].shape[1]), *(int(w.shape[0]) for w in self.weights))

    def __repr__(self) -> str:
        widths = "-".join(str(n) for n in self.sizes)
        return f"MLP({widths}, activation={self.activation!r})"

    def forward(self, x):
        """Run the network on a batch and keep every intermediate.

        Parameters
        ----------
        x : array_like of shape (N, n_0)
            ``N = 0`` gives empty logits (and zero gradients in :meth:`backward`).

        Returns
        -------
        logits : ndarray of shape (N, n_L)
            ``zs[-1]``. Sets ``activations`` and ``zs`` (and clears ``deltas``).
        """
        func = "MLP.forward"
        x = as_float_array(x, "x", func, ndim=2)
        w0 = self.weights[0]
        if x.shape[1] != w0.shape[1]:
            raise ValueError(
                f"{func}: x has {x.shape[1]} features but the network expects "
                f"{w0.shape[1]} (x: {fmt_shape(x.shape)}, weights[0]: {fmt_shape(w0.shape)}); "
                f"expected x of shape (N, {w0.shape[1]})"
            )
        act_forward = _ACTIVATIONS[self.activation][0]
        activations, zs, linear_caches, act_caches = [x], [], [], []
        a = x
        for l in range(self.n_layers):  # noqa: E741
            z, cache = linear_forward(a, self.weights[l], self.biases[l])
            zs.append(z)
            linear_caches.append(cache)
            if l < self.n_layers - 1:  # hidden layer; the last layer's z are the logits
                a, cache = act_forward(z)
                activations.append(a)
                act_caches.append(cache)  # act_caches[l] belongs to zs[l]
        self.activations, self.zs, self.deltas = activations, zs, []
        self._linear_caches, self._act_caches = linear_caches, act_caches
        return zs[-1]

    def backward(self, dlogits):
        """Backpropagate ``∂C/∂logits`` through the network of the last :meth:`forward`.

        Parameters
        ----------
        dlogits : array_like of shape (N, n_L)
            Gradient of the cost with respect to the logits (e.g. from a loss backward).

        Returns
        -------
        dweights : list of ndarray
            ``dweights[l]`` has the shape and dtype of ``weights[l]``.
        dbiases : list of ndarray
            ``dbiases[l]`` has the shape and dtype of ``biases[l]``.
            Sets ``deltas``: ``deltas[l] = ∂C/∂zs[l]``, ``deltas[-1]`` is ``dlogits``.
        """
        func = "MLP.backward"
        if self._linear_caches is None:
            raise RuntimeError(f"{func}: call forward before backward; no forward pass is stored")
        dlogits = check_dout(dlogits, self.zs[-1].shape, func, name="dlogits")
        dlogits = dlogits.astype(self.zs[-1].dtype, copy=False)  # deltas[l] in zs[l]'s dtype
        act_backward = _ACTIVATIONS[self.activation][1]
        n = self.n_layers
        deltas: list = [None] * n
        dweights: list = [None] * n
        dbiases: list = [None] * n
        deltas[-1] = dlogits
        # Code index l is the book's layer l + 1 (the book numbers the input layer 0):
        # weights[l] = W^{l+1}, zs[l] = z^{l+1}, deltas[l] = δ^{l+1}, activations[l] = a^l.
        for l in range(n - 1, 0, -1):  # noqa: E741
            # linear_backward returns dw = deltas[l].T @ activations[l], i.e.
            # ∂C/∂w_ij = a_j δ_i summed over the batch (rows of deltas[l] and activations[l]).
            da, dweights[l], dbiases[l] = linear_backward(deltas[l], self._linear_caches[l])
            # da = deltas[l] @ weights[l] is the batch-row form of (W^{l+1})ᵀ δ^{l+1};
            # the activation backward multiplies by σ'(zs[l - 1]), giving
            # deltas[l - 1] = act'(zs[l - 1]) * (deltas[l] @ weights[l]):
            # the book's δ^l = σ'(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}.
            deltas[l - 1] = act_backward(da, self._act_caches[l - 1])
        # The first layer's input is the data x: it needs no gradient, so only dw and db.
        dweights[0], dbiases[0] = _linear_param_backward(deltas[0], self._linear_caches[0])
        self.deltas = deltas
        return dweights, dbiases
