"""gradcli.forward: the plain NumPy forward pass the numeric column differentiates."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.language import functions as F
from gradcli.errors import BindingError, GradcliError, ShapeError
from gradcli.language.expr import Binary, Name, parse
from gradcli.numerics.forward import NUMPY, evaluate


def ev(text, **env):
    return evaluate(parse(text, allow_index=True), env)


# ------------------------------------------------------------------------------------ the table


def test_every_function_row_has_a_numpy_form():
    assert set(NUMPY) == set(F.BY_NAME)


def test_independent_of_engine_and_sympy():
    code = ("import sys, gradcli.numerics.forward, gradcli.numerics.finite_diff, gradcli.numerics.compare; "
            "bad = [m for m in sys.modules if m == 'sympy' or m.startswith('gradcli.numerics.engine')]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


_MP = {
    "exp": mpmath.exp, "ln": mpmath.log, "log": mpmath.log, "log10": mpmath.log10, "sqrt": mpmath.sqrt,
    "abs": abs, "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "asin": mpmath.asin,
    "acos": mpmath.acos, "atan": mpmath.atan, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh,
    "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)), "relu": lambda t: max(t, 0),
    "softplus": lambda t: mpmath.log(1 + mpmath.exp(t)),
}


@pytest.mark.parametrize("name", sorted(_MP))
@pytest.mark.parametrize("x", [-0.7, 0.3, 0.9])
def test_elementwise_functions_match_mpmath(name, x):
    if name in ("ln", "log", "log10", "sqrt") and x < 0:
        x = -x
    mpmath.mp.dps = 30
    want = float(_MP[name](mpmath.mpf(x)))
    got = ev(f"{name}(x)", x=x)
    assert got.shape == ()
    assert got == pytest.approx(want, rel=4e-16, abs=1e-300)


def test_elementwise_functions_apply_entry_by_entry():
    v = np.array([[0.1], [0.5], [2.0]])
    for name in _MP:
        got = ev(f"{name}(v)", v=v)
        assert got.shape == (3, 1)
        np.testing.assert_allclose(got, [[ev(f"{name}(x)", x=float(t)).item()] for t in v[:, 0]], rtol=1e-15)


def test_stable_forms_at_extremes():
    assert ev("sigmoid(x)", x=-40.0) == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-15)
    assert ev("sigmoid(x)", x=800.0) == 1.0
    assert ev("softplus(x)", x=1000.0) == 1000.0
    assert ev("softplus(x)", x=-50.0) == pytest.approx(math.exp(-50), rel=1e-15)
    assert ev("logsumexp(v)", v=[1000.0, 1000.0]) == pytest.approx(1000 + math.log(2), rel=1e-15)
    np.testing.assert_allclose(ev("softmax(v)", v=[1000.0, 0.0]), [[1.0], [0.0]])


def test_log_with_a_base():
    assert ev("log(x, 2)", x=8.0) == pytest.approx(3.0, rel=1e-15)
    np.testing.assert_allclose(ev("log(v, 10)", v=[10.0, 100.0]), [[1.0], [2.0]], rtol=1e-15)
    assert ev("log(x)", x=math.e) == pytest.approx(1.0, rel=1e-15)


# -------------------------------------------------------------------------------------- shapes


def test_spec_example_value():
    assert ev("ln(x)+exp(y)*z", x=1.0, y=3.0, z=2.0) == pytest.approx(40.17107384637534, rel=1e-15)


def test_vectors_are_columns_and_matrix_products():
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = ev("W @ x + b", W=W, x=[1.0, -1.0], b=[0.5, 0.5, 0.5])
    np.testing.assert_array_equal(out, [[-0.5], [-0.5], [-0.5]])
    assert ev("x.T @ x", x=[1.0, 2.0]).shape == (1, 1)
    assert ev("x @ x.T", x=[1.0, 2.0]).shape == (2, 2)


def test_one_by_one_acts_as_a_scalar():
    x = np.array([[1.0], [2.0]])
    np.testing.assert_array_equal(ev("(x.T @ x) * x", x=x), 5 * x)
    np.testing.assert_array_equal(ev("x - x.T @ x", x=x), x - 5)
    np.testing.assert_array_equal(ev("W / (x.T @ x)", W=np.ones((2, 3)), x=x), np.ones((2, 3)) / 5)
    assert ev("(x.T @ x) + 1", x=x).shape == (1, 1)
    assert ev("1 + (x.T @ x)", x=x).shape == (1, 1)


def test_reductions_are_scalars():
    A = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert ev("sum(A)", A=A).shape == ()
    assert ev("sum(A)", A=A) == 6.0
    assert ev("mean(A)", A=A) == 1.5
    assert ev("dot(A, A)", A=A) == 30.0
    assert ev("norm(A)", A=A) == pytest.approx(math.sqrt(30), rel=1e-15)
    assert ev("logsumexp(A)", A=A) == pytest.approx(math.log(sum(math.exp(t) for t in A.ravel())), rel=1e-15)


def test_norm_does_not_overflow_and_is_zero_at_zero():
    assert ev("norm(v)", v=[3e200, 4e200]) == pytest.approx(5e200, rel=1e-15)
    assert ev("norm(v)", v=[0.0, 0.0]) == 0.0


def test_tensor_functions():
    a, b = np.array([[1.0], [2.0]]), np.array([[3.0], [4.0], [5.0]])
    np.testing.assert_array_equal(ev("outer(a, b)", a=a, b=b), a @ b.T)
    np.testing.assert_array_equal(ev("diag(b)", b=b), np.diag([3.0, 4.0, 5.0]))
    s = ev("softmax(b)", b=b)
    assert s.shape == (3, 1)
    np.testing.assert_allclose(s, np.exp(b) / np.exp(b).sum(), rtol=1e-15)
    A = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ev("transpose(A)", A=A), A.T)
    np.testing.assert_array_equal(ev("A.T", A=A), A.T)
    assert ev("x.T", x=2.0) == 2.0


def test_constructors_and_constants():
    np.testing.assert_array_equal(ev("ones(3)"), np.ones((3, 1)))
    np.testing.assert_array_equal(ev("zeros(2, 3)"), np.zeros((2, 3)))
    np.testing.assert_array_equal(ev("eye(3)"), np.eye(3))
    assert ev("pi") == math.pi and ev("e") == math.e
    assert ev("-x^2", x=3.0) == -9.0
    assert ev("2^3^2") == 512.0


@pytest.mark.parametrize("text, env, shapes, col", [
    ("x * W", {"x": [1.0, 2.0], "W": [[1.0, 2.0]]}, ["(2, 1)", "(1, 2)"], 3),
    ("a + b", {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]}, ["(2, 1)", "(3, 1)"], 3),
    ("W @ x", {"W": np.ones((2, 3)), "x": [1.0, 2.0]}, ["(2, 3)", "(2, 1)"], 3),
    ("2 @ x", {"x": [1.0, 2.0]}, ["a scalar", "(2, 1)"], 3),
    ("dot(a, b)", {"a": [1.0, 2.0], "b": [[1.0, 2.0]]}, ["(2, 1)", "(1, 2)"], 1),
    ("outer(a, a.T)", {"a": [1.0, 2.0]}, ["(1, 2)"], 1),
    ("diag(A)", {"A": np.ones((2, 2))}, ["(2, 2)"], 1),
    ("log(v, w)", {"v": [1.0, 2.0], "w": [2.0, 3.0, 4.0]}, ["(2, 1)", "(3, 1)"], 1),
])
def test_shape_mismatch_names_both_shapes_and_the_column(text, env, shapes, col):
    with pytest.raises(ShapeError) as info:
        evaluate(parse(text), env, text=text)
    for shape in shapes:
        assert shape in info.value.message
    assert info.value.where == f"column {col}"
    assert "^" in info.value.detail


def test_missing_name_and_bad_values():
    with pytest.raises(BindingError) as info:
        ev("x + y", x=1.0)
    assert "'y'" in info.value.message and info.value.where == "column 5"
    with pytest.raises(BindingError):
        ev("x", x="abc")
    with pytest.raises(BindingError):
        ev("x", x=np.ones((2, 2, 2)))
    with pytest.raises(BindingError):
        ev("x", x=[])


def test_subscripts_are_refused():
    with pytest.raises(GradcliError):
        ev("X[i, j]", X=np.ones((2, 2)), i=0.0, j=1.0)


def test_out_of_domain_gives_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(ev("ln(x)", x=-1.0))
        assert np.isnan(ev("sqrt(x)", x=-1.0))
        assert np.isnan(ev("asin(x)", x=2.0))
        assert np.isnan(ev("x^(1/3)", x=-8.0))
        assert ev("1/x", x=0.0) == math.inf
        assert ev("ln(x)", x=0.0) == -math.inf
        assert ev("exp(x)", x=1000.0) == math.inf
        assert np.isnan(ev("x - x", x=math.inf))
    assert ev("(-2)^3") == -8.0


def test_deep_trees_do_not_recurse():
    text = "sin(" * 190 + "x" + ")" * 190
    value = ev(text, x=0.5)
    expected = 0.5
    for _ in range(190):
        expected = math.sin(expected)
    assert value == pytest.approx(expected, rel=1e-14)
    node = Name("x", 0)
    for _ in range(5000):  # deeper than the parser allows: the walk must not recurse
        node = Binary("+", node, Name("x", 0), 0)
    assert evaluate(node, {"x": 1.0}) == 5001.0


# ------------------------------------------------------------------------------------- batches

_EXPRESSIONS = [
    "ln(x) + exp(y) * z",
    "sigmoid(W @ v + b)",
    "0.5 * norm(W @ v + b - t)^2",
    "softmax(W @ v) * relu(b) - tanh(b) / cosh(b)",
    "logsumexp(W @ v) - dot(b, t) + mean(W) * sum(v)",
    "outer(b, v) + W * (v.T @ v) + diag(b) @ W",
    "transpose(W) @ b + v * abs(x - y) + softplus(v)",
    "sqrt(abs(x)) + atan(y) + sinh(z) + log(abs(z) + 1, 3) + log10(abs(y) + 1)",
    "sin(W) ^ 2 + cos(W) ^ 2 + x * ones(3, 2) + zeros(3, 2) + eye(3) @ W",
    "asin(sigmoid(b) - 0.5) + acos(tanh(b) * 0.9) + tan(b / 4)",
]
_SHAPES = {"x": (), "y": (), "z": (), "W": (3, 2), "v": (2, 1), "b": (3, 1), "t": (3, 1)}


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, len(_EXPRESSIONS) - 1), size=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_batched_evaluation_equals_a_loop_of_unbatched_ones(which, size, seed):
    node = parse(_EXPRESSIONS[which])
    rng = np.random.default_rng(seed)
    env = {name: rng.uniform(-2, 2, (size,) + shape) for name, shape in _SHAPES.items()}
    batched = evaluate(node, env, batch=True)
    for i in range(size):
        one = evaluate(node, {name: value[i] for name, value in env.items()})
        assert batched.shape == (size,) + one.shape
        np.testing.assert_allclose(batched[i], one, rtol=1e-13, atol=1e-15)


def test_batch_axis_of_one_is_shared():
    node = parse("W @ x")
    W = np.arange(6.0).reshape(1, 3, 2)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])  # four 1-D examples: columns
    out = evaluate(node, {"W": W, "x": X}, batch=True)
    assert out.shape == (4, 3, 1)
    for i in range(4):
        np.testing.assert_array_equal(out[i], W[0] @ X[i].reshape(2, 1))
    assert evaluate(parse("2 * pi"), {}, batch=True).shape == (1,)


def test_batches_of_different_sizes_are_refused():
    with pytest.raises(ShapeError):
        evaluate(parse("x + y"), {"x": np.ones(3), "y": np.ones(4)}, batch=True)


def test_batched_copies_of_one_input_beside_fixed_ones():
    node = parse("0.5 * norm(W @ x - y)^2")
    fixed = {"x": np.array([[[1.0], [2.0], [3.0]]]), "y": np.array([[[1.0], [0.0]]])}
    Ws = np.stack([np.ones((2, 3)), np.zeros((2, 3))])
    np.testing.assert_allclose(evaluate(node, {**fixed, "W": Ws}, batch=True).reshape(-1), [0.5 * (25 + 36), 0.5])
    unused = evaluate(parse("sum(W)"), {"W": np.ones((1, 2, 3)), "x": np.ones((5, 3, 1))}, batch=True)
    np.testing.assert_array_equal(unused.reshape(-1), np.full(5, 6.0))  # broadcast to every copy of x
    assert evaluate(parse("2"), {"x": np.ones((4, 2))}, batch=True).shape == (4,)
