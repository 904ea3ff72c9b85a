"""gradcli.finite_diff: central differences with Richardson extrapolation, checked against mpmath at 50 digits."""

from __future__ import annotations

import tracemalloc

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import ShapeError
from gradcli.language.expr import parse
from gradcli.numerics.finite_diff import (
    directional,
    gradient,
    locate_mismatch,
    one_sided,
    CACHE_BYTES,
    STEP,
    partial,
    step_size,
)
from gradcli.numerics.forward import evaluate

mpmath.mp.dps = 50


def _mp_gradient(fn, point):
    """The exact gradient (to 50 digits) of fn(*args) at point, by mpmath.diff."""
    mpmath.mp.dps = 50
    args = [mpmath.mpf(float(v)) for v in point]
    out = []
    for i in range(len(args)):
        order = tuple(1 if j == i else 0 for j in range(len(args)))
        out.append(float(mpmath.diff(fn, args, order)))
    return np.array(out)


# each: (numpy batched form over columns of X (B, 3), mpmath form, points)
_SMOOTH = {
    "ln(x)+exp(y)*z": (
        lambda X: np.log(X[:, 0]) + np.exp(X[:, 1]) * X[:, 2],
        lambda x, y, z: mpmath.log(x) + mpmath.exp(y) * z,
        [(1.0, 3.0, 2.0), (0.4, -1.2, 5.5)],
    ),
    "sin(x*y)+cos(y)/z": (
        lambda X: np.sin(X[:, 0] * X[:, 1]) + np.cos(X[:, 1]) / X[:, 2],
        lambda x, y, z: mpmath.sin(x * y) + mpmath.cos(y) / z,
        [(0.3, 1.7, 2.0), (-1.1, 0.6, -3.0)],
    ),
    "tanh(x)*sigmoid(y)+sqrt(z)": (
        lambda X: np.tanh(X[:, 0]) / (1 + np.exp(-X[:, 1])) + np.sqrt(X[:, 2]),
        lambda x, y, z: mpmath.tanh(x) / (1 + mpmath.exp(-y)) + mpmath.sqrt(z),
        [(0.5, -0.3, 4.0), (-2.0, 1.5, 0.7)],
    ),
    "atan(x/y)+x^3-y*z^2": (
        lambda X: np.arctan(X[:, 0] / X[:, 1]) + X[:, 0] ** 3 - X[:, 1] * X[:, 2] ** 2,
        lambda x, y, z: mpmath.atan(x / y) + x**3 - y * z**2,
        [(1.5, 2.0, -0.5), (1.2, -3.0, 0.25)],
    ),
    "ln(e^x+e^y+e^z)": (
        lambda X: np.log(np.exp(X[:, 0]) + np.exp(X[:, 1]) + np.exp(X[:, 2])),
        lambda x, y, z: mpmath.log(mpmath.exp(x) + mpmath.exp(y) + mpmath.exp(z)),
        [(0.1, 0.2, -0.3), (3.0, -1.0, 2.0)],
    ),
    "(x*y*z)^2/(1+x^2)": (
        lambda X: (X[:, 0] * X[:, 1] * X[:, 2]) ** 2 / (1 + X[:, 0] ** 2),
        lambda x, y, z: (x * y * z) ** 2 / (1 + x**2),
        [(0.8, 1.3, -0.6), (2.5, 0.7, -1.5)],
    ),
}


@pytest.mark.parametrize("name", sorted(_SMOOTH))
def test_gradient_matches_mpmath_to_1e_9(name):
    f, f_mp, points = _SMOOTH[name]
    for point in points:
        x = np.array(point)
        res = gradient(f, x)
        true = _mp_gradient(f_mp, point)
        rel = np.abs(res.value - true) / np.abs(true)
        assert np.all(rel <= 1e-9), (point, rel)
        assert np.all(np.abs(res.value - true) <= res.error), (point, res.error)
        assert res.evaluations == 6 * x.size


def test_ill_conditioned_entries_stay_within_their_error_estimate():
    """|f| / |f'| = 12000 here (x³ dominates f, ∂f/∂y is small): rounding, about eps·|f| / H, limits any
    finite difference; the result stays inside its error estimate and far inside the 1e-6 floor."""
    f, f_mp, _ = _SMOOTH["atan(x/y)+x^3-y*z^2"]
    point = (12.0, -3.0, 0.25)
    res = gradient(f, np.array(point))
    true = _mp_gradient(f_mp, point)
    assert np.all(np.abs(res.value - true) <= res.error)
    assert np.all(np.abs(res.value - true) <= 1e-8 * np.abs(true))
    assert res.error[1] > 1e-9 * abs(true[1])


def batched(node, env, wrt):
    """f(X) -> (B,): the scalar expression with `wrt` set to each of X's B copies, the rest from `env`."""
    fixed = {n: np.asarray(v, dtype=np.float64)[None] for n, v in env.items() if n != wrt}
    return lambda X: evaluate(node, {**fixed, wrt: X}, batch=True).reshape(X.shape[0])


def test_gradient_through_forward_matches_mpmath():
    node = parse("ln(x)+exp(y)*z")
    env = {"x": 1.0, "y": 3.0, "z": 2.0}
    true = _mp_gradient(lambda x, y, z: mpmath.log(x) + mpmath.exp(y) * z, (1.0, 3.0, 2.0))
    for name, want in zip("xyz", true):
        res = gradient(batched(node, env, name), np.float64(env[name]))
        assert res.value.shape == ()
        assert abs(float(res.value) - want) <= 1e-10 * abs(want)


def test_gradient_of_a_matrix_parameter_through_forward():
    rng = np.random.default_rng(3)
    W, x, y = rng.normal(size=(4, 3)), rng.normal(size=(3, 1)), rng.normal(size=(4, 1))
    node = parse("0.5 * norm(tanh(W @ x) - y)^2")
    res = gradient(batched(node, {"W": W, "x": x, "y": y}, "W"), W)
    h = np.tanh(W @ x)
    exact = ((h - y) * (1 - h**2)) @ x.T
    assert res.value.shape == W.shape
    np.testing.assert_allclose(res.value, exact, rtol=1e-8, atol=1e-12)


def _cubic(coeffs):
    a, b, c, d = coeffs
    return (lambda X: a + b * X + c * X**2 + d * X**3), b, c, d


_coef = st.one_of(st.just(0.0), st.floats(1e-100, 10), st.floats(-10, -1e-100))


@settings(max_examples=200, deadline=None)
@given(coeffs=st.tuples(_coef, _coef, _coef, _coef), x=st.floats(-3, 3, allow_nan=False))
def test_cubics_are_differentiated_to_rounding(coeffs, x):
    """For degree <= 3, D(h) = p' + p'''h²/6 exactly, so the extrapolation leaves only rounding."""
    p, b, c, d = _cubic(coeffs)
    true = b + 2 * c * x + 3 * d * x * x
    res = gradient(lambda X: p(X[:, 0]), np.array([x]))
    scale = (abs(coeffs[0]) + abs(b * x) + abs(c * x * x) + abs(d * x**3) + abs(b) + abs(2 * c * x)
             + abs(3 * d * x * x) + 1e-6 * sum(abs(a) for a in coeffs))
    assert abs(res.value[0] - true) <= 1e-9 * scale
    assert abs(res.value[0] - true) <= res.error[0] + 1e-15 * scale


@settings(max_examples=100, deadline=None)
@given(x=st.floats(-5, 5, allow_nan=False), y=st.floats(0.1, 5, allow_nan=False))
def test_error_estimate_bounds_the_true_error(x, y):
    def f(X):
        return np.sin(X[:, 0]) * np.exp(X[:, 0] / 3) + np.log(X[:, 1]) * X[:, 0] ** 2

    res = gradient(f, np.array([x, y]))
    true = _mp_gradient(lambda a, b: mpmath.sin(a) * mpmath.exp(a / 3) + mpmath.log(b) * a**2, (x, y))
    assert np.all(np.abs(res.value - true) <= res.error)


def test_step_is_a_power_of_two_and_the_points_are_exact():
    x = np.array([0.0, 1e-8, 1.0, 3.0, -1e5, 0.7])
    H = step_size(x)
    assert np.all(np.log2(H) == np.round(np.log2(H)))
    ideal = STEP * np.maximum(1, np.abs(x))
    assert np.all((H <= ideal * np.sqrt(2)) & (H >= ideal / np.sqrt(2)))
    exact = x[[0, 2, 3, 4, 5]]  # 1e-8 + H is not a float: the quotients use the steps actually taken
    for h in (H[[0, 2, 3, 4, 5]], H[[0, 2, 3, 4, 5]] / 2, H[[0, 2, 3, 4, 5]] / 4):
        assert np.all((exact + h) - exact == h) and np.all(exact - (exact - h) == h)


def test_any_shape_and_scalars():
    A = np.arange(1.0, 7.0).reshape(2, 3)
    res = gradient(lambda X: np.sum(X**2, axis=(1, 2)), A)
    assert res.value.shape == (2, 3) and res.error.shape == (2, 3) and res.step.shape == (2, 3)
    np.testing.assert_allclose(res.value, 2 * A, rtol=1e-12)
    res = gradient(lambda X: X**3, 2.0)
    assert res.value.shape == () and float(res.value) == pytest.approx(12.0, rel=1e-12)


def test_partial_is_one_entry():
    value, error = partial(lambda X: np.sum(np.sin(X), axis=(1, 2)), np.array([[0.5, 1.0], [2.0, 3.0]]), (1, 0))
    assert value == pytest.approx(np.cos(2.0), rel=1e-10)
    assert 0 < error < 1e-8


def test_chunks_stay_under_the_memory_bound_and_agree():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 25))
    calls = []

    def f(X):
        calls.append(X.nbytes)
        return np.sum(np.cos(X) * X, axis=(1, 2))

    tracemalloc.start()
    small = gradient(f, x, chunk_bytes=100_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert max(calls) <= 100_000
    # the copies and what f makes of them (a few times the batch), plus bookkeeping of a few values per
    # entry; all copies at once would take 6·n·x.nbytes = 48 MB
    assert peak < 4 * 100_000 + 40 * x.nbytes
    assert len(calls) == -(-x.size // (100_000 // (6 * x.size * 8)))
    calls.clear()
    big = gradient(f, x)
    assert len(calls) == -(-x.size // (CACHE_BYTES // (6 * x.size * 8)))
    np.testing.assert_array_equal(small.value, big.value)
    np.testing.assert_allclose(big.value, np.cos(x) - x * np.sin(x), rtol=1e-9, atol=1e-12)


def test_a_784_by_128_parameter_works_within_the_memory_bound():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(784, 128))
    picks = (np.array([0, 5, 400, 783]), np.array([0, 17, 64, 127]))

    def f(X):  # reads only a few entries, so the test measures the machinery, not f
        return np.sum(X[:, picks[0], picks[1]] ** 2, axis=1) + X[:, 100, 100] * 3.0

    batches = []

    def recorded(X):
        batches.append(X.nbytes)
        return f(X)

    res = gradient(recorded, W, chunk_bytes=16 * 2**20)
    assert max(batches) <= 16 * 2**20
    expected = np.zeros_like(W)
    expected[picks] = 2 * W[picks]
    expected[100, 100] = 3.0
    np.testing.assert_allclose(res.value, expected, rtol=1e-9, atol=1e-9)
    assert res.evaluations == 6 * W.size


def test_not_finite_gives_nan_with_infinite_error():
    res = gradient(lambda X: np.sqrt(X[:, 0]) + X[:, 1], np.array([0.0, 1.0]))
    assert np.isnan(res.value[0]) and res.error[0] == np.inf
    assert res.value[1] == pytest.approx(1.0) and np.isfinite(res.error[1])


def test_a_domain_boundary_inside_the_step_is_retried_with_a_small_step():
    x = np.array([1e-4, 2.0])
    res = gradient(lambda X: np.log(X[:, 0]) * X[:, 1], x)
    assert res.step[0] < 1e-5 < res.step[1]
    np.testing.assert_allclose(res.value, [2.0 / 1e-4, np.log(1e-4)], rtol=1e-9)
    assert np.all(np.abs(res.value - [2.0 / 1e-4, np.log(1e-4)]) <= res.error)
    assert res.evaluations == 6 * 3


def test_a_function_must_return_one_value_per_point():
    with pytest.raises(ShapeError):
        gradient(lambda X: X, np.ones((2, 2)))


# ---------------------------------------------------------------------------------------- kinks


def test_one_sided_derivatives_at_kinks():
    relu = lambda X: np.maximum(X.reshape(X.shape[0], -1), 0).sum(axis=1)  # noqa: E731
    assert one_sided(relu, np.array([0.0, 1.0]), 0) == (0.0, 1.0)
    assert one_sided(relu, np.array([0.0, 1.0]), 1) == (1.0, 1.0)
    absf = lambda X: np.abs(X).reshape(X.shape[0], -1).sum(axis=1) * 2.5  # noqa: E731
    assert one_sided(absf, np.array([[3.0, 0.0]]), (0, 1)) == (-2.5, 2.5)


def test_one_sided_agree_on_smooth_points():
    f = lambda X: np.sin(X[:, 0]) * np.exp(X[:, 1])  # noqa: E731
    left, right = one_sided(f, np.array([0.7, 0.2]), 0)
    true = np.cos(0.7) * np.exp(0.2)
    assert left == pytest.approx(true, rel=1e-8) and right == pytest.approx(true, rel=1e-8)


# ---------------------------------------------------------------------------------- directional


def _net(W, x):
    """Batched f(W) = sum(tanh(W @ x)) and its exact gradient."""
    f = lambda X: np.sum(np.tanh(X @ x), axis=(1, 2))  # noqa: E731
    grad = (1 - np.tanh(W @ x) ** 2) @ x.T
    return f, grad


def test_directional_accepts_the_right_gradient():
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(30, 20)) * 0.3, rng.normal(size=(20, 1))
    f, grad = _net(W, x)
    res = directional(f, W, grad, directions=5)
    assert res.ok and res.evaluations == 30
    assert np.all(res.rel_error < 1e-8)
    np.testing.assert_allclose(res.analytic, res.numeric, rtol=1e-8)


@pytest.mark.parametrize("mistake", ["one entry", "sign", "scale", "transpose-like"])
def test_directional_rejects_wrong_gradients(mistake):
    rng = np.random.default_rng(4)
    W, x = rng.normal(size=(12, 12)) * 0.3, rng.normal(size=(12, 1))
    f, grad = _net(W, x)
    bad = grad.copy()
    if mistake == "one entry":
        bad[3, 4] *= 1.01
    elif mistake == "sign":
        bad = -bad
    elif mistake == "scale":
        bad = 2 * bad
    else:
        bad = grad.T.copy()
    assert not directional(f, W, bad).ok


def test_gradient_shape_must_match():
    with pytest.raises(ShapeError):
        directional(lambda X: X.sum(axis=(1, 2)), np.ones((2, 3)), np.ones((3, 2)))


def test_locate_finds_planted_mistakes_with_few_evaluations():
    rng = np.random.default_rng(5)
    W, x = rng.normal(size=(784, 128)) * 0.05, rng.normal(size=(128, 1))
    f, grad = _net(W, x)
    bad = grad.copy()
    bad[5, 7] += 1e-3 * max(1.0, abs(bad[5, 7]))
    bad[700, 100] *= -1
    bad[700, 100] += 0.1
    res = locate_mismatch(f, W, bad)
    assert res.indices == [(5, 7), (700, 100)]
    np.testing.assert_array_equal(res.analytic, [bad[5, 7], bad[700, 100]])
    np.testing.assert_allclose(res.numeric, [grad[5, 7], grad[700, 100]], rtol=1e-6, atol=1e-9)
    assert res.evaluations < 3000 < 6 * W.size
    assert directional(f, W, grad).ok and not directional(f, W, bad).ok


def test_locate_finds_nothing_in_a_right_gradient():
    rng = np.random.default_rng(6)
    W, x = rng.normal(size=(20, 10)), rng.normal(size=(10, 1))
    f, grad = _net(W, x)
    res = locate_mismatch(f, W, grad)
    assert res.indices == [] and res.blocks_tested == 1


def test_locate_handles_dense_mistakes():
    rng = np.random.default_rng(7)
    W, x = rng.normal(size=(8, 8)), rng.normal(size=(8, 1))
    f, grad = _net(W, x)
    wrong = grad * 1.5 + 0.01
    res = locate_mismatch(f, W, wrong)
    assert len(res.indices) == W.size
    assert res.evaluations <= 4 * 6 * W.size
