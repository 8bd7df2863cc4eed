"""The private validation helpers every public function calls first."""

import numpy as np
import pytest

from mathgrad._validation import (
    as_float_array,
    as_label_array,
    as_plain_array,
    check_cache,
    check_dout,
    check_finite,
    check_int,
    check_int_pair,
    check_nonzero_sizes,
    check_option,
    check_real,
    check_seed,
    loss_value,
)


def test_float_dtypes_are_kept_and_others_converted():
    x32 = np.ones(3, np.float32)
    x64 = np.ones(3)
    assert as_float_array(x32, "x", "f") is x32
    assert as_float_array(x64, "x", "f") is x64
    assert as_float_array(np.ones(3, int), "x", "f").dtype == np.float64
    assert as_float_array(np.ones(3, bool), "x", "f").dtype == np.float64
    assert as_float_array(np.ones(3, np.float16), "x", "f").dtype == np.float32
    assert as_float_array([[1, 2], [3, 4]], "x", "f").shape == (2, 2)
    assert as_float_array(2.5, "x", "f").shape == ()


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (np.ones(2, complex), r"f: x must be real, got complex dtype complex128; pass x.real"),
        (np.array(["a"]), r"f: x must hold real numbers, got dtype <U1"),
        (np.array([object()]), r"f: x must hold real numbers, got dtype object"),
        ("abc", r"f: x must be an array of real numbers, got str 'abc'"),
        (None, r"f: x must be an array of real numbers, got NoneType None"),
        ([[1, 2], [3]], r"f: x must be an array of real numbers \(a NumPy array or a nested list"),
    ],
)
def test_wrong_kinds_raise_type_error(value, pattern):
    with pytest.raises(TypeError, match=pattern):
        as_float_array(value, "x", "f")


def test_wrong_rank_and_non_finite_raise_value_error():
    with pytest.raises(ValueError, match=r"f: x must have 4 dimensions, got 2 \(shape \(2, 3\)\)"):
        as_float_array(np.ones((2, 3)), "x", "f", ndim=4)
    with pytest.raises(ValueError, match=r"f: x must have 1 or 2 dimensions, got 3"):
        as_float_array(np.ones((2, 3, 1)), "x", "f", ndim=(1, 2))
    with pytest.raises(ValueError, match="f: x contains NaN or infinity"):
        as_float_array([1.0, np.nan], "x", "f")
    with pytest.raises(ValueError, match="f: x contains NaN or infinity"):
        as_float_array([1.0, -np.inf], "x", "f")


def test_labels():
    np.testing.assert_array_equal(
        as_label_array([0, 2.0], "y", "f", n_classes=3, shape=(2,)), [0, 2]
    )
    with pytest.raises(ValueError, match=r"f: y holds label 3, outside \[0, 3\) for 3 classes"):
        as_label_array([0, 3], "y", "f", n_classes=3, shape=(2,))
    with pytest.raises(ValueError, match=r"f: y holds label -1, outside \[0, 3\)"):
        as_label_array([-1, 0], "y", "f", n_classes=3, shape=(2,))
    with pytest.raises(ValueError, match="f: y as labels must be whole numbers, got non-integer"):
        as_label_array([0.5, 1], "y", "f", n_classes=3, shape=(2,))
    with pytest.raises(ValueError, match=r"f: y must have shape \(3,\) \(one label per row"):
        as_label_array([0, 1], "y", "f", n_classes=3, shape=(3,))
    with pytest.raises(TypeError, match="f: y must hold integer class labels, got dtype bool"):
        as_label_array([True, False], "y", "f", n_classes=3, shape=(2,))


def test_ints_and_pairs():
    assert check_int(3, "k", "f", minimum=0) == 3
    assert check_int(np.int64(2), "k", "f") == 2
    with pytest.raises(TypeError, match="f: k must be an integer, got float 2.0"):
        check_int(2.0, "k", "f")
    with pytest.raises(TypeError, match="f: k must be an integer, got bool True"):
        check_int(True, "k", "f")
    with pytest.raises(ValueError, match="f: k must be an integer >= 0, got -1"):
        check_int(-1, "k", "f", minimum=0)
    assert check_int_pair(2, "stride", "f") == (2, 2)
    assert check_int_pair((1, 3), "stride", "f") == (1, 3)
    assert check_int_pair(np.array([2, 1]), "stride", "f") == (2, 1)
    with pytest.raises(
        ValueError, match=r"f: stride must be an int or a pair of ints, got 3 values"
    ):
        check_int_pair((1, 2, 3), "stride", "f")
    with pytest.raises(TypeError, match="f: stride must be an int or a pair of ints, got float"):
        check_int_pair(1.5, "stride", "f")
    with pytest.raises(
        ValueError, match=r"f: stride must be >= 1 in each direction, got \(1, 0\)"
    ):
        check_int_pair((1, 0), "stride", "f")
    assert check_int_pair(0, "padding", "f", minimum=0) == (0, 0)


def test_option_cache_and_dout():
    assert check_option("tanh", "activation", "MLP", ("sigmoid", "tanh")) == "tanh"
    with pytest.raises(
        ValueError, match="MLP: activation must be one of 'sigmoid', 'tanh', got 'elu'"
    ):
        check_option("elu", "activation", "MLP", ("sigmoid", "tanh"))
    with pytest.raises(
        TypeError,
        match="op_backward: cache must be the second value returned by op_forward, got tuple",
    ):
        check_cache((1, 2), dict, "op_backward")
    assert check_dout(1.0, (), "f").shape == ()
    with pytest.raises(
        ValueError,
        match=r"f: dout must have the shape of the forward output "
        r"\(2, 3\), got \(3, 2\)",
    ):
        check_dout(np.ones((3, 2)), (2, 3), "f")


@pytest.mark.parametrize(
    ("kwargs", "value", "match"),
    [
        ({"low": 0, "high": 1}, 1.5, r"f: p must be a number in \[0, 1\], got 1.5"),
        ({"low": 0, "low_open": True}, 0.0, r"f: p must be a number > 0, got 0.0"),
        ({"low": 0, "high": 1, "high_open": True}, 1, r"in \[0, 1\), got 1.0"),
        ({}, float("nan"), r"must be a number finite, got nan"),
    ],
)
def test_check_real_rejects_values_outside_the_range(kwargs, value, match):
    with pytest.raises(ValueError, match=match):
        check_real(value, "p", "f", **kwargs)


@pytest.mark.parametrize("value", [True, "0.5", np.array([0.5]), 1j, None])
def test_check_real_rejects_non_numbers(value):
    with pytest.raises(TypeError, match="f: p must be a real number"):
        check_real(value, "p", "f", low=0, high=1)


def test_check_real_accepts_ends_and_numpy_scalars():
    assert check_real(np.float32(0.25), "p", "f", low=0, high=1) == 0.25
    assert check_real(0, "p", "f", low=0, high=1) == 0.0
    assert check_real(1, "p", "f", low=0, high=1) == 1.0


def test_check_seed():
    assert check_seed(None, "seed", "f") is None
    assert check_seed(np.int64(3), "seed", "f") == 3
    for bad in (3.0, True, "3"):
        with pytest.raises(TypeError, match="f: seed must be None or an int"):
            check_seed(bad, "seed", "f")
    with pytest.raises(ValueError, match="f: seed must be None or an int >= 0, got -1"):
        check_seed(-1, "seed", "f")


class _Sub(np.ndarray):
    pass


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_subclasses_become_plain_views():
    x = np.arange(6.0).reshape(2, 3)
    for sub in (x.view(_Sub), np.asmatrix(x), np.ma.masked_array(x)):
        arr = as_float_array(sub, "x", "f")
        assert type(arr) is np.ndarray and np.shares_memory(arr, x)
        np.testing.assert_array_equal(arr, x)
    labels = as_label_array(np.array([0, 2]).view(_Sub), "y", "f", n_classes=3, shape=(2,))
    assert type(labels) is np.ndarray


def test_masked_entries_raise_type_error():
    x = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 1])
    with pytest.raises(
        TypeError,
        match=r"^f: x is a masked array with 2 masked entries \(shape \(3,\)\); mathgrad has "
        r"no missing values: pass x.filled\(value\)",
    ):
        as_float_array(x, "x", "f")
    with pytest.raises(TypeError, match=r"^f: y is a masked array with 1 masked entry"):
        as_label_array(np.ma.masked_array([0, 1], mask=[1, 0]), "y", "f", n_classes=3, shape=(2,))


@pytest.mark.parametrize(
    ("code", "native"),
    [(">f4", np.float32), ("<f4", np.float32), (">f8", np.float64), (">f2", np.float32)],
)
def test_byte_order_keeps_the_precision(code, native):
    x = np.array([1.5, -2.25], dtype=code)
    arr = as_float_array(x, "x", "f")
    assert arr.dtype == np.dtype(native) and arr.dtype.isnative
    np.testing.assert_array_equal(arr, [1.5, -2.25])


def test_check_nonzero_sizes():
    check_nonzero_sizes(np.zeros((0, 3)), ("", "D"), "x", "f")  # an empty batch is fine
    with pytest.raises(
        ValueError,
        match=r"^f: w has KH = 0 \(w: \(4, 3, 0, 3\), axes \(F, C, KH, KW\)\); "
        r"expected KH >= 1$",
    ):
        check_nonzero_sizes(np.zeros((4, 3, 0, 3)), ("F", "C", "KH", "KW"), "w", "f")
    with pytest.raises(ValueError, match=r"^f: x has D = 0 \(x: \(0, 0\), axes \(N, D\)\)"):
        check_nonzero_sizes(np.zeros((0, 0)), ("", "D"), "x", "f")


def test_loss_value():
    assert type(loss_value(np.float64(0.5), np.float64)) is float
    v = loss_value(0.5, np.dtype(np.float32))
    assert type(v) is np.ndarray and v.shape == () and v.dtype == np.float32 and v == 0.5


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_as_plain_array_keeps_the_dtype():
    ids = np.array([[3, 1]])
    for value in (ids.view(_Sub), np.asmatrix(ids), np.ma.masked_array(ids), [[3, 1]]):
        arr = as_plain_array(value, "ids", "f")
        assert type(arr) is np.ndarray and arr.dtype == ids.dtype
        np.testing.assert_array_equal(arr, ids)
    with pytest.raises(TypeError, match=r"^f: ids is a masked array with 1 masked entry"):
        as_plain_array(np.ma.masked_array(ids, mask=[[1, 0]]), "ids", "f")


def test_finite_check_from_a_sum_is_exact():
    # a finite sum proves every entry finite; a non-finite one (an overflow of finite
    # entries, or inf − inf) falls back to the entrywise check, so nothing changes for users
    big = np.full((2, 2), np.finfo(np.float64).max)
    with np.errstate(over="ignore"):
        check_finite(big, "x", "f", total=big.sum(axis=1))  # the sums overflow, not the entries
    assert as_float_array(big, "x", "f") is big
    for bad in ([np.inf, -np.inf], [np.nan, 1.0], [1e308, 1e308, np.inf]):
        bad = np.array(bad)
        with pytest.raises(ValueError, match="f: x contains NaN or infinity"):
            as_float_array(bad, "x", "f")
        with pytest.raises(ValueError, match="f: x contains NaN or infinity"):
            with np.errstate(all="ignore"):
                check_finite(bad, "x", "f", total=bad.sum())
    check_finite(np.ones(3), "x", "f", total=np.ones(3).sum())
