"""Tests of mathgrad.optim: the update rules written out, PyTorch, clipping, validation."""

import numpy as np
import pytest

from mathgrad import SGD, Adam, clip_grad_norm

# --- the rules written out step by step (independent oracles) -----------------------


def sgd_loop(params, grad_fn, steps, lr, momentum=0.0, weight_decay=0.0):
    """SGD as the book writes it, entry by entry: returns the parameters after each step.

    ``grad_fn(t, params) -> grads`` gives the gradients at step ``t`` (from 1).
    """
    theta = [p.astype(np.float64).ravel().tolist() for p in params]
    shapes = [p.shape for p in params]
    buf = [None] * len(params)
    history = []
    for t in range(1, steps + 1):
        arrays = [np.array(th).reshape(s) for th, s in zip(theta, shapes, strict=True)]
        grads = [np.asarray(g, np.float64).ravel() for g in grad_fn(t, arrays)]
        for k in range(len(theta)):
            g = [grads[k][i] + weight_decay * theta[k][i] for i in range(len(theta[k]))]
            if momentum:
                if buf[k] is None:
                    buf[k] = list(g)  # first step: nu_1 = g_1
                else:
                    buf[k] = [momentum * u + gi for u, gi in zip(buf[k], g, strict=True)]
                g = buf[k]
            theta[k] = [th - lr * gi for th, gi in zip(theta[k], g, strict=True)]
        history.append([np.array(th).reshape(s) for th, s in zip(theta, shapes, strict=True)])
    return history


def adam_loop(params, grad_fn, steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """Adam as Kingma and Ba write it (bias-corrected m̂, v̂), entry by entry."""
    beta1, beta2 = betas
    theta = [p.astype(np.float64).ravel().tolist() for p in params]
    shapes = [p.shape for p in params]
    m = [[0.0] * len(th) for th in theta]
    s = [[0.0] * len(th) for th in theta]
    history = []
    for t in range(1, steps + 1):
        arrays = [np.array(th).reshape(sh) for th, sh in zip(theta, shapes, strict=True)]
        grads = [np.asarray(g, np.float64).ravel() for g in grad_fn(t, arrays)]
        for k in range(len(theta)):
            for i in range(len(theta[k])):
                g = grads[k][i] + weight_decay * theta[k][i]
                m[k][i] = beta1 * m[k][i] + (1 - beta1) * g
                s[k][i] = beta2 * s[k][i] + (1 - beta2) * g * g
                m_hat = m[k][i] / (1 - beta1**t)
                s_hat = s[k][i] / (1 - beta2**t)
                theta[k][i] -= lr * m_hat / (np.sqrt(s_hat) + eps)
        history.append([np.array(th).reshape(sh) for th, sh in zip(theta, shapes, strict=True)])
    return history


def make_problem(rng, shapes=((3, 4), (4,), (2, 2, 3))):
    """Parameters and a gradient that depends on them (a quadratic plus noise per step)."""
    params = [rng.standard_normal(s) for s in shapes]
    scales = [rng.uniform(0.5, 2.0, size=s) for s in shapes]
    noise = {}

    def grad_fn(t, ps):
        if t not in noise:
            noise[t] = [0.1 * rng.standard_normal(s) for s in shapes]
        return [sc * p + nz for sc, p, nz in zip(scales, ps, noise[t], strict=True)]

    return params, grad_fn


def run(opt, grad_fn, steps):
    history = []
    for t in range(1, steps + 1):
        opt.step(grad_fn(t, opt.params))
        history.append([p.copy() for p in opt.params])
    return history


def assert_histories_close(a, b, rtol=1e-12, atol=1e-13):
    assert len(a) == len(b)
    for step, (pa, pb) in enumerate(zip(a, b, strict=True), start=1):
        for k, (x, y) in enumerate(zip(pa, pb, strict=True)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step}, p{k}")


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_sgd_matches_rule_written_out(rng, momentum, weight_decay):
    params, grad_fn = make_problem(rng)
    expected = sgd_loop(params, grad_fn, 12, 0.1, momentum, weight_decay)
    got = run(SGD([p.copy() for p in params], 0.1, momentum, weight_decay), grad_fn, 12)
    assert_histories_close(got, expected)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_rule_written_out(rng, betas, weight_decay):
    params, grad_fn = make_problem(rng)
    expected = adam_loop(params, grad_fn, 12, 0.01, betas, 1e-8, weight_decay)
    opt = Adam([p.copy() for p in params], 0.01, betas, 1e-8, weight_decay)
    assert_histories_close(run(opt, grad_fn, 12), expected)


def test_sgd_momentum_first_step_is_the_gradient():
    # nu_1 = g_1 (PyTorch, the same as starting from nu_0 = 0), not the damped
    # (1 - beta) g_1; then nu_2 = beta nu_1 + g_2. Both steps by hand.
    p = np.array([1.0, -2.0])
    opt = SGD([p], lr=0.5, momentum=0.9)
    opt.step([np.array([2.0, 4.0])])
    np.testing.assert_array_equal(p, [0.0, -4.0])
    np.testing.assert_array_equal(opt.momentum_buffers[0], [2.0, 4.0])
    opt.step([np.array([1.0, 0.0])])  # nu_2 = 0.9 · (2, 4) + (1, 0) = (2.8, 3.6)
    np.testing.assert_allclose(opt.momentum_buffers[0], [2.8, 3.6], rtol=1e-15)
    np.testing.assert_allclose(p, [0.0 - 1.4, -4.0 - 1.8], rtol=1e-15)


def test_weight_decay_is_added_to_the_gradient():
    p = np.array([2.0, -4.0])
    SGD([p], lr=0.1, weight_decay=0.5).step([np.zeros(2)])
    np.testing.assert_allclose(p, [2.0 * (1 - 0.05), -4.0 * (1 - 0.05)], rtol=1e-15)
    q = np.array([2.0, -4.0])
    Adam([q], lr=0.1, weight_decay=0.5).step([np.zeros(2)])
    # g = λ p, and Adam's first step moves by lr·sign(g) (up to eps)
    np.testing.assert_allclose(q, [2.0 - 0.1, -4.0 + 0.1], rtol=1e-7)


def test_adam_bias_correction_makes_steps_lr_for_a_constant_gradient():
    # With g_t = g for every t, m̂_t = g and ŝ_t = g² exactly, so each step is
    # lr·g/(|g| + eps) ≈ lr·sign(g). Without the corrections the first step would be
    # lr·0.1/sqrt(0.001) ≈ 3.16·lr.
    p = np.array([0.0, 0.0, 0.0])
    g = np.array([1e-3, -2.0, 50.0])
    opt = Adam([p], lr=0.01)
    for _ in range(5):
        before = p.copy()
        opt.step([g])
        np.testing.assert_allclose(before - p, 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-10)
    assert opt.t == 5


def test_lr_zero_changes_nothing(rng):
    params, grad_fn = make_problem(rng)
    copies = [p.copy() for p in params]
    run(SGD(copies, 0.0, momentum=0.9, weight_decay=0.1), grad_fn, 3)
    run(Adam(copies, 0.0, weight_decay=0.1), grad_fn, 3)
    for p, c in zip(params, copies, strict=True):
        np.testing.assert_array_equal(p, c)


# --- PyTorch -----------------------------------------------------------------------------


def torch_history(torch, opt_cls, params, grad_fn, steps, **kwargs):
    tensors = [torch.tensor(p, dtype=torch.float64) for p in params]
    opt = opt_cls(tensors, **kwargs)
    history = []
    for t in range(1, steps + 1):
        grads = grad_fn(t, [x.detach().numpy().copy() for x in tensors])
        for x, g in zip(tensors, grads, strict=True):
            x.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        history.append([x.detach().numpy().copy() for x in tensors])
    return history


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_sgd_matches_torch(rng, momentum, weight_decay):
    torch = pytest.importorskip("torch")
    params, grad_fn = make_problem(rng)
    expected = torch_history(
        torch,
        torch.optim.SGD,
        params,
        grad_fn,
        100,
        lr=0.05,
        momentum=momentum,
        weight_decay=weight_decay,
    )
    got = run(SGD([p.copy() for p in params], 0.05, momentum, weight_decay), grad_fn, 100)
    assert_histories_close(got, expected)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.8, 0.99)])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("eps", [1e-8, 1e-3])
def test_adam_matches_torch(rng, betas, weight_decay, eps):
    torch = pytest.importorskip("torch")
    params, grad_fn = make_problem(rng)
    expected = torch_history(
        torch,
        torch.optim.Adam,
        params,
        grad_fn,
        100,
        lr=0.01,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
    )
    opt = Adam([p.copy() for p in params], 0.01, betas, eps, weight_decay)
    assert_histories_close(run(opt, grad_fn, 100), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-3, 0.7, 1.0, 3.0, 1e4])
def test_clip_grad_norm_matches_torch(rng, scale):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal(s) for s in ((3, 4), (5,), (2, 1, 3))]
    total = np.sqrt(sum(np.sum(g**2) for g in grads))
    grads = [g * scale / total for g in grads]  # joint norm = scale
    clipped, norm = clip_grad_norm(grads, 1.0)
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for x, g in zip(tensors, grads, strict=True):
        x.grad = torch.tensor(g)
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    assert norm == pytest.approx(float(torch_norm), rel=1e-14)
    assert norm == pytest.approx(scale, rel=1e-12)
    for c, x in zip(clipped, tensors, strict=True):
        np.testing.assert_allclose(c, x.grad.numpy(), rtol=1e-14, atol=0)


# --- clip_grad_norm ------------------------------------------------------------------


def test_clip_grad_norm_scales_to_max_norm(rng):
    grads = [rng.standard_normal((4, 3)) * 10, rng.standard_normal(7) * 10]
    clipped, total = clip_grad_norm(grads, 2.5)
    assert total == pytest.approx(np.sqrt(sum(np.sum(g**2) for g in grads)), rel=1e-14)
    assert total > 2.5
    new_norm = np.sqrt(sum(np.sum(c**2) for c in clipped))
    assert new_norm == pytest.approx(2.5 * total / (total + 1e-6), rel=1e-14)
    for c, g in zip(clipped, grads, strict=True):  # one common factor: directions kept
        np.testing.assert_allclose(c, g * (2.5 / (total + 1e-6)), rtol=1e-14)


def test_clip_grad_norm_below_max_norm_returns_equal_copies(rng):
    grads = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    clipped, total = clip_grad_norm(grads, 100.0)
    assert total < 100
    for c, g in zip(clipped, grads, strict=True):
        np.testing.assert_array_equal(c, g)
        assert c is not g and not np.shares_memory(c, g)


def test_clip_grad_norm_leaves_inputs_untouched_and_keeps_dtypes(rng):
    grads = [rng.standard_normal((3, 3)).astype(np.float32) * 100, rng.standard_normal(2) * 100]
    copies = [g.copy() for g in grads]
    clipped, total = clip_grad_norm(grads, 1.0)
    assert isinstance(total, float)
    assert [c.dtype for c in clipped] == [np.float32, np.float64]
    for g, c in zip(grads, copies, strict=True):
        np.testing.assert_array_equal(g, c)
    ints, total_int = clip_grad_norm([[3, 4]], 1.0)
    assert ints[0].dtype == np.float64 and total_int == 5.0


def test_clip_grad_norm_of_nothing():
    assert clip_grad_norm([], 1.0) == ([], 0.0)


# --- in place, dtypes, arguments untouched ------------------------------------------


@pytest.mark.parametrize("make", [lambda p: SGD(p, 0.1, momentum=0.9), lambda p: Adam(p, 0.1)])
def test_step_updates_the_same_arrays_and_leaves_grads_alone(rng, make):
    params = [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    ids = [id(p) for p in params]
    before = [p.copy() for p in params]
    opt = make(params)
    grads = [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    grad_copies = [g.copy() for g in grads]
    opt.step(grads)
    opt.step(grads)
    assert [id(p) for p in opt.params] == ids
    for p, b, g, gc in zip(params, before, grads, grad_copies, strict=True):
        assert not np.array_equal(p, b)
        np.testing.assert_array_equal(g, gc)


@pytest.mark.parametrize("make", [lambda p: SGD(p, 0.1, momentum=0.9), lambda p: Adam(p, 0.1)])
def test_float32_params_stay_float32(rng, make):
    p = rng.standard_normal((3, 2)).astype(np.float32)
    opt = make([p])
    opt.step([rng.standard_normal((3, 2))])  # float64 gradient
    opt.step([rng.integers(-3, 3, size=(3, 2)).tolist()])  # integers, as a list
    assert p.dtype == np.float32
    assert np.isfinite(p).all()


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SGD, Adam])
@pytest.mark.parametrize(
    "params, error, match",
    [
        (np.zeros(3), TypeError, r"params must be a list of arrays, got ndarray"),
        ("abc", TypeError, r"params must be a list of arrays, got str"),
        ([], ValueError, r"params is empty"),
        ([np.zeros(2), [1.0, 2.0]], TypeError, r"params\[1\] must be a NumPy array .* got list"),
        ([np.zeros(2, dtype=int)], TypeError, r"params\[0\] must be a float32 or float64 array"),
        ([np.zeros(2, dtype=complex)], TypeError, r"params\[0\] must be a float32 or float64"),
    ],
)
def test_bad_params(cls, params, error, match):
    with pytest.raises(error, match=cls.__name__ + ": " + match):
        cls(params, 0.1)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_read_only_and_repeated_params(cls):
    p = np.zeros(3)
    p.setflags(write=False)
    with pytest.raises(ValueError, match=cls.__name__ + r": params\[0\] is read-only"):
        cls([p], 0.1)
    q = np.zeros(3)
    with pytest.raises(ValueError, match=r"params\[1\] is the same array as params\[0\]"):
        cls([q, q], 0.1)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda p: SGD(p, -0.1), ValueError, r"SGD: lr must be a number >= 0, got -0.1"),
        (lambda p: SGD(p, "0.1"), TypeError, r"SGD: lr must be a real number"),
        (lambda p: SGD(p, 0.1, momentum=1.0), ValueError, r"SGD: momentum must be .* \[0, 1\)"),
        (lambda p: SGD(p, 0.1, momentum=-0.5), ValueError, r"SGD: momentum must be .*got -0.5"),
        (lambda p: SGD(p, 0.1, weight_decay=-1), ValueError, r"SGD: weight_decay must be .* >= 0"),
        (lambda p: Adam(p, -1e-3), ValueError, r"Adam: lr must be a number >= 0, got -0.001"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), ValueError, r"Adam: betas\[1\] must be .*\[0, 1\)"),
        (lambda p: Adam(p, betas=(-0.1, 0.9)), ValueError, r"Adam: betas\[0\] must be .*-0.1"),
        (lambda p: Adam(p, betas=0.9), TypeError, r"Adam: betas must be a pair"),
        (lambda p: Adam(p, betas=(0.9,)), ValueError, r"Adam: betas must be a pair .* 1 values"),
        (lambda p: Adam(p, eps=0.0), ValueError, r"Adam: eps must be a number > 0, got 0.0"),
        (lambda p: Adam(p, eps=-1e-8), ValueError, r"Adam: eps must be a number > 0"),
        (lambda p: Adam(p, weight_decay=-1e-4), ValueError, r"Adam: weight_decay must be"),
        (lambda p: Adam(p, lr=float("nan")), ValueError, r"Adam: lr must be a number >= 0"),
    ],
)
def test_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make([np.zeros(2)])


@pytest.mark.parametrize("cls", [SGD, Adam])
@pytest.mark.parametrize(
    "grads, error, match",
    [
        ([np.zeros((2, 3))], ValueError, r"got 1 gradients for 2 parameters"),
        ([np.zeros((2, 3)), np.zeros(3), np.zeros(1)], ValueError, r"got 3 gradients for 2"),
        (
            [np.zeros((3, 2)), np.zeros(3)],
            ValueError,
            r"grads\[0\] has shape \(3, 2\) but params\[0\] has shape \(2, 3\)",
        ),
        ([np.zeros((2, 3)), np.zeros(4)], ValueError, r"grads\[1\] has shape \(4,\) but params"),
        ([np.zeros((2, 3)), np.full(3, np.nan)], ValueError, r"grads\[1\] contains NaN"),
        ([np.zeros((2, 3)), np.zeros(3, complex)], TypeError, r"grads\[1\] must be real"),
        (np.zeros(3), TypeError, r"grads must be a list of arrays, got ndarray"),
    ],
)
def test_bad_grads(cls, grads, error, match):
    params = [np.ones((2, 3)), np.ones(3)]
    opt = cls(params, 0.1)
    with pytest.raises(error, match=cls.__name__ + r"\.step: " + match):
        opt.step(grads)
    np.testing.assert_array_equal(params[0], 1.0)  # nothing updated by a refused step


@pytest.mark.parametrize(
    "grads, max_norm, error, match",
    [
        ([np.ones(2)], 0.0, ValueError, r"max_norm must be a number > 0, got 0.0"),
        ([np.ones(2)], -1.0, ValueError, r"max_norm must be a number > 0"),
        ([np.ones(2)], "1", TypeError, r"max_norm must be a real number"),
        (np.ones(2), 1.0, TypeError, r"grads must be a list of arrays, got ndarray"),
        ([np.ones(2), np.array([np.inf])], 1.0, ValueError, r"grads\[1\] contains NaN or inf"),
        ([np.ones(2), "x"], 1.0, TypeError, r"grads\[1\] must be an array of real numbers"),
    ],
)
def test_clip_grad_norm_validation(grads, max_norm, error, match):
    with pytest.raises(error, match=r"clip_grad_norm: " + match):
        clip_grad_norm(grads, max_norm)
