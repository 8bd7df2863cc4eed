"""Finite-difference gradient checking.

``numerical_gradient`` differentiates any scalar function by central differences;
``gradcheck`` compares an op pair's analytic backward with it for every input, and
``directional_gradcheck`` does the same along a few random directions, which costs two
forward passes per direction instead of two per entry, so it stays cheap for large inputs.
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_float_array, fmt_shape

__all__ = [
    "GradcheckReport",
    "directional_gradcheck",
    "gradcheck",
    "numerical_gradient",
    "relative_error",
]


def _check_eps(eps, func: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{func}: eps must be a positive real number, got {eps!r}")
    eps = float(eps)
    if not (eps > 0 and np.isfinite(eps)):
        raise ValueError(f"{func}: eps must be a positive finite number, got {eps!r}")
    return eps


def _check_callable(f, name: str, func: str):
    if not callable(f):
        raise TypeError(f"{func}: {name} must be callable, got {type(f).__name__}")


def _scalar(value, func: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(
            f"{func}: f must return a scalar, got an array of shape {fmt_shape(arr.shape)}"
        )
    return float(arr.reshape(()))


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function.

    For each entry ``x_i`` the derivative is estimated as
    ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``, with ``2 h`` taken as the difference of
    the two perturbed values actually stored (so rounding of ``x_i ± eps`` does not
    bias the quotient).

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; called with a perturbed copy of ``x``, a plain ndarray (also
        when ``x`` is an ``np.matrix`` or another subclass).
    x : array_like
        The point at which to differentiate. Left as it was.
    eps : float, default 1e-6
        The step.

    Returns
    -------
    ndarray of the shape and floating dtype of ``x``
        The estimated gradient.
    """
    func = "numerical_gradient"
    _check_callable(f, "f", func)
    eps = _check_eps(eps, func)
    work = np.array(as_float_array(x, "x", func), copy=True, order="C")
    flat = work.reshape(-1)
    grad = np.zeros(work.size, dtype=np.float64)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up_x = flat[i]
        f_up = _scalar(f(work), func)
        flat[i] = old - eps
        step = float(up_x) - float(flat[i])
        if step == 0.0:
            flat[i] = old
            raise ValueError(
                f"{func}: eps={eps:g} is below the spacing of {work.dtype} numbers near "
                f"x.flat[{i}] = {float(old):g}, so x ± eps rounds to x; use a larger eps"
            )
        f_down = _scalar(f(work), func)
        flat[i] = old
        grad[i] = (f_up - f_down) / step
    return grad.reshape(work.shape).astype(work.dtype, copy=False)


def relative_error(a, b):
    """Largest absolute difference relative to the largest magnitude.

    ``max|a - b| / max(|a| + |b|)`` over all entries, and 0 when both are all zero.

    Parameters
    ----------
    a, b : array_like of the same shape

    Returns
    -------
    float
    """
    func = "relative_error"
    a = as_float_array(a, "a", func)
    b = as_float_array(b, "b", func)
    if a.shape != b.shape:
        raise ValueError(
            f"{func}: a and b must have the same shape, got {fmt_shape(a.shape)} "
            f"and {fmt_shape(b.shape)}"
        )
    if a.size == 0:
        return 0.0
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    scale = float(np.max(np.abs(a) + np.abs(b)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(a - b))) / scale


@dataclass
class GradcheckReport:
    """The result of a gradient check.

    Attributes
    ----------
    names : list of str
        The differentiated inputs' names, in input order.
    errors : list of float
        Each input's maximum relative error between analytic and numerical gradient.
    tol : float
        The tolerance; ``passed`` is true when every error is at most ``tol``.
    analytic, numerical : list of ndarray
        The gradients compared (for ``directional_gradcheck``, the directional
        derivatives, one per direction).
    op : str
        The forward function's name.
    """

    names: list[str]
    errors: list[float]
    tol: float
    analytic: list[np.ndarray] = field(repr=False)
    numerical: list[np.ndarray] = field(repr=False)
    op: str = ""
    kind: str = "full"

    @property
    def passed(self) -> bool:
        """True when every input's error is at most ``tol``."""
        return all(e <= self.tol for e in self.errors)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        what = "directional gradient check" if self.kind == "directional" else "gradient check"
        head = f"{what} of {self.op or 'op'} (tol {self.tol:.0e})"
        rows = [("input", "shape", "max |analytic|", "max |numerical|", "rel. error", "")]
        for name, err, a, n in zip(
            self.names, self.errors, self.analytic, self.numerical, strict=True
        ):
            a = np.asarray(a)
            n = np.asarray(n)
            rows.append(
                (
                    name,
                    fmt_shape(a.shape),
                    f"{np.max(np.abs(a)) if a.size else 0.0:.3e}",
                    f"{np.max(np.abs(n)) if n.size else 0.0:.3e}",
                    f"{err:.2e}",
                    "ok" if err <= self.tol else "FAIL",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = [head]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines.append("passed" if self.passed else "FAILED")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython/Jupyter shows the table
        p.text(str(self))


def _prepare(forward, backward, inputs, func: str, tol):
    _check_callable(forward, "forward", func)
    _check_callable(backward, "backward", func)
    if not isinstance(inputs, (tuple, list)):
        got = (
            f"an array of shape {fmt_shape(np.shape(inputs))}"
            if isinstance(inputs, np.ndarray)
            else type(inputs).__name__
        )
        raise TypeError(
            f"{func}: inputs must be a tuple of the arrays to differentiate, got {got}; "
            "for a single input x pass (x,)"
        )
    if len(inputs) == 0:
        raise ValueError(f"{func}: inputs must hold at least one array, got an empty tuple")
    arrays = tuple(as_float_array(x, f"inputs[{i}]", func) for i, x in enumerate(inputs))
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"{func}: tol must be a non-negative number, got {tol!r}")
    names = [f"inputs[{i}]" for i in range(len(arrays))]
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    i = 0
    for p in params:
        if i == len(arrays):
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names[i] = p.name
            i += 1
        elif p.kind == p.VAR_POSITIONAL:  # forward(x, *params): params[0], params[1], ...
            for j in range(len(arrays) - i):
                names[i + j] = f"{p.name}[{j}]"
            break
        else:
            break
    return arrays, names, getattr(forward, "__name__", "op")


def _draw_dout(out, rng):
    shape = np.shape(out)
    dtype = np.asarray(out).dtype if np.asarray(out).dtype.kind == "f" else np.float64
    draw = rng.standard_normal(shape)
    if shape == ():
        return float(draw)
    return draw.astype(dtype)


def _analytic(backward, dout, cache, n, func):
    grads = backward(dout, cache)
    if n == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if not isinstance(grads, tuple) or len(grads) != n:
        got = len(grads) if isinstance(grads, tuple) else 1
        raise ValueError(
            f"{func}: backward returned {got} gradient(s) for {n} input(s); "
            "pass only the differentiable inputs in `inputs` and the rest as options"
        )
    return [np.asarray(g, dtype=np.float64) for g in grads]


def _merge_options(options, extra, func):
    """The forward's options: the ``options`` dict together with the extra keywords."""
    if options is None:
        return extra
    if not isinstance(options, dict):
        raise TypeError(
            f"{func}: options must be a dict of keyword arguments for forward, got "
            f"{type(options).__name__}"
        )
    both = sorted(set(options) & set(extra))
    if both:
        raise ValueError(
            f"{func}: {', '.join(both)} given both in options and as keyword arguments; "
            "give each once"
        )
    return {**options, **extra}


def gradcheck(
    forward, backward, inputs, *, eps=1e-6, tol=1e-7, seed=0, options=None, **extra_options
):
    """Compare an op's analytic gradients with central finite differences.

    Draws a random upstream gradient ``dout`` (seeded), runs
    ``backward(dout, cache)``, and compares each input's gradient with
    ``numerical_gradient`` of ``sum(forward(*inputs, **options)[0] * dout)``.

    Parameters
    ----------
    forward : callable
        ``forward(*inputs, **options) -> (out, cache)``.
    backward : callable
        ``backward(dout, cache) -> grads``: one array, or a tuple in input order.
    inputs : tuple of array_like
        The arrays to differentiate, ``(x,)`` for one input (a list works too; a bare
        array raises ``TypeError``). Not modified.
    eps : float, default 1e-6
        Finite-difference step.
    tol : float, default 1e-7
        Largest relative error that passes.
    seed : int, default 0
        Seed of the random ``dout``.
    options : dict, optional
        Keyword arguments for ``forward``. Needed for an option whose name is also a
        keyword of this function: batch norm's ``eps`` or dropout's ``seed`` given as
        plain keywords would set the finite-difference step or the seed of ``dout``.
    **extra_options
        Also passed to ``forward`` unchanged (labels, stride, ...).

    Returns
    -------
    GradcheckReport
        ``report.errors`` (one per input), ``report.passed``, ``str(report)``.
    """
    func = "gradcheck"
    options = _merge_options(options, extra_options, func)
    eps = _check_eps(eps, func)
    arrays, names, op = _prepare(forward, backward, inputs, func, tol)
    rng = np.random.default_rng(seed)
    out, cache = forward(*arrays, **options)
    dout = _draw_dout(out, rng)
    dout64 = np.asarray(dout, dtype=np.float64)
    analytic = _analytic(backward, dout, cache, len(arrays), func)
    numerical, errors = [], []
    for i, x in enumerate(arrays):

        def f(xi, i=i):
            args = list(arrays)
            args[i] = xi
            return float(np.sum(np.asarray(forward(*args, **options)[0], np.float64) * dout64))

        num = numerical_gradient(f, x, eps).astype(np.float64)
        if analytic[i].shape != num.shape:
            raise ValueError(
                f"{func}: the gradient of {names[i]} has shape "
                f"{fmt_shape(analytic[i].shape)}, expected {fmt_shape(num.shape)}"
            )
        numerical.append(num)
        errors.append(relative_error(analytic[i], num))
    return GradcheckReport(names, errors, float(tol), analytic, numerical, op)


def directional_gradcheck(
    forward,
    backward,
    inputs,
    *,
    n_directions=4,
    eps=1e-6,
    tol=1e-7,
    seed=0,
    options=None,
    **extra_options,
):
    """Check an op's gradients along random directions (cheap for large inputs).

    Like PyTorch's fast gradcheck: with a random ``dout`` and a random unit direction
    ``v`` for one input, the analytic directional derivative ``<grad, v>`` is compared
    with ``(g(x + eps v) - g(x - eps v)) / (2 eps)``, where ``g = sum(out * dout)``.
    That costs two forward passes per direction instead of two per input entry.

    Parameters
    ----------
    forward, backward, inputs, eps, tol, seed, options, **extra_options
        As in :func:`gradcheck`.
    n_directions : int, default 4
        Directions drawn per input; each input's error is the :func:`relative_error` of
        its ``n_directions`` analytic and numerical directional derivatives, taken
        together.

    Returns
    -------
    GradcheckReport
        With ``kind == "directional"``; ``analytic`` and ``numerical`` hold the
        directional derivatives, one per direction.
    """
    func = "directional_gradcheck"
    options = _merge_options(options, extra_options, func)
    eps = _check_eps(eps, func)
    if isinstance(n_directions, bool) or not isinstance(n_directions, numbers.Integral):
        raise TypeError(f"{func}: n_directions must be an integer, got {n_directions!r}")
    if n_directions < 1:
        raise ValueError(f"{func}: n_directions must be >= 1, got {n_directions}")
    arrays, names, op = _prepare(forward, backward, inputs, func, tol)
    rng = np.random.default_rng(seed)
    out, cache = forward(*arrays, **options)
    dout = _draw_dout(out, rng)
    dout64 = np.asarray(dout, dtype=np.float64)
    analytic = _analytic(backward, dout, cache, len(arrays), func)
    ana_all, num_all, errors = [], [], []
    for i, x in enumerate(arrays):
        x64 = x.astype(np.float64)
        ana_i, num_i = [], []
        for _ in range(int(n_directions)):
            v = rng.standard_normal(x.shape)
            v /= max(np.linalg.norm(v), np.finfo(np.float64).tiny)
            vals = []
            for sign in (1.0, -1.0):
                args = list(arrays)
                args[i] = (x64 + sign * eps * v).astype(x.dtype)
                out_s = np.asarray(forward(*args, **options)[0], np.float64)
                vals.append(float(np.sum(out_s * dout64)))
            num_i.append((vals[0] - vals[1]) / (2 * eps))
            ana_i.append(float(np.sum(analytic[i] * v)))
        ana_all.append(np.array(ana_i))
        num_all.append(np.array(num_i))
        errors.append(relative_error(ana_all[-1], num_all[-1]))
    return GradcheckReport(names, errors, float(tol), ana_all, num_all, op, kind="directional")
