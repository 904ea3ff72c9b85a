"""The backprop engine: every op's vjp against central differences, shapes, stability, errors, graph walks."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.language import functions as F
from gradcli.numerics.engine import OPS, Tensor, backward, evaluate, leaf, local_gradients, topo_order, value_of
from gradcli.errors import BindingError, DomainError, OverflowValueError, ParseError, ShapeError
from gradcli.language.expr import parse

SETTINGS = settings(max_examples=25, deadline=None)

# ------------------------------------------------------------------------------------------ helpers


def numeric_vjp(fn, arrays: list[np.ndarray], g: np.ndarray, i: int) -> np.ndarray:
    """Central differences of Σ g·fn(...) with respect to arrays[i], entry by entry."""
    def f(a: np.ndarray) -> float:
        args = [leaf(a if j == i else arrays[j], f"a{j}") for j in range(len(arrays))]
        return float(np.sum(g * fn(*args).data))

    a = arrays[i]
    out = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        h = 1e-6 * max(1.0, abs(a[idx]))
        plus, minus = a.copy(), a.copy()
        plus[idx] += h
        minus[idx] -= h
        out[idx] = (f(plus) - f(minus)) / (2 * h)
    return out


def check_vjp(fn, *arrays) -> None:
    """The engine's gradient of Σ g·fn(a0, a1, ...) equals central differences, shape included."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    leaves = [leaf(a, f"a{j}") for j, a in enumerate(arrays)]
    for t, a in zip(leaves, arrays):
        assert t.shape == a.shape  # the helper feeds shapes through unchanged
    out = fn(*leaves)
    g = np.random.default_rng(len(arrays)).normal(size=out.shape)
    backward(out, seed=g)
    for i, (t, a) in enumerate(zip(leaves, arrays)):
        assert t.grad.shape == a.shape
        np.testing.assert_allclose(t.grad, numeric_vjp(fn, arrays, g, i), rtol=1e-5, atol=1e-6)


SHAPES = st.one_of(
    st.just(()),
    st.integers(1, 4).map(lambda n: (n, 1)),
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
)


def arrays(shape, lo: float, hi: float, avoid_zero: float = 0.0):
    """Float arrays of `shape` with entries in [lo, hi] (and |x| >= avoid_zero when asked)."""
    if avoid_zero:
        elements = st.one_of(st.floats(-hi, -avoid_zero), st.floats(avoid_zero, hi))
    else:
        elements = st.floats(lo, hi)
    return hnp.arrays(np.float64, shape, elements=elements)


# Element-wise functions: the domain sampled, and an independent scalar reference for the forward value.
ELEMENTWISE = {
    "exp": ((-3, 3), math.exp),
    "ln": ((0.1, 5), math.log),
    "log": ((0.1, 5), math.log),
    "log10": ((0.1, 5), math.log10),
    "sqrt": ((0.1, 5), math.sqrt),
    "abs": ((-3, 3), abs),
    "sin": ((-3, 3), math.sin),
    "cos": ((-3, 3), math.cos),
    "tan": ((-1.2, 1.2), math.tan),
    "asin": ((-0.9, 0.9), math.asin),
    "acos": ((-0.9, 0.9), math.acos),
    "atan": ((-3, 3), math.atan),
    "sinh": ((-3, 3), math.sinh),
    "cosh": ((-3, 3), math.cosh),
    "tanh": ((-3, 3), math.tanh),
    "sigmoid": ((-6, 6), lambda x: 1 / (1 + math.exp(-x))),
    "relu": ((-3, 3), lambda x: max(0.0, x)),
    "softplus": ((-6, 6), lambda x: math.log1p(math.exp(x))),
    "step": ((-3, 3), lambda x: 1.0 if x > 0 else 0.0),
    "sign": ((-3, 3), lambda x: float((x > 0) - (x < 0))),
}
KINKED = {"abs", "relu", "step", "sign"}

# ------------------------------------------------------------------------------------------ registry


def test_every_function_of_the_table_and_every_operator_has_an_op():
    operators = {"add", "sub", "mul", "div", "neg", "pow", "matmul"}
    assert {f.name for f in F.FUNCTIONS} | operators <= set(OPS)
    assert set(ELEMENTWISE) == {f.name for f in F.FUNCTIONS if f.kind == F.ELEMENTWISE}


def test_the_engine_does_not_import_sympy():
    code = "import sys, gradcli.numerics.engine; sys.exit('sympy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    engine_dir = Path(__file__).resolve().parents[2] / "gradcli" / "numerics" / "engine"
    sources = sorted(engine_dir.glob("*.py"))
    assert len(sources) >= 3, f"no engine sources under {engine_dir}"
    assert not any("sympy" in p.read_text() for p in sources)


# ------------------------------------------------------------------------------------------ vjps


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@SETTINGS
@given(data=st.data())
def test_elementwise_vjp_and_value(name, data):
    (lo, hi), reference = ELEMENTWISE[name]
    shape = data.draw(SHAPES)
    x = data.draw(arrays(shape, lo, hi, avoid_zero=0.1 if name in KINKED else 0.0))
    check_vjp(OPS[name], x)
    value = OPS[name](leaf(x)).data
    assert value.shape == x.shape
    expected = np.vectorize(reference, otypes=[float])(x)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
@SETTINGS
@given(data=st.data())
def test_binary_vjp_with_equal_or_scalar_like_shapes(name, data):
    shape = data.draw(SHAPES)
    other = data.draw(st.sampled_from([shape, (), (1, 1)]))
    gap = 0.5 if name == "div" else 0.0  # both sides stay away from 0 so either may be the divisor
    a = data.draw(arrays(shape, -3, 3, avoid_zero=gap))
    b = data.draw(arrays(other, -3, 3, avoid_zero=gap))
    if data.draw(st.booleans()):
        a, b = b, a
    check_vjp(OPS[name], a, b)


@SETTINGS
@given(data=st.data())
def test_pow_vjp_in_base_and_exponent(data):
    shape = data.draw(SHAPES)
    x = data.draw(arrays(shape, 0.2, 3))
    y = data.draw(arrays(data.draw(st.sampled_from([shape, ()])), -2, 2))
    check_vjp(OPS["pow"], x, y)


@pytest.mark.parametrize("c", [-2, -1, 2, 3])
@SETTINGS
@given(data=st.data())
def test_pow_with_a_constant_integer_exponent_takes_negative_bases(c, data):
    x = data.draw(arrays(data.draw(SHAPES), -3, 3, avoid_zero=0.3))
    check_vjp(lambda t: t ** c, x)


@pytest.mark.parametrize("name", ["sum", "mean", "norm", "softmax", "logsumexp", "transpose", "neg"])
@SETTINGS
@given(data=st.data())
def test_unary_tensor_op_vjp(name, data):
    x = data.draw(arrays(data.draw(SHAPES), -3, 3, avoid_zero=0.1 if name == "norm" else 0.0))
    check_vjp(OPS[name], x)


@SETTINGS
@given(data=st.data())
def test_dot_matmul_outer_diag_vjp(data):
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    A = data.draw(arrays((m, k), -2, 2))
    B = data.draw(arrays((k, n), -2, 2))
    u = data.draw(arrays((m, 1), -2, 2))
    v = data.draw(arrays((n, 1), -2, 2))
    check_vjp(OPS["matmul"], A, B)
    check_vjp(OPS["dot"], A, data.draw(arrays((m, k), -2, 2)))
    check_vjp(OPS["outer"], u, v)
    check_vjp(OPS["diag"], u)
    assert OPS["outer"](leaf(u), leaf(v)).shape == (m, n)
    assert OPS["diag"](leaf(u)).shape == (m, m)


def test_log_with_a_base_is_ln_x_over_ln_b():
    x, b = leaf(5.0, "x"), leaf(2.0, "b")
    out = OPS["log"](x, b)
    assert float(out.data) == pytest.approx(math.log2(5))
    grads = backward(out)
    assert float(grads["x"]) == pytest.approx(1 / (5 * math.log(2)))
    assert float(grads["b"]) == pytest.approx(-math.log(5) / (2 * math.log(2) ** 2))
    check_vjp(OPS["log"], np.array([[0.5], [3.0]]), np.array(3.0))


def test_pow_gradients_by_hand():
    grads = backward(leaf(2.0, "x") ** leaf(3.0, "y"))
    assert float(grads["x"]) == pytest.approx(12.0)
    assert float(grads["y"]) == pytest.approx(8 * math.log(2))
    assert float(backward(leaf(-2.0, "x") ** 3)["x"]) == 12.0
    assert float(backward(leaf(0.0, "x") ** 2)["x"]) == 0.0
    zeroth = leaf(0.0, "x") ** 0
    assert float(zeroth.data) == 1.0 and float(backward(zeroth)["x"]) == 0.0


def test_constructors():
    assert OPS["ones"](3).shape == (3, 1)
    assert OPS["zeros"](2, 3).shape == (2, 3) and not OPS["zeros"](2, 3).data.any()
    np.testing.assert_array_equal(OPS["eye"](2).data, np.eye(2))
    assert OPS["eye"](2).constant
    with pytest.raises(ShapeError):
        OPS["ones"](2.5)


# ------------------------------------------------------------------------------------------ shapes


@pytest.mark.parametrize("scalar_shape", [(), (1, 1)])
def test_a_scalar_like_operand_broadcasts_and_gets_the_summed_gradient(scalar_shape):
    s = leaf(np.full(scalar_shape, 2.0), "s")
    M = leaf(np.arange(6.0).reshape(3, 2), "M")
    out = s * M
    assert out.shape == (3, 2)
    grads = backward(out)
    assert grads["s"].shape == scalar_shape and float(np.sum(grads["s"])) == 15.0
    np.testing.assert_array_equal(grads["M"], np.full((3, 2), 2.0))


def test_a_one_by_one_result_acts_as_a_scalar():
    env = {"x": [1.0, 2.0, 3.0]}
    out = evaluate(parse("x.T @ x * x"), env)
    assert out.shape == (3, 1)
    np.testing.assert_allclose(out.data, 14 * np.array([[1.0], [2.0], [3.0]]))
    # d/dx (xᵀx · x) summed over outputs = 2x·Σx + xᵀx
    np.testing.assert_allclose(backward(out)["x"], 2 * np.array([[1], [2], [3]]) * 6 + 14)


@pytest.mark.parametrize("text, env, column, shapes", [
    ("x + y", {"x": [1, 2], "y": [1, 2, 3]}, 3, ["(2, 1)", "(3, 1)"]),
    ("x * y", {"x": [[1, 2]], "y": [1, 2]}, 3, ["(1, 2)", "(2, 1)"]),
    ("x @ y", {"x": [1, 2], "y": [1, 2]}, 3, ["(2, 1)", "(2, 1)"]),
    ("x @ y", {"x": 2, "y": [1, 2]}, 3, ["a scalar", "(2, 1)"]),
    ("1 + dot(x, y)", {"x": [1, 2], "y": [[1, 2]]}, 5, ["(2, 1)", "(1, 2)"]),
])
def test_shape_mismatches_name_both_shapes_and_the_column(text, env, column, shapes):
    with pytest.raises(ShapeError) as info:
        evaluate(parse(text), env, text)
    assert all(s in info.value.message for s in shapes)
    assert info.value.where == f"column {column}"


def test_diag_and_outer_need_columns():
    with pytest.raises(ShapeError, match=r"\(2, 2\)"):
        OPS["diag"](leaf(np.eye(2)))
    with pytest.raises(ShapeError):
        OPS["outer"](leaf([[1.0, 2.0]]), leaf([1.0]))


def test_a_wrong_seed_shape_is_refused():
    with pytest.raises(ShapeError):
        backward(leaf([1.0, 2.0]) * 2, seed=np.ones(3))


# ------------------------------------------------------------------------------------------ stability


def test_softmax_and_logsumexp_are_stable_at_plus_minus_1000():
    v = leaf([1000.0, 999.0, -1000.0], "v")
    s = OPS["softmax"](v)
    assert np.all(np.isfinite(s.data)) and float(np.sum(s.data)) == pytest.approx(1.0)
    np.testing.assert_allclose(s.data[:2, 0], [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))])
    lse = OPS["logsumexp"](v)
    assert float(lse.data) == pytest.approx(1000 + math.log1p(math.exp(-1)))
    np.testing.assert_allclose(backward(lse)["v"], s.data)
    assert float(OPS["logsumexp"](leaf([-1000.0, -1000.0])).data) == pytest.approx(-1000 + math.log(2))
    g = backward(OPS["sum"](OPS["softmax"](v) * leaf([1.0, 2.0, 3.0])))["v"]
    assert np.all(np.isfinite(g))


def test_sigmoid_and_softplus_do_not_overflow_at_plus_minus_1000():
    x = leaf([1000.0, -1000.0], "x")
    np.testing.assert_array_equal(OPS["sigmoid"](x).data, [[1.0], [0.0]])
    np.testing.assert_array_equal(OPS["softplus"](x).data, [[1000.0], [0.0]])
    np.testing.assert_array_equal(backward(OPS["sum"](OPS["sigmoid"](x)))["x"], [[0.0], [0.0]])
    np.testing.assert_array_equal(backward(OPS["sum"](OPS["softplus"](x)))["x"], [[1.0], [0.0]])


def test_norm_does_not_overflow_and_has_a_kink_at_zero():
    assert float(OPS["norm"](leaf([3e200, 4e200])).data) == pytest.approx(5e200)
    zero = leaf([0.0, 0.0], "z")
    n = OPS["norm"](zero)
    assert n.kink and float(n.data) == 0.0
    np.testing.assert_array_equal(backward(n ** 2)["z"], [[0.0], [0.0]])


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("text, env, cls, column, words", [
    ("1 + ln(x)", {"x": 0}, DomainError, 5, "ln is undefined at x = 0 (domain x > 0)"),
    ("log(x)", {"x": -1}, DomainError, 1, "log is undefined at x = -1"),
    ("log(x, 1)", {"x": 2}, DomainError, 1, "base"),
    ("log10(x)", {"x": [1, -1]}, DomainError, 1, "x[1, 0] = -1"),
    ("sqrt(x)", {"x": -1}, DomainError, 1, "sqrt is undefined"),
    ("2*sqrt(x)", {"x": 0}, DomainError, 3, "sqrt is not differentiable at 0"),
    ("asin(x)", {"x": 1}, DomainError, 1, "asin is undefined at x = 1"),
    ("acos(x)", {"x": -2}, DomainError, 1, "acos"),
    ("tan(x)", {"x": math.pi / 2}, DomainError, 1, "tan is undefined"),
    ("y/x", {"x": 0, "y": 1}, DomainError, 2, "division by 0"),
    ("x^-1", {"x": 0}, DomainError, 2, "0 to a negative power"),
    ("x^0.5", {"x": -4}, DomainError, 2, "negative base to a non-integer power ((-4)^0.5)"),
    ("x^0.5", {"x": 0}, DomainError, 2, "not differentiable"),
    ("x^y", {"x": -2, "y": 2}, DomainError, 2, "variable exponent"),
    ("exp(x)", {"x": 1000}, OverflowValueError, 1, "exp overflows float64 at x = 1000"),
    ("x + sinh(x)", {"x": 1000}, OverflowValueError, 5, "sinh"),
    ("x*y", {"x": 1e300, "y": 1e300}, OverflowValueError, 2, "'*' overflows"),
    ("2^x", {"x": 5000}, OverflowValueError, 2, "'^'"),
    ("x + q", {"x": 1}, BindingError, 5, "'q'"),
])
def test_errors_carry_the_class_the_column_and_a_caret(text, env, cls, column, words):
    with pytest.raises(cls) as info:
        evaluate(parse(text), env, text)
    err = info.value
    assert type(err) is cls
    assert err.where == f"column {column}"
    assert words in err.message
    assert err.detail.splitlines()[1] == "  " + " " * (column - 1) + "^"


def test_constant_operands_need_no_derivative():
    assert float(value_of(parse("x*sqrt(0) + 0^0.5"), {"x": 1})) == 0.0


def test_bad_values_are_binding_or_overflow_errors():
    with pytest.raises(BindingError, match="'x'"):
        evaluate(parse("x"), {"x": "abc"})
    with pytest.raises(BindingError):
        evaluate(parse("x"), {"x": [[1, 2], [3]]})
    with pytest.raises(BindingError):
        leaf([])
    with pytest.raises(OverflowValueError):
        evaluate(parse("x"), {"x": float("nan")})


def test_a_gradient_that_overflows_names_the_operator():
    out = evaluate(parse("1/x"), {"x": 1e-200}, "1/x")
    with pytest.raises(OverflowValueError, match="'/'") as info:
        backward(out)
    assert info.value.where == "column 2"


def test_subscripts_are_refused():
    with pytest.raises(ParseError):
        evaluate(parse("X[0, 1]", allow_index=True), {"X": np.eye(2)})


# ------------------------------------------------------------------------------------------ kinks


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_kinks_are_flagged_with_derivative_zero(name):
    x = leaf([0.0, 2.0, -3.0], "x")
    out = OPS[name](x)
    assert out.kink
    np.testing.assert_array_equal(out.kink_mask, [[True], [False], [False]])
    expected = [[0.0], [1.0], [0.0]] if name == "relu" else [[0.0], [1.0], [-1.0]]
    np.testing.assert_array_equal(backward(OPS["sum"](out))["x"], expected)
    assert not OPS[name](leaf(1.0)).kink
    assert not OPS[name](Tensor(0.0, "const")).kink  # a constant is never differentiated


def test_relu_at_zero_through_evaluate():
    out = evaluate(parse("relu(x) + abs(y)"), {"x": 0, "y": 0})
    kinked = [t.op for t in topo_order(out) if t.kink]
    assert kinked == ["relu", "abs"]


# ------------------------------------------------------------------------------------------ graph walks


def test_the_worked_example_ln_x_plus_exp_y_times_z():
    text = "ln(x)+exp(y)*z"
    out = evaluate(parse(text), {"x": 1, "y": 3, "z": 2}, text)
    assert float(out.data) == pytest.approx(math.exp(3) * 2)
    grads = backward(out)
    assert float(grads["x"]) == pytest.approx(1.0)
    assert float(grads["y"]) == pytest.approx(2 * math.exp(3))
    assert float(grads["z"]) == pytest.approx(math.exp(3))
    ops = [t.op for t in topo_order(out)]
    assert ops == ["input", "ln", "input", "exp", "input", "mul", "add"]
    cols = {t.op: t.col for t in topo_order(out) if t.op != "input"}
    assert cols == {"ln": 0, "exp": 6, "mul": 12, "add": 5}
    mul = next(t for t in topo_order(out) if t.op == "mul")
    assert [float(g) for g in local_gradients(mul)] == pytest.approx([2.0, math.exp(3)])
    assert local_gradients(topo_order(out)[0]) == ()


def test_backward_twice_gives_the_same_gradients():
    out = evaluate(parse("x*x*y + sin(x)"), {"x": 0.5, "y": [1.0, 2.0]})
    total = OPS["sum"](out)
    first = {k: v.copy() for k, v in backward(total).items()}
    backward(total, seed=5.0)
    second = backward(total)
    assert first.keys() == second.keys()
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])
    assert float(first["x"]) == pytest.approx(2 * 0.5 * 3 + 2 * math.cos(0.5))


def test_a_variable_used_twice_is_one_leaf():
    out = evaluate(parse("x*x"), {"x": 3})
    assert out.parents[0] is out.parents[1]
    assert float(backward(out)["x"]) == 6.0


def test_topo_order_lists_each_node_once_after_its_parents():
    x = leaf(0.3, "x")
    shared = x * x
    out = shared + OPS["sin"](shared) * shared
    order = topo_order(out)
    assert len(order) == len({id(t) for t in order}) == 5  # x, x*x (once), sin, mul, add
    position = {id(t): i for i, t in enumerate(order)}
    assert all(position[id(p)] < position[id(t)] for t in order for p in t.parents)
    assert order[0] is x and order[-1] is out


def test_a_50000_deep_chain_backpropagates_without_recursion():
    x = leaf(1.0, "x")
    t = x
    for _ in range(50_000):
        t = t * 1.00001
    grads = backward(t)
    assert float(grads["x"]) == pytest.approx(1.00001 ** 50_000, rel=1e-9)
    assert len(topo_order(t)) == 100_001


def test_constants_get_no_gradient():
    out = evaluate(parse("2*x + pi"), {"x": 1})
    backward(out)
    consts = [t for t in topo_order(out) if t.op == "const"]
    assert [t.name for t in consts] == ["2", "pi"] and all(t.grad is None for t in consts)


# ------------------------------------------------------------------------------------------ evaluate


def test_values_follow_the_shape_convention():
    assert leaf(2.0).shape == ()
    assert leaf([1, 2, 3]).shape == (3, 1)
    assert leaf([[1, 2, 3]]).shape == (1, 3)
    assert leaf(np.arange(3.0)).shape == (3, 1)


def test_env_tensors_are_used_as_they_are():
    a = leaf(2.0, "a")
    h = a * a  # an intermediate, as --where gives it
    out = evaluate(parse("h + a"), {"h": h, "a": a})
    assert out.parents == (h, a)
    assert float(backward(out)["a"]) == 5.0


def test_operators_accept_python_numbers():
    x = leaf(2.0, "x")
    out = 1 - (3 / x) ** 2 + 2 * -x
    assert float(out.data) == pytest.approx(1 - 2.25 - 4)
    assert float(backward(out)["x"]) == pytest.approx(18 / 2 ** 3 - 2)
    v = leaf([1.0, 2.0], "v")
    np.testing.assert_array_equal((np.array([[1.0, 1.0]]) @ v).data, [[3.0]])
    np.testing.assert_array_equal((2.0 ** v.T).data, [[2.0, 4.0]])


def test_evaluate_handles_constructors_constants_and_transpose():
    env = {"W": [[1.0, 2.0], [3.0, 4.0]]}
    out = evaluate(parse("sum(W.T @ ones(2)) + e - e + pi*0"), env)
    assert float(out.data) == pytest.approx(10.0)
    np.testing.assert_array_equal(value_of(parse("eye(2) + zeros(2, 2)"), {}), np.eye(2))
    assert value_of(parse("+x"), {"x": 3}).shape == ()
