"""Training: gradient-norm clipping and the SGD and Adam optimisers, as in PyTorch.

``clip_grad_norm`` returns new arrays, as every function of the package does. The
optimisers are the one deliberate exception to "no function modifies its arguments":
``step(grads)`` updates the arrays in ``params`` in place, as ``torch.optim`` does, so a
model that holds those arrays sees its new weights without being told.

The update rules follow ``torch.optim.SGD`` and ``torch.optim.Adam`` operation by
operation (weight decay added to the gradient, the momentum buffer's first value equal to
the gradient, Adam's bias corrections applied as PyTorch applies them), so that the
package's training runs and PyTorch's agree to rounding in float64.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_real, fmt_shape

__all__ = ["Adam", "SGD", "clip_grad_norm"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_grad_list(grads, func: str, name: str = "grads") -> list:
    """``grads`` as a list (a list or tuple of array-likes; a bare array is refused)."""
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(
            f"{func}: {name} must be a list of arrays, got {type(grads).__name__}; "
            f"wrap a single array as [{name}]"
        )
    return list(grads)


def clip_grad_norm(grads, max_norm):
    """Rescale gradients so that their joint 2-norm is at most ``max_norm``.

    The norm is taken over all entries of all arrays together, as if they were one
    vector. PyTorch's ``clip_grad_norm_`` rule: every gradient is multiplied by
    ``min(1, max_norm / (total_norm + 1e-6))``, so gradients whose norm exceeds
    ``max_norm`` come out with norm just below it and the others are unchanged.

    Parameters
    ----------
    grads : list of array_like
        The gradients, of any shapes. Not modified.
    max_norm : float
        The largest joint norm let through, > 0.

    Returns
    -------
    clipped : list of ndarray
        New arrays, each of its gradient's shape and floating dtype.
    total_norm : float
        The joint 2-norm of ``grads`` before clipping (computed in float64).
    """
    func = "clip_grad_norm"
    grads = _check_grad_list(grads, func)
    arrays = [as_float_array(g, f"grads[{i}]", func) for i, g in enumerate(grads)]
    max_norm = check_real(max_norm, "max_norm", func, low=0.0, low_open=True)
    total_norm = float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)))
    coef = min(1.0, max_norm / (total_norm + 1e-6))
    clipped = [np.array(a, copy=True) if coef == 1.0 else a * a.dtype.type(coef) for a in arrays]
    return clipped, total_norm


def _check_params(params, func: str) -> list[np.ndarray]:
    """``params``: a non-empty list of distinct, writeable float32/float64 arrays."""
    if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
        raise TypeError(
            f"{func}: params must be a list of arrays, got {type(params).__name__}; "
            "wrap a single array as [params]"
        )
    params = list(params)
    if not params:
        raise ValueError(f"{func}: params is empty; expected at least one array to train")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(
                f"{func}: params[{i}] must be a NumPy array (updated in place), "
                f"got {type(p).__name__}"
            )
        if p.dtype not in _FLOATS:
            raise TypeError(
                f"{func}: params[{i}] must be a float32 or float64 array (updated in place), "
                f"got dtype {p.dtype}; convert it first, e.g. p.astype(np.float64)"
            )
        if not p.flags.writeable:
            raise ValueError(
                f"{func}: params[{i}] is read-only, but step() updates it in place; "
                "pass a writeable array (e.g. a copy)"
            )
        for j in range(i):
            if params[j] is p:
                raise ValueError(
                    f"{func}: params[{i}] is the same array as params[{j}]; "
                    "each array must appear once, or it is updated twice"
                )
    return params


def _check_step_grads(grads, params, func: str) -> list[np.ndarray]:
    """``grads``: one finite float array per parameter, of its shape."""
    grads = _check_grad_list(grads, func)
    if len(grads) != len(params):
        raise ValueError(
            f"{func}: got {len(grads)} gradients for {len(params)} parameters; "
            "expected one gradient per array of params, in the same order"
        )
    out = []
    for i, (g, p) in enumerate(zip(grads, params, strict=True)):
        g = as_float_array(g, f"grads[{i}]", func)
        if g.shape != p.shape:
            raise ValueError(
                f"{func}: grads[{i}] has shape {fmt_shape(g.shape)} but params[{i}] has "
                f"shape {fmt_shape(p.shape)}"
            )
        out.append(g)
    return out


def _check_lr(lr, func: str) -> float:
    return check_real(lr, "lr", func, low=0.0)


def _check_weight_decay(weight_decay, func: str) -> float:
    return check_real(weight_decay, "weight_decay", func, low=0.0)


class SGD:
    """Stochastic gradient descent with momentum and weight decay, as ``torch.optim.SGD``.

    At each :meth:`step`, for every parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p              # if weight_decay != 0
        buf = g  (first step)                 # if momentum != 0
        buf = momentum * buf + g  (later)
        g = buf
        p -= lr * g                           # in place

    Parameters
    ----------
    params : list of ndarray
        The arrays to train, float32 or float64, writeable; updated in place by
        :meth:`step`.
    lr : float
        Learning rate, >= 0.
    momentum : float, default 0.0
        Momentum factor, in [0, 1).
    weight_decay : float, default 0.0
        L2 penalty factor, >= 0, added to the gradient as ``weight_decay * p``.

    Attributes
    ----------
    params : list of ndarray
        The same arrays as passed (not copies).
    momentum_buffers : list of ndarray or None
        One buffer per parameter, ``None`` before the first step (and always with
        ``momentum == 0``).
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        func = "SGD"
        self.params = _check_params(params, func)
        self.lr = _check_lr(lr, func)
        self.momentum = check_real(momentum, "momentum", func, low=0.0, high=1.0, high_open=True)
        self.weight_decay = _check_weight_decay(weight_decay, func)
        self.momentum_buffers = [None] * len(self.params)

    def step(self, grads):
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of array_like
            One gradient per parameter, in the order of ``params``, each of its
            parameter's shape. Not modified.
        """
        grads = _check_step_grads(grads, self.params, "SGD.step")
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            d_p = g.astype(p.dtype)  # a copy: the caller's gradient is left alone
            if self.weight_decay != 0:
                d_p += self.weight_decay * p
            if self.momentum != 0:
                buf = self.momentum_buffers[i]
                if buf is None:
                    buf = d_p.copy()
                    self.momentum_buffers[i] = buf
                else:
                    buf *= self.momentum
                    buf += d_p
                d_p = buf
            p -= self.lr * d_p


class Adam:
    """Adam with bias-corrected moment estimates, as ``torch.optim.Adam``.

    At step ``t = 1, 2, …``, for every parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p                          # if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g                   # m, s start at 0
        s = beta2 * s + (1 - beta2) * g * g
        p -= lr / (1 - beta1**t) * m / (sqrt(s) / sqrt(1 - beta2**t) + eps)   # in place

    Parameters
    ----------
    params : list of ndarray
        The arrays to train, float32 or float64, writeable; updated in place by
        :meth:`step`.
    lr : float, default 1e-3
        Learning rate, >= 0.
    betas : pair of float, default (0.9, 0.999)
        Decay rates ``(beta1, beta2)`` of the first and second moment estimates, each
        in [0, 1).
    eps : float, default 1e-8
        Added to the denominator, > 0.
    weight_decay : float, default 0.0
        L2 penalty factor, >= 0, added to the gradient as ``weight_decay * p``.

    Attributes
    ----------
    params : list of ndarray
        The same arrays as passed (not copies).
    exp_avg : list of ndarray
        The first moment estimate ``m`` of each parameter (PyTorch's name), zero before
        the first step.
    exp_avg_sq : list of ndarray
        The second moment estimate ``s`` of each parameter (PyTorch's name), zero before
        the first step.
    t : int
        The number of steps taken.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        func = "Adam"
        self.params = _check_params(params, func)
        self.lr = _check_lr(lr, func)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list, np.ndarray)):
            raise TypeError(
                f"Adam: betas must be a pair (beta1, beta2), got {type(betas).__name__} {betas!r}"
            )
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {len(betas)} values")
        self.betas = tuple(
            check_real(beta, f"betas[{k}]", func, low=0.0, high=1.0, high_open=True)
            for k, beta in enumerate(betas)
        )
        self.eps = check_real(eps, "eps", func, low=0.0, low_open=True)
        self.weight_decay = _check_weight_decay(weight_decay, func)
        self.exp_avg = [np.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads):
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of array_like
            One gradient per parameter, in the order of ``params``, each of its
            parameter's shape. Not modified.
        """
        grads = _check_step_grads(grads, self.params, "Adam.step")
        self.t += 1
        beta1, beta2 = self.betas
        bias_correction1 = 1 - beta1**self.t
        bias_correction2 = 1 - beta2**self.t
        step_size = self.lr / bias_correction1
        sqrt_bc2 = np.sqrt(bias_correction2)
        for p, g, m, s in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            g = g.astype(p.dtype)  # a copy: the caller's gradient is left alone
            if self.weight_decay != 0:
                g += self.weight_decay * p
            m *= beta1
            m += (1 - beta1) * g
            s *= beta2
            s += (1 - beta2) * g * g
            denom = np.sqrt(s) / sqrt_bc2 + self.eps
            p -= step_size * (m / denom)
