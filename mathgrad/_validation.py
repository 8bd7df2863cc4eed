"""Input checks shared by every public function of mathgrad.

Each public entry point calls these helpers first, passing its own name as ``func`` and
the argument's name as ``name``, so that a message reads like::

    conv2d_forward: w has 3 input channels but x has 4 (x: (2, 4, 8, 8), w: (5, 3, 3, 3))

Every helper raises ``TypeError`` for a value of the wrong kind (not array-like, complex,
object or string arrays, a float where an integer is needed) and ``ValueError`` for a
value of the right kind but the wrong shape, rank or range. None of them modifies its
argument; an array comes back as a new view or copy only when its dtype must change.

Whatever comes in, a plain ``np.ndarray`` comes out: an ndarray subclass (``np.matrix``,
whose ``*`` is a matrix product and whose reductions keep two dimensions, or any
``class Sub(np.ndarray)``) becomes a plain view of the same memory, so no public function
computes with subclass semantics or returns a subclass. A masked array is accepted only
when no entry is masked (its data is then used); otherwise ``TypeError``, as mathgrad has
no notion of a missing value. Floating input of either byte order keeps its precision and
comes out in native byte order (``>f4`` becomes float32, ``>f8`` float64).
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

__all__ = [
    "as_float_array",
    "as_label_array",
    "as_plain_array",
    "check_cache",
    "check_dout",
    "check_finite",
    "check_int",
    "check_int_pair",
    "check_nonzero_sizes",
    "check_option",
    "check_real",
    "check_seed",
    "check_shape",
    "fmt_shape",
    "loss_value",
]

_KEPT_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def fmt_shape(shape) -> str:
    """Format a shape as ``(2, 3)``, a 1-tuple as ``(5,)``, a scalar as ``()``."""
    return str(tuple(int(s) for s in shape))


def _describe(value) -> str:
    """Short description of a value for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {fmt_shape(value.shape)}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _plain(x, name: str, func: str) -> np.ndarray:
    """``x`` as a plain ndarray: subclasses become a base-class view, masked arrays their data.

    A masked array with a masked entry raises ``TypeError``: using its data would silently
    compute with the values behind the mask.
    """
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.ma.MaskedArray):
        n_masked = int(np.count_nonzero(np.ma.getmaskarray(x)))
        if n_masked:
            raise TypeError(
                f"{func}: {name} is a masked array with {n_masked} masked "
                f"entr{'y' if n_masked == 1 else 'ies'} (shape {fmt_shape(x.shape)}); "
                f"mathgrad has no missing values: pass {name}.filled(value) or select the "
                "entries you mean"
            )
        return np.asarray(x.data)
    return np.asarray(x)  # a view as the base class: np.matrix, any subclass


def as_plain_array(x, name: str, func: str) -> np.ndarray:
    """Return ``x`` as a plain ndarray of any dtype (ids, labels, masks), no other checks.

    An ndarray subclass becomes a plain view of its data, a masked array with a masked
    entry raises ``TypeError``, anything else goes through ``np.asarray``.
    """
    return _plain(x, name, func) if isinstance(x, np.ndarray) else np.asarray(x)


def check_finite(arr: np.ndarray, name: str, func: str, *, total=None) -> None:
    """Raise ``ValueError`` if the floating array ``arr`` holds NaN or infinity.

    ``total``, when given, is a sum of ``arr`` (per row or per channel) that the caller
    computes anyway. A sum with a NaN or an infinite term is itself NaN or infinite, so a
    finite ``total`` proves every entry finite and the check costs no pass over ``arr``;
    only a non-finite one (a non-finite entry, or finite entries whose sum overflows) needs
    the entrywise check, which decides.
    """
    if total is not None and np.isfinite(total).all():
        return
    if not np.isfinite(arr).all():
        raise ValueError(f"{func}: {name} contains NaN or infinity; expected finite values")


def as_float_array(
    x,
    name: str,
    func: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    finite: bool = True,
):
    """Return ``x`` as a plain floating ndarray, checking its kind, rank and values.

    float32 and float64 input keep their dtype; integer and bool input become float64;
    float16 becomes float32 and other floating kinds (long double) become float64.
    Non-native byte order keeps the precision (``>f4`` becomes native float32).
    Plain (nested) lists and scalars work where arrays do. An ndarray subclass
    (``np.matrix``, ...) becomes a plain view of its data; a masked array is accepted
    only when nothing is masked.

    Parameters
    ----------
    x : array_like
        The value to check.
    name : str
        The argument's name, for messages.
    func : str
        The public function's name, for messages.
    ndim : int or tuple of int, optional
        The accepted number(s) of dimensions.
    finite : bool, optional
        Check that every entry is finite (the default). ``False`` leaves that check to the
        caller, who then calls :func:`check_finite` with a sum it computes anyway.

    Returns
    -------
    ndarray
        ``x`` itself when it is already a plain native float32/float64 array (never
        modified), a plain view of it for a subclass, otherwise a converted copy.

    Raises
    ------
    TypeError
        If ``x`` is not array-like, or is complex, object, string or datetime data, or a
        masked array with masked entries.
    ValueError
        If ``x`` has the wrong number of dimensions, or holds NaN or infinity.
    """
    if isinstance(x, np.ndarray):
        arr = _plain(x, name, func)
    else:
        if isinstance(x, (str, bytes, dict, set)) or x is None:
            raise TypeError(f"{func}: {name} must be an array of real numbers, got {_describe(x)}")
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"{func}: {name} must be an array of real numbers (a NumPy array or a "
                f"nested list of equal-length rows), got {_describe(x)} ({exc})"
            ) from None
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{func}: {name} must be real, got complex dtype {arr.dtype}; "
            f"pass {name}.real if the imaginary part is zero"
        )
    if kind not in "fiub":
        raise TypeError(
            f"{func}: {name} must hold real numbers, got dtype {arr.dtype} "
            f"(shape {fmt_shape(arr.shape)})"
        )
    if kind in "iub":
        arr = arr.astype(np.float64)
    elif arr.dtype not in _KEPT_FLOATS:
        # float16 and >f4 become float32; >f8 and long double become float64
        arr = arr.astype(np.float32 if arr.dtype.itemsize <= 4 else np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{func}: {name} must have {want} dimension{'s' if allowed != (1,) else ''}, "
                f"got {arr.ndim} (shape {fmt_shape(arr.shape)})"
            )
    if finite:
        check_finite(arr, name, func)
    return arr


def as_label_array(y, name: str, func: str, *, n_classes: int, shape: tuple[int, ...]):
    """Return integer class labels as an ``intp`` array, checking shape and range.

    Whole-valued floats (``3.0``) are accepted; fractional values, NaN, and labels
    outside ``[0, n_classes)`` raise ``ValueError``.
    """
    arr = as_plain_array(y, name, func)
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "b":
        raise TypeError(f"{func}: {name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{func}: {name} must have shape {fmt_shape(shape)} (one label per row of "
            f"logits), got {fmt_shape(arr.shape)}"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr.size and not (arr == np.round(arr)).all()):
            raise ValueError(
                f"{func}: {name} as labels must be whole numbers, got non-integer values "
                f"such as {arr[(~np.isfinite(arr)) | (arr != np.round(arr))].ravel()[0]!r}"
            )
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{func}: {name} holds label {bad:g}, outside [0, {n_classes}) for "
                f"{n_classes} classes"
            )
    return arr.astype(np.intp)


def check_shape(arr: np.ndarray, shape: tuple[int, ...], name: str, func: str, hint: str = ""):
    """Raise ``ValueError`` unless ``arr.shape == shape``."""
    if arr.shape != tuple(shape):
        extra = f" {hint}" if hint else ""
        raise ValueError(
            f"{func}: {name} must have shape {fmt_shape(shape)}{extra}, got {fmt_shape(arr.shape)}"
        )


def check_dout(dout, shape: tuple[int, ...], func: str, name: str = "dout", *, finite=True):
    """Validate an upstream gradient: a finite float array of the forward output's shape.

    A 0-d output accepts a Python scalar. ``finite=False`` leaves the finiteness check to
    the caller (see :func:`as_float_array`).
    """
    arr = as_float_array(dout, name, func, finite=finite)
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{func}: {name} must have the shape of the forward output "
            f"{fmt_shape(shape)}, got {fmt_shape(arr.shape)}"
        )
    return arr


def check_nonzero_sizes(arr: np.ndarray, axes, name: str, func: str):
    """Raise ``ValueError`` if an axis that must not be empty has length 0.

    ``axes`` names every axis of ``arr`` in order (``("F", "C", "KH", "KW")``); an axis
    named ``""`` may be empty (the batch: an empty batch gives an empty result). Message::

        conv2d_forward: w has KH = 0 (w: (4, 3, 0, 3), axes (F, C, KH, KW)); expected KH >= 1
    """
    for size, axis in zip(arr.shape, axes, strict=True):
        if axis and size == 0:
            labels = ", ".join(a or "N" for a in axes)
            raise ValueError(
                f"{func}: {name} has {axis} = 0 ({name}: {fmt_shape(arr.shape)}, axes "
                f"({labels})); expected {axis} >= 1"
            )


def loss_value(total: float, dtype: np.dtype):
    """A loss as the contract returns it: a Python float for float64 logits, else a 0-d
    array of the logits' dtype (a Python float cannot carry float32)."""
    if np.dtype(dtype) == np.float64:
        return float(total)
    return np.asarray(total, dtype=dtype)


def check_int(value, name: str, func: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int; bools and non-integral numbers raise ``TypeError``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: {name} must be an integer, got {_describe(value)}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}: {name} must be an integer >= {minimum}, got {value}")
    return value


def check_int_pair(value, name: str, func: str, *, minimum: int = 1) -> tuple[int, int]:
    """Return an int or a pair of ints as a pair ``(a, b)``, each at least ``minimum``."""
    if isinstance(value, (tuple, list, np.ndarray)):
        items = (
            list(np.asarray(value, dtype=object).ravel())
            if not isinstance(value, (tuple, list))
            else list(value)
        )
        if len(items) != 2:
            raise ValueError(
                f"{func}: {name} must be an int or a pair of ints, got {len(items)} "
                f"values {tuple(items)!r}"
            )
    else:
        items = [value, value]
    out = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{func}: {name} must be an int or a pair of ints, got {_describe(value)}"
            )
        item = operator.index(item)
        if item < minimum:
            raise ValueError(
                f"{func}: {name} must be >= {minimum} in each direction, got {value!r}"
            )
        out.append(item)
    return out[0], out[1]


def check_real(
    value,
    name: str,
    func: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return a real scalar as a Python float, checking that it lies in a range.

    ``low``/``high`` bound the range (``None``: unbounded); ``low_open``/``high_open`` make
    that end exclusive. Bools, strings, arrays and complex numbers raise ``TypeError``;
    NaN, infinity and values outside the range raise ``ValueError``.

    Examples of messages::

        dropout_forward: p must be a number in [0, 1], got 1.5
        batchnorm_forward: eps must be a number > 0, got 0.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {_describe(value)}")
    value = float(value)
    if low is not None and high is not None:
        want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        want = f"{'>' if low_open else '>='} {low:g}"
    elif high is not None:
        want = f"{'<' if high_open else '<='} {high:g}"
    else:
        want = "finite"
    bad = not np.isfinite(value)
    if low is not None:
        bad = bad or value < low or (low_open and value == low)
    if high is not None:
        bad = bad or value > high or (high_open and value == high)
    if bad:
        raise ValueError(f"{func}: {name} must be a number {want}, got {value!r}")
    return value


def check_seed(seed, name: str, func: str) -> int | None:
    """Return ``seed`` unchanged when it is ``None`` or a non-negative int.

    A float (even ``3.0``), a bool or a string raises ``TypeError``; a negative int raises
    ``ValueError``.
    """
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{func}: {name} must be None or an int, got {_describe(seed)}")
    seed = operator.index(seed)
    if seed < 0:
        raise ValueError(f"{func}: {name} must be None or an int >= 0, got {seed}")
    return seed


def check_option(value, name: str, func: str, choices) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{func}: {name} must be one of {options}, got {value!r}")
    return value


def check_cache(cache, cls, func: str):
    """Raise ``TypeError`` unless ``cache`` is what the matching forward returned."""
    if not isinstance(cache, cls):
        forward = func.replace("_backward", "_forward")
        raise TypeError(
            f"{func}: cache must be the second value returned by {forward}, got {_describe(cache)}"
        )
    return cache
