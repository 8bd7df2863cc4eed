"""Tests of mathgrad.embedding: lookup, scatter-add backward, one-hot view, PyTorch, errors."""

import numpy as np
import pytest

from mathgrad import (
    embedding_backward,
    embedding_backward_loop,
    embedding_forward,
    gradcheck,
)


@pytest.mark.parametrize("ids_shape", [(), (7,), (3, 4), (2, 3, 2)])
def test_forward_is_a_lookup_and_backward_matches_the_loop(rng, ids_shape):
    weight = rng.standard_normal((6, 5))
    ids = rng.integers(0, 6, size=ids_shape)
    out, cache = embedding_forward(ids, weight)
    assert out.shape == ids_shape + (5,)
    np.testing.assert_array_equal(out, weight[ids])
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(
        embedding_backward(dout, cache), embedding_backward_loop(dout, cache), rtol=1e-14
    )


def test_backward_is_the_transposed_one_hot_product(rng):
    weight = rng.standard_normal((8, 3))
    ids = np.array([[1, 4, 4], [7, 1, 4]])
    out, cache = embedding_forward(ids, weight)
    one_hot = np.eye(8)[ids.ravel()]  # (P, V)
    np.testing.assert_allclose(out.reshape(-1, 3), one_hot @ weight, rtol=1e-15)
    dout = rng.standard_normal(out.shape)
    dweight = embedding_backward(dout, cache)
    np.testing.assert_allclose(dweight, one_hot.T @ dout.reshape(-1, 3), rtol=1e-14)
    # a row looked up three times gets the sum of its three gradients
    np.testing.assert_allclose(dweight[4], dout[0, 1] + dout[0, 2] + dout[1, 2], rtol=1e-14)
    # rows never looked up get exactly zero
    assert (dweight[[0, 2, 3, 5, 6]] == 0).all()


@pytest.mark.parametrize("pattern", ["all equal", "few distinct", "all distinct"])
def test_repeated_ids_add_in_position_order(rng, pattern):
    ids = {
        "all equal": np.full((4, 9), 3),
        "few distinct": rng.integers(0, 3, size=(5, 7)),
        "all distinct": rng.permutation(40).reshape(5, 8),
    }[pattern]
    out, cache = embedding_forward(ids, rng.standard_normal((40, 6)))
    dout = rng.standard_normal(out.shape)
    # the same additions in the same order as the loop: equal to the last bit
    np.testing.assert_array_equal(
        embedding_backward(dout, cache), embedding_backward_loop(dout, cache)
    )


def test_gradcheck(rng):
    ids = np.array([[0, 2, 2, 3], [3, 3, 0, 2]])
    report = gradcheck(
        lambda w: embedding_forward(ids, w), embedding_backward, (rng.standard_normal((5, 3)),)
    )
    assert report.passed, str(report)


def test_dtypes_and_empty_ids(rng):
    ids = np.array([1, 0], dtype=np.uint8)
    out, cache = embedding_forward(ids, rng.standard_normal((3, 2)).astype(np.float32))
    assert out.dtype == np.float32
    assert embedding_backward(np.ones((2, 2), np.float32), cache).dtype == np.float32
    out, cache = embedding_forward([2, 2], [[1, 2], [3, 4], [5, 6]])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(
        embedding_backward(np.ones((2, 2)), cache), [[0, 0], [0, 0], [2, 2]]
    )
    out, cache = embedding_forward(np.zeros((0, 3), dtype=int), np.ones((4, 2)))
    assert out.shape == (0, 3, 2)
    np.testing.assert_array_equal(embedding_backward(out, cache), np.zeros((4, 2)))


def test_matches_torch_with_repeated_ids(rng):
    torch = pytest.importorskip("torch")
    weight = rng.standard_normal((10, 4))
    ids = rng.integers(0, 4, size=(3, 6))  # rows 4..9 never used, rows 0..3 repeated
    wt = torch.tensor(weight, requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids), wt)
    out, cache = embedding_forward(ids, weight)
    np.testing.assert_array_equal(out, ref.detach().numpy())
    dout = rng.standard_normal(out.shape)
    ref.backward(torch.tensor(dout))
    np.testing.assert_allclose(embedding_backward(dout, cache), wt.grad.numpy(), rtol=1e-13)


def test_errors(rng):
    weight = rng.standard_normal((5, 3))
    with pytest.raises(TypeError, match=r"embedding_forward: ids must hold integers .* float64"):
        embedding_forward(np.array([1.0, 2.0]), weight)
    with pytest.raises(TypeError, match=r"embedding_forward: ids must hold integers .* bool"):
        embedding_forward(np.array([True, False]), weight)
    with pytest.raises(TypeError, match=r"embedding_forward: ids must be an integer array"):
        embedding_forward(None, weight)
    with pytest.raises(ValueError, match=r"embedding_forward: ids holds 5, outside \[0, 5\)"):
        embedding_forward([[0, 5]], weight)
    with pytest.raises(ValueError, match=r"embedding_forward: ids holds -1, outside \[0, 5\)"):
        embedding_forward([-1, 2], weight)
    with pytest.raises(ValueError, match=r"embedding_forward: weight must have 2 dimensions"):
        embedding_forward([0], weight[0])
    out, cache = embedding_forward([[0, 1]], weight)
    with pytest.raises(
        ValueError, match=r"embedding_backward: dout must have the shape .* \(1, 2, 3\)"
    ):
        embedding_backward(out[0], cache)
    with pytest.raises(TypeError, match=r"embedding_backward: cache must be the second value"):
        embedding_backward(out, {"ids": [0, 1]})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n_lookups", [2, 40])  # fewer entries looked up than the table's, more
def test_non_finite_rows_raise_only_when_looked_up(rng, bad, n_lookups):
    weight = rng.standard_normal((6, 3))
    weight[4, 1] = bad
    ids = np.resize([0, 1, 2, 3, 5], n_lookups)  # every row but 4
    out, _ = embedding_forward(ids, weight)  # row 4 is never read
    np.testing.assert_array_equal(out, weight[ids])
    ids[n_lookups // 2] = 4
    with pytest.raises(ValueError, match=r"embedding_forward: weight row 4, which ids looks up"):
        embedding_forward(ids, weight)
    dout = np.ones(out.shape)
    dout[0, 0] = bad
    _, cache = embedding_forward(np.resize([0, 1], n_lookups), weight)
    with pytest.raises(ValueError, match=r"embedding_backward: dout contains NaN or infinity"):
        embedding_backward(dout, cache)


@pytest.mark.parametrize(("n_rows", "shape"), [(3, (50,)), (7, (4, 6)), (50, (5,)), (1, (9,))])
def test_backward_equals_the_loop_exactly(rng, n_rows, shape):
    # one assignment for every position, then the sums of repeated ids, rank by rank: the
    # same additions in the same order as the loop, so the same bits
    ids = rng.integers(0, n_rows, shape)
    weight = rng.standard_normal((n_rows, 4))
    dout = rng.standard_normal((*shape, 4))
    _, cache = embedding_forward(ids, weight)
    np.testing.assert_array_equal(
        embedding_backward(dout, cache), embedding_backward_loop(dout, cache)
    )
