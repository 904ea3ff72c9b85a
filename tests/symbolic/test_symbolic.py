"""The symbolic column: tree -> SymPy, derivatives, printing, chain rule, equivalence, Jacobians."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcli.language import functions as F
from gradcli.symbolic import calculus as S
from gradcli.symbolic import compile as SN
from gradcli.symbolic import convert as SC
from gradcli.symbolic import forms as SF
from gradcli.symbolic import printing as SP
from gradcli.errors import BindingError, DefinitionError, DomainError, GradcliError, ShapeError, TimeBoundError
from gradcli.language.expr import parse
from gradcli.symbolic.equivalence import find_counterexample, proved_equal, random_points

x, y, z, w, c = (SC.symbol(n) for n in "xyzwc")
SCALARS = {n: SC.symbol(n) for n in "abcwxyz"}


def sym(text: str, env=None):
    return SC.to_sympy(parse(text), SCALARS if env is None else env)


def env_for(shapes):
    """An environment for to_sympy from {name: shape}: scalars get symbols, tensors entry symbols."""
    return {name: SC.entry_symbols(name, shape) for name, shape in shapes.items()}


def elementary(expr):
    """expr with sigmoid, softplus and logsumexp written with exp and log."""
    return (expr.replace(SF.sigmoid, lambda x: 1 / (1 + sympy.exp(-x)))
                .replace(SF.softplus, lambda x: sympy.log(1 + sympy.exp(x)))
                .replace(SF.logsumexp, lambda *xs: sympy.log(sympy.Add(*[sympy.exp(x) for x in xs]))))


def same(a, b) -> bool:
    return sympy.simplify(a - b) == 0


# ------------------------------------------------------------------------------------------ the table


def test_every_function_of_the_table_has_a_sympy_form():
    assert set(SC.SYMPY_FORMS) == set(F.BY_NAME)


def test_symbolic_imports_neither_the_engine_nor_the_forward():
    code = ("import sys, gradcli.symbolic.calculus; "
            "bad = [m for m in sys.modules if m.startswith(('gradcli.numerics.engine', 'gradcli.numerics.forward'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("text, derivative, printed", [
    ("exp(x)", sympy.exp(x), "exp(x)"),
    ("ln(x)", 1 / x, "1/x"),
    ("log(x)", 1 / x, "1/x"),
    ("log(x, 2)", 1 / (x * sympy.log(2)), "1/(x*ln(2))"),
    ("log10(x)", 1 / (x * sympy.log(10)), "1/(x*ln(10))"),
    ("sqrt(x)", 1 / (2 * sympy.sqrt(x)), "1/(2*sqrt(x))"),
    ("abs(x)", sympy.sign(x), "sign(x)"),
    ("sin(x)", sympy.cos(x), "cos(x)"),
    ("cos(x)", -sympy.sin(x), "-sin(x)"),
    ("tan(x)", 1 / sympy.cos(x) ** 2, "tan(x)^2 + 1"),
    ("asin(x)", 1 / sympy.sqrt(1 - x ** 2), "1/sqrt(1 - x^2)"),
    ("acos(x)", -1 / sympy.sqrt(1 - x ** 2), "-1/sqrt(1 - x^2)"),
    ("atan(x)", 1 / (1 + x ** 2), "1/(x^2 + 1)"),
    ("sinh(x)", sympy.cosh(x), "cosh(x)"),
    ("cosh(x)", sympy.sinh(x), "sinh(x)"),
    ("tanh(x)", 1 - sympy.tanh(x) ** 2, "1 - tanh(x)^2"),
    ("sigmoid(x)", SF.sigmoid(x) * (1 - SF.sigmoid(x)), "sigmoid(x)*(1 - sigmoid(x))"),
    ("relu(x)", sympy.Heaviside(x), "step(x)"),
    ("softplus(x)", SF.sigmoid(x), "sigmoid(x)"),
    ("x^3", 3 * x ** 2, "3*x^2"),
    ("1/x", -1 / x ** 2, "-1/x^2"),
    ("2^x", 2 ** x * sympy.log(2), "2^x*ln(2)"),
])
def test_derivative_of_every_function(text, derivative, printed):
    d = S.partials(sym(text), [x])["x"]
    assert same(d, derivative)
    assert SP.to_text(d) == printed


def test_sheet_000_example_formulas():
    grads = S.partials(sym("ln(x)+exp(y)*z"), [x, y, z])
    assert [SP.to_text(grads[n]) for n in "xyz"] == ["1/x", "z*exp(y)", "exp(y)"]
    values = SN.compile_numeric(list(grads.values()), [x, y, z])(1.0, 3.0, 2.0)
    assert values == pytest.approx([1.0, 2 * math.exp(3), math.exp(3)], rel=1e-15)


# ------------------------------------------------------------------------------------------ custom functions


def test_sigmoid_values_derivative_and_rewrite():
    assert SF.sigmoid(0) == sympy.Rational(1, 2)
    assert SF.sigmoid(sympy.oo) == 1 and SF.sigmoid(-sympy.oo) == 0
    assert float(SF.sigmoid(x).subs(x, 2).evalf(30)) == pytest.approx(1 / (1 + math.exp(-2)), rel=1e-15)
    assert SF.sigmoid(sympy.Float(1.5)) == pytest.approx(1 / (1 + math.exp(-1.5)))
    assert same(SF.sigmoid(x).rewrite(sympy.exp), 1 / (1 + sympy.exp(-x)))
    assert same(SF.sigmoid(x).diff(x, 2), SF.sigmoid(x) * (1 - SF.sigmoid(x)) * (1 - 2 * SF.sigmoid(x)))
    assert SF.sigmoid(x).is_positive and SF.sigmoid(x).is_real


def test_relu_derivative_is_heaviside_with_half_at_zero():
    assert SF.relu(x).diff(x) == sympy.Heaviside(x)
    assert SF.relu(x).diff(x).subs(x, 0) == sympy.Rational(1, 2)
    assert SF.relu(-3) == 0 and SF.relu(sympy.Rational(5, 2)) == sympy.Rational(5, 2)
    assert SF.relu(x ** 2) == x ** 2  # a non-negative argument passes through
    assert SF.relu(x).rewrite(sympy.Max) == sympy.Max(0, x)
    assert float(SF.relu(x).subs(x, -2).evalf()) == 0.0


def test_softplus_derivative_and_value():
    assert SF.softplus(x).diff(x) == SF.sigmoid(x)
    assert SF.softplus(0) == sympy.log(2)
    assert float(SF.softplus(x).subs(x, 1).evalf(20)) == pytest.approx(math.log1p(math.e), rel=1e-15)


def test_custom_functions_lambdify_stably():
    exprs = [SF.sigmoid(x), SF.sigmoid(x).diff(x), SF.relu(x), SF.relu(x).diff(x), SF.softplus(x),
             SF.logsumexp(x, y)]
    f = SN.compile_numeric(exprs, [x, y])
    assert f(0.0, 0.0) == pytest.approx([0.5, 0.25, 0.0, 0.5, math.log(2), math.log(2)])
    assert f(-1.0, 1.0) == pytest.approx([1 / (1 + math.e), math.e / (1 + math.e) ** 2, 0.0, 0.0,
                                          math.log1p(math.exp(-1)), 1 + math.log1p(math.exp(-2))])
    big = f(1000.0, 1000.0)
    assert big == pytest.approx([1.0, 0.0, 1000.0, 1.0, 1000.0, 1000 + math.log(2)])
    small = f(-1000.0, -1000.0)
    assert small == pytest.approx([0.0, 0.0, 0.0, 0.0, 0.0, -1000 + math.log(2)])
    assert all(math.isfinite(v) for v in big + small)


def test_logsumexp_derivative_is_softmax():
    lse = SF.logsumexp(x, y, z)
    assert lse.diff(y) == sympy.exp(y - lse)
    assert same(elementary(lse.diff(y)), sympy.exp(y) / (sympy.exp(x) + sympy.exp(y) + sympy.exp(z)))
    assert SF.logsumexp(x) == x


# ------------------------------------------------------------------------------------------ tree -> SymPy


def tensor_env(**shapes):
    return env_for(shapes)


def test_entry_symbols_are_unambiguous_and_real():
    W = SC.entry_symbols("W1", (2, 3))
    assert W.shape == (2, 3) and str(W[0, 1]) == "W1[0,1]" and W[0, 1].is_real
    v = SC.entry_symbols("x", (3,))
    assert v.shape == (3, 1) and [str(e) for e in v] == ["x[0]", "x[1]", "x[2]"]
    assert SC.entry_symbols("x", (3, 1)) == v
    assert SC.entry_symbols("s") == SC.symbol("s") and SC.symbol("s").is_real
    with pytest.raises(ShapeError):
        SC.entry_symbols("T", (2, 2, 2))
    with pytest.raises(ShapeError):
        SC.entry_symbols("T", (0,))
    with pytest.raises(TimeBoundError):
        SC.entry_symbols("big", (1000, 1000))


def test_elementwise_ops_and_scalar_spreading():
    env = tensor_env(v=(3,), u=(3,), A=(2, 3), s=())
    v, u, A, s = env["v"], env["u"], env["A"], env["s"]
    assert sym("v * u", env) == v.multiply_elementwise(u)
    assert sym("v + s", env) == v.applyfunc(lambda e: e + s)
    assert sym("s / v", env) == v.applyfunc(lambda e: s / e)
    assert sym("v ^ 2", env) == v.applyfunc(lambda e: e ** 2)
    assert sym("2 ^ v", env) == v.applyfunc(lambda e: 2 ** e)
    assert sym("sigmoid(A)", env) == A.applyfunc(SF.sigmoid)
    assert sym("-A", env) == -A
    # (1, 1) acts as a scalar in element-wise operations
    one_by_one = sym("v.T @ u", env)
    assert one_by_one.shape == (1, 1)
    assert sym("(v.T @ u) * A", env) == A.applyfunc(lambda e: one_by_one[0, 0] * e)
    assert sym("(v.T @ u) + s", env).shape == (1, 1)


def test_matrix_product_transpose_and_reductions():
    env = tensor_env(X=(3, 2), w=(2,), W=(4, 2), v=(3,))
    X, w, W, v = env["X"], env["w"], env["W"], env["v"]
    assert sym("X @ w", env) == X * w
    assert sym("X @ W.T", env) == X * W.T
    assert sym("transpose(X)", env) == X.T
    assert sym("sum(v)", env) == v[0] + v[1] + v[2]
    assert sym("mean(v)", env) == (v[0] + v[1] + v[2]) / 3
    assert sym("dot(v, v)", env) == sum(e ** 2 for e in v)
    assert sym("norm(w)^2", env) == w[0] ** 2 + w[1] ** 2
    assert sym("norm(x)", SCALARS) == sympy.Abs(x)
    assert sym("logsumexp(v)", env) == SF.logsumexp(*v)
    soft = sym("softmax(v)", env)
    assert soft.shape == (3, 1)
    assert same(elementary(sum(soft)), 1)
    assert sym("outer(v, w)", env) == v * w.T
    assert sym("diag(v)", env) == sympy.diag(*v)
    assert sym("eye(2)", env) == sympy.eye(2)
    assert sym("ones(3)", env) == sympy.ones(3, 1) and sym("zeros(2, 3)", env) == sympy.zeros(2, 3)
    assert sym("x.T", SCALARS) == x


@pytest.mark.parametrize("text, message, column", [
    ("v + w", "'+' needs equal shapes or a scalar operand; got (3, 1) and (2, 1)", 3),
    ("v * X", "'*' needs equal shapes or a scalar operand; got (3, 1) and (3, 2)", 3),
    ("X @ v", "'@' needs the inner sizes to match; got (3, 2) @ (3, 1)", 3),
    ("s @ v", "'@' needs two 2-D operands (use * to scale by a scalar); got a scalar @ (3, 1)", 3),
    ("dot(v, w)", "dot needs equal shapes; got (3, 1) and (2, 1)", 1),
    ("1 + outer(X, v)", "outer needs a column vector (n, 1); got (3, 2)", 5),
    ("diag(v.T)", "diag needs a column vector (n, 1); got (1, 3)", 1),
])
def test_shape_errors_name_both_shapes_and_the_column(text, message, column):
    env = tensor_env(v=(3,), w=(2,), X=(3, 2), s=())
    with pytest.raises(ShapeError) as err:
        sym(text, env)
    assert err.value.message == message
    assert err.value.where == f"column {column}"


@pytest.mark.parametrize("text, fragment", [
    ("1/0", "division by 0"),
    ("x/(y-y)", "division by 0"),
    ("ln(0)", "ln is undefined"),
    ("sqrt(-1)", "sqrt is not real"),
    ("log(x, 1)", "log is undefined"),
    ("(-2)^x", "needs a base > 0"),
])
def test_domain_errors(text, fragment):
    with pytest.raises(DomainError, match=fragment):
        sym(text)


def test_unknown_names_and_numbers():
    with pytest.raises(BindingError) as err:
        sym("x + q")
    assert "'q'" in err.value.message and err.value.where == "column 5"
    assert sym("0.5*x + 1e-3") == x / 2 + sympy.Rational(1, 1000)
    assert sym("pi + e") == sympy.pi + sympy.E
    env = {"X": np.array([[1.0, 2.0], [3.0, 4.0]]), "v": [1.0, 2.0], "t": 2.5}
    assert sym("X @ v", env) == sympy.ImmutableMatrix([[5.0], [11.0]])
    assert sym("t", env) == sympy.Float(2.5)


def test_index_picks_one_entry():
    env = dict(tensor_env(X=(3, 2), v=(3,)), i=sympy.Integer(2), l=sympy.Integer(1))
    X, v = env["X"], env["v"]
    assert SC.to_sympy(parse("X[i, l]", allow_index=True), env) == X[2, 1]
    assert SC.to_sympy(parse("v[i]", allow_index=True), env) == v[2]
    with pytest.raises(ShapeError, match="does not fit"):
        SC.to_sympy(parse("X[l, i]", allow_index=True), env)


# ------------------------------------------------------------------------------------------ partials


def test_partials_never_get_longer_and_simplify_when_it_helps():
    expr = sym("(x+1)^2 - x^2")  # derivative 2(x+1) - 2x = 2
    assert S.partials(expr, [x])["x"] == 2
    d = S.partials(sym("sigmoid(x)"), [x])["x"]
    assert d == SF.sigmoid(x) * (1 - SF.sigmoid(x))
    raw = S.partial(sym("c*(a-b)^2"), SCALARS["b"])
    best = S.simplified(raw)
    assert sympy.count_ops(best) <= sympy.count_ops(raw) and same(best, raw)


def test_partials_respect_the_time_bound():
    terms = " + ".join(f"sin(x+{i})^3*cos(y*{i})^2/(x+y+{i})" for i in range(1, 40))
    expr = sym(terms)
    raw = S.partial(expr, x)
    start = time.monotonic()
    best = S.simplified(raw, 0.3)
    assert time.monotonic() - start < 0.3 + 1.0  # SymPy can lose a raise; the alarm repeats 50 ms later
    assert best == raw or sympy.count_ops(best) < sympy.count_ops(raw)
    start = time.monotonic()
    S.partials(expr, [x, y], simplify_seconds=0.3, total_seconds=0.4)
    assert time.monotonic() - start < 2 * 1.5 + 0.4 + 0.3  # two differentiations (about 1 s each) + the budget


def test_deeply_nested_formulas_time_out_instead_of_hanging_or_overflowing_the_stack():
    deep = sym("sigmoid(" * 199 + "x" + ")" * 199)  # building needs more stack than Python's default
    start = time.monotonic()
    with pytest.raises(TimeBoundError, match="differentiating by x did not finish within 0.5 s"):
        S.partial(deep, x, seconds=0.5)
    assert time.monotonic() - start < 0.5 + 1.5  # the bound, plus slack for a loaded machine
    assert SP.to_text(deep).count("sigmoid(") == 199


def test_printing_falls_back_when_out_of_time():
    f = sym("sigmoid(x)^2/(1+x)")
    assert SP.latex(f, seconds=0) == r"\text{(formula too long to typeset)}"
    assert r"\sigma" in SP.latex(f)


# ------------------------------------------------------------------------------------------ numerics


def test_compile_numeric_with_names_that_would_shadow_python_or_numpy():
    names = ["where", "lambda_", "select", "numpy", "x0", "exp"]
    syms = [SC.symbol(n) for n in names]
    expr = syms[0] * 2 + syms[1] + syms[2] ** 2 + syms[3] + syms[4] + syms[5]
    f = SN.compile_numeric([expr, sympy.exp(syms[0]) + syms[4]], syms)
    assert f(1, 2, 3, 4, 5, 6) == pytest.approx([2 + 2 + 9 + 4 + 5 + 6, math.e + 5])


def test_compile_numeric_matrices_entries_and_errors():
    v = SC.entry_symbols("x", (2,))
    f = SN.compile_numeric([v.T * v, 2 * v, sympy.Integer(3)], list(v))
    scalar, column, const = f(1.0, 2.0)
    assert scalar == 5.0 and isinstance(scalar, float)
    assert column.shape == (2, 1) and column.tolist() == [[2.0], [4.0]]
    assert const == 3.0 and isinstance(const, float)
    with pytest.raises(BindingError, match="expected 2 values"):
        f(1.0)
    g = SN.compile_numeric([sympy.log(x), sympy.sqrt(x)], [x])
    assert all(math.isnan(v) for v in g(-1.0))


def test_compile_point_values_names_and_errors():
    names = ["where", "lambda_", "math", "x0"]
    syms = [SC.symbol(n) for n in names]
    f = SN.compile_point([syms[0] * 2 + syms[1] + syms[2] ** 2 + syms[3], sympy.Integer(3)], syms)
    assert f(1, 2, 3, 4) == [17.0, 3.0] and all(type(v) is float for v in f(1, 2, 3, 4))
    with pytest.raises(BindingError, match="expected 4 values"):
        f(1.0)
    with pytest.raises(BindingError, match="values must be numbers"):
        f(1, 2, 3, "four")
    with pytest.raises(ShapeError, match="scalar formulas"):
        SN.compile_point([SC.entry_symbols("v", (2,))], [x])


def test_compile_point_marks_only_the_undefined_formula():
    f = SN.compile_point([sympy.log(x), 1 / x, sympy.sqrt(x), x ** sympy.Rational(1, 3), sympy.exp(x), y + 1],
                        [x, y])
    assert [math.isnan(v) for v in f(0.0, 1.0)] == [True, True, False, False, False, False]
    assert [math.isnan(v) for v in f(-8.0, 1.0)] == [True, False, True, True, False, False]
    assert math.isnan(f(1000.0, 1.0)[4]) and f(1000.0, 1.0)[5] == 2.0


@st.composite
def scalar_formulas(draw, depth=3):
    """Random formulas (text) over every element-wise function of the table and + - * / ^."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["x", "y", "x", "2", "0.5", "pi"]))
    kind = draw(st.sampled_from(["call", "binary", "binary", "power"]))
    if kind == "call":
        name = draw(st.sampled_from(sorted(n for n, f in F.BY_NAME.items() if f.kind == F.ELEMENTWISE and 1 in f.arity)))
        return f"{name}({draw(scalar_formulas(depth - 1))})"
    if kind == "power":
        return f"({draw(scalar_formulas(depth - 1))})^{draw(st.sampled_from(['2', '3', '(-1)', '0.5']))}"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"({draw(scalar_formulas(depth - 1))}){op}({draw(scalar_formulas(depth - 1))})"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scalar_formulas(), st.floats(-3, 3), st.floats(-3, 3))
def test_compile_point_is_compile_numeric_wherever_it_has_a_value(text, a, b):
    """The float path (math, no NumPy) and the NumPy path compute the same number; where the float path
    has no value (nan), the formula is undefined or overflows at the point."""
    try:
        formula = sym(text)
    except DomainError:  # a constant outside a domain, e.g. acos(2)
        assume(False)
    point = SN.compile_point([formula], [x, y])(a, b)[0]
    array = SN.compile_numeric([formula], [x, y])(a, b)[0]
    if math.isfinite(point):
        assert point == pytest.approx(array, rel=1e-9, abs=1e-12)
    else:
        assert not math.isfinite(array) or math.isnan(point)


def test_point_value_reads_symbols_by_name():
    assert SN.point_value(sym("x*y + 1"), {"x": 2, "y": 3}) == 7.0
    with pytest.raises(BindingError, match="no value for y"):
        SN.point_value(sym("x*y"), {"x": 2})


def test_the_symbolic_column_of_derive_never_imports_numpy():
    """derive's symbolic job runs in gradcli.prefork's child, which has not imported NumPy: keeping it that
    way keeps ~0.08 s off the command's start-up."""
    code = ("import sys\n"
            "import gradcli.checks.derive as D, gradcli.language.definitions as Df\n"
            "from gradcli.language.expr import parse\n"
            "D._symbolic(parse('ln(x)+sigmoid(y)*relu(z)+abs(x)'), {}, ['x','y','z'], {'x':1.,'y':3.,'z':2.}, 1.0)\n"
            "defs = {k: n for k, (n, _) in Df.parse_definitions(['a=(w+x)^2', 'b=x*w']).items()}\n"
            "D._symbolic(parse('c*(a-b)^2'), defs, ['c','w','x'], {'c':1.,'w':2.,'x':3.}, 1.0)\n"
            "print(sorted(m for m in ('numpy', 'rich', 'typer') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout == "[]\n", proc.stderr


def test_value_reads_symbols_by_name():
    assert SN.value(sym("x*y + 1"), {"x": 2, "y": 3}) == 7.0
    with pytest.raises(BindingError, match="no value for y"):
        SN.value(sym("x*y"), {"x": 2})


# ------------------------------------------------------------------------------------------ printing


@pytest.mark.parametrize("text, printed", [
    ("ln(x)+exp(y)*z", "z*exp(y) + ln(x)"),
    ("1/x", "1/x"),
    ("x^-2", "1/x^2"),
    ("sqrt(x)", "sqrt(x)"),
    ("x^(1/3)", "x^(1/3)"),
    ("(x^y)^z", "(x^y)^z"),
    ("2^x^y", "2^x^y"),
    ("-x^2", "-x^2"),
    ("y - x", "y - x"),
    ("c*(a-b)^2", "c*(a - b)^2"),
    ("abs(x)", "abs(x)"),
    ("e^x", "exp(x)"),
    ("pi*x", "pi*x"),
    ("x/(y+z)", "x/(y + z)"),
    ("-x/(2*y)", "-x/(2*y)"),
])
def test_to_text_exact(text, printed):
    assert SP.to_text(sym(text)) == printed


def test_to_text_of_tensors():
    v = SC.entry_symbols("v", (2,))
    assert SP.to_text(v) == "[[v[0]], [v[1]]]"
    assert SP.to_text(sympy.ImmutableDenseNDimArray([x, 2 * y], (1, 2))) == "[[x, 2*y]]"


NAMES = st.sampled_from(["x", "y", "z"])
LEAF = st.one_of(NAMES, st.sampled_from(["2", "0.5", "3", "pi", "e"]))
UNARY = ["exp", "ln", "sqrt", "abs", "sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu",
         "softplus", "log10"]


def _combine(children):
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children).map(lambda t: f"({t[1]}{t[0]}{t[2]})"),
        st.tuples(children, st.sampled_from(["2", "3", "-1", "0.5"])).map(lambda t: f"({t[0]})^{t[1]}"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        children.map(lambda t: f"-{t}"),
    )


EXPRESSIONS = st.recursive(LEAF, _combine, max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_printed_text_parses_back_to_the_same_function(text):
    """Law: to_text(f) is in our language (apart from step/sign) and means the same function as f."""
    try:
        f = sym(text)
    except DomainError:
        assume(False)
    printed = SP.to_text(f)
    assume("step(" not in printed and "sign(" not in printed)
    g = sym(printed)
    points = [(0.7, 1.3, 0.4), (1.9, 0.6, 1.1), (0.3, 0.8, 2.2)]
    fn = SN.compile_numeric([f, g], [x, y, z])
    for p in points:
        a, b = fn(*p)
        if math.isfinite(a) and math.isfinite(b):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (text, printed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_lambdified_value_matches_high_precision_evaluation(text):
    """Law: the NumPy form of every function (custom ones included) computes what SymPy means."""
    try:
        f = sym(text)
    except DomainError:
        assume(False)
    point = {x: sympy.Rational(7, 10), y: sympy.Rational(13, 10), z: sympy.Rational(2, 5)}
    numeric = SN.compile_numeric([f], [x, y, z])(0.7, 1.3, 0.4)[0]
    assume(math.isfinite(numeric) and abs(numeric) < 1e12)
    exact = complex(f.evalf(30, subs=point))
    assume(abs(exact.imag) < 1e-20)
    assert numeric == pytest.approx(exact.real, rel=1e-9, abs=1e-12), text


def test_latex_uses_the_sheets_notation():
    assert SP.latex(SF.sigmoid(x)) == r"\sigma\left(x\right)"
    assert SP.latex(SF.sigmoid(x) ** 2) == r"\sigma^{2}\left(x\right)"
    assert SP.latex(SF.relu(x)) == r"\operatorname{ReLU}\left(x\right)"
    assert SP.latex(SF.relu(x).diff(x)) == r"\operatorname{step}\left(x\right)"
    assert SP.latex(SF.softplus(x)) == r"\operatorname{softplus}\left(x\right)"
    assert SP.latex(sympy.log(x)) == r"\ln{\left(x \right)}"
    A, B = sympy.MatrixSymbol("A", 2, 2), sympy.MatrixSymbol("B", 2, 2)
    assert SP.latex(A.T) == r"A^{\top}"
    assert SP.latex(sympy.HadamardProduct(A, B)) == r"A \odot B"
    assert SP.latex(SC.entry_symbols("W1", (2, 2))[0, 1]) == "W_{1}[0,1]"


# ------------------------------------------------------------------------------------------ chain rule

SHEET_003 = {"a": parse("(w+x+y)^2"), "b": parse("(x-y-z)^2")}
V = parse("c*(a-b)^2")


@pytest.fixture(scope="module")
def sheet_chain():
    return S.chain_rule(V, dict(reversed(list(SHEET_003.items()))), simplify_seconds=1.0)


def test_chain_rule_orders_definitions_and_finds_inputs(sheet_chain):
    assert sheet_chain.inputs == ["c", "w", "x", "y", "z"]
    assert sorted(sheet_chain.order) == ["a", "b"]
    assert [t.via for t in sheet_chain.terms("c")] == [None]
    assert [t.via for t in sheet_chain.terms("w")] == ["a"]
    assert [t.via for t in sheet_chain.terms("x")] == ["a", "b"]
    assert [t.via for t in sheet_chain.terms("z")] == ["b"]


def test_chain_rule_factors_treat_intermediates_as_symbols(sheet_chain):
    a, b = sheet_chain.symbols["a"], sheet_chain.symbols["b"]
    ta, tb = sheet_chain.terms("x")
    assert same(ta.outer, 2 * c * (a - b)) and same(ta.inner, 2 * (w + x + y))
    assert same(tb.outer, -2 * c * (a - b)) and same(tb.inner, 2 * (x - y - z))
    (direct,) = sheet_chain.terms("c")
    assert same(direct.outer, (a - b) ** 2) and direct.inner == 1
    assert same(sheet_chain.chain_sum("x"), 4 * c * (a - b) * (w + x + y) - 4 * c * (a - b) * (x - y - z))


def test_dv_dx_matches_the_correct_form_at_several_points(sheet_chain):
    """∂v/∂x = 4c(a−b)(w+x+y) − 4c(a−b)(x−y−z) (the sheet prints '·' for the '−': a slip)."""
    rng = np.random.default_rng(3)
    total = SN.compile_numeric([sheet_chain.total("x")], [c, w, x, y, z])
    for _ in range(6):
        cv, wv, xv, yv, zv = rng.uniform(-2, 2, 5)
        a = (wv + xv + yv) ** 2
        b = (xv - yv - zv) ** 2
        expected = 4 * cv * (a - b) * (wv + xv + yv) - 4 * cv * (a - b) * (xv - yv - zv)
        assert total(cv, wv, xv, yv, zv)[0] == pytest.approx(expected, rel=1e-12)
        env = sheet_chain.values({"c": cv, "w": wv, "x": xv, "y": yv, "z": zv})
        assert env["a"] == pytest.approx(a) and env["b"] == pytest.approx(b)
        products = sum(SN.value(t.outer, env) * SN.value(t.inner, env) for t in sheet_chain.terms("x"))
        assert products == pytest.approx(expected, rel=1e-12)


def test_the_sheets_printed_dv_dx_is_not_equivalent(sheet_chain):
    syms = [c, w, x, y, z]
    names = [str(s) for s in syms]
    expanded = {n: SC.to_sympy(node, SCALARS) for n, node in SHEET_003.items()}
    env = dict(SCALARS, **expanded)
    printed = SC.to_sympy(parse("4*c*(a-b)*(w+x+y) * -4*c*(a-b)*(x-y-z)"), env)
    right = SC.to_sympy(parse("4*c*(a-b)*(w+x+y) - 4*c*(a-b)*(x-y-z)"), env)
    points = random_points(names, 6, seed=1)
    assert find_counterexample(sheet_chain.total("x"), right, syms, points) == (6, None)
    checked, cx = find_counterexample(sheet_chain.total("x"), printed, syms, points)
    assert cx is not None and set(cx["at"]) == set(names) and cx["right"] != pytest.approx(cx["claimed"])


def test_nested_intermediates():
    system = S.chain_rule(parse("a + b"), {"a": parse("b^2"), "b": parse("x^2")})
    assert system.order == ["b", "a"] and system.inputs == ["x"]
    b = system.symbols["b"]
    (ta, tb) = system.terms("x")
    assert (ta.via, tb.via) == ("a", "b")
    assert ta.outer == 1 and same(ta.inner, 4 * b * x)  # da/dx = ∂a/∂b · db/dx
    assert same(system.total("x"), 4 * x ** 3 + 2 * x)
    env = system.values({"x": 1.5})
    assert env["b"] == 2.25 and env["a"] == 2.25 ** 2


@pytest.mark.parametrize("where, cycle", [
    ({"a": "b + x", "b": "a * 2"}, "a -> b -> a"),
    ({"a": "a + 1"}, "a -> a"),
    ({"p": "q", "q": "r", "r": "p", "s": "x"}, "p -> q -> r -> p"),
])
def test_cycles_raise_a_definition_error_naming_the_cycle(where, cycle):
    with pytest.raises(DefinitionError) as err:
        S.chain_rule(parse("a + x") if "a" in where else parse("p + s"), {k: parse(v) for k, v in where.items()})
    assert cycle in err.value.message


@pytest.mark.parametrize("name", ["exp", "sigmoid", "pi", "e", "ReLU"])
def test_definitions_of_functions_and_constants_are_refused(name):
    with pytest.raises(DefinitionError, match="cannot be redefined"):
        S.chain_rule(parse("x + 1"), {name: parse("x^2")})


def test_a_tensor_definition_is_a_shape_error():
    with pytest.raises(ShapeError) as err:
        S.chain_rule(parse("sum(a)"), {"a": parse("x * ones(3)")})
    assert "scalar" in err.value.message and err.value.where.startswith("--where a")


def test_chain_rule_without_the_input_is_a_binding_error(sheet_chain):
    with pytest.raises(BindingError, match="not an input"):
        sheet_chain.terms("a")


# ------------------------------------------------------------------------------------------ Jacobians

N, D, K = 3, 2, 4


@pytest.fixture(scope="module")
def jac_env():
    return dict(env_for({"X": (N, D), "W": (K, D), "w": (D,), "x": (D,)}), c=SC.symbol("c"))


@pytest.mark.parametrize("item, text, wrt, shape", [
    (1, "c", "w", (1, D)),
    (2, "norm(w)^2", "w", (1, D)),
    (3, "w.T @ x", "w", (1, D)),
    (4, "X @ w", "w", (N, D)),
    (5, "w", "w", (D, D)),
    (6, "w^2", "w", (D, D)),
    (7, "X @ W.T", "W", (N, K, K, D)),
])
def test_jacobian_shapes_of_sheet_001_section_2(jac_env, item, text, wrt, shape):
    J = S.jacobian_entries(SC.to_sympy(parse(text), jac_env), jac_env[wrt])
    assert J.shape == shape, item


def test_jacobian_entries_of_sheet_001_section_2(jac_env):
    w, X, W, xv = jac_env["w"], jac_env["X"], jac_env["W"], jac_env["x"]
    J = lambda text, wrt: S.jacobian_entries(SC.to_sympy(parse(text), jac_env), jac_env[wrt])  # noqa: E731
    assert J("c", "w").tolist() == [[0, 0]]
    assert J("norm(w)^2", "w").tolist() == [[2 * w[0], 2 * w[1]]]
    assert J("w.T @ x", "w").tolist() == [[xv[0], xv[1]]]
    assert J("X @ w", "w").tomatrix() == X
    assert J("w", "w").tomatrix() == sympy.eye(D)
    assert J("w^2", "w").tomatrix() == sympy.diag(2 * w[0], 2 * w[1])
    J7 = J("X @ W.T", "W")
    for i in range(N):
        for j in range(K):
            for k in range(K):
                for l in range(D):  # noqa: E741
                    assert J7[i, j, k, l] == (X[i, l] if j == k else 0)
    assert W.shape == (K, D)


def test_softmax_jacobian_is_diag_s_minus_s_st():
    v = SC.entry_symbols("v", (3,))
    s = SC.to_sympy(parse("softmax(v)"), {"v": v})
    J = S.jacobian_entries(s, v)
    assert J.shape == (3, 3)
    claim = SC.to_sympy(parse("diag(s) - s @ s.T"), {"s": s})
    assert proved_equal(J.tomatrix(), claim, seconds=10)
    assert find_counterexample(J.tomatrix(), claim, list(v), random_points([str(e) for e in v]))[1] is None
    wrong = SC.to_sympy(parse("diag(s) - s.T @ s"), {"s": s})
    assert find_counterexample(J.tomatrix(), wrong, list(v), [{"v[0]": 0.1, "v[1]": 0.2, "v[2]": 0.3}])[1]
    at_1000 = SN.compile_numeric([J.tomatrix()], list(v))(1000.0, 0.0, 1.0)[0]
    assert np.all(np.isfinite(at_1000))


def test_jacobian_needs_a_variable():
    with pytest.raises(GradcliError):
        S.jacobian_entries(x ** 2, x + 1)
    assert S.jacobian_entries(x ** 2, x).shape == (1, 1)


def test_simplify_imports_happen_before_its_time_bound_starts():
    """sympy.simplify's first call imports sympy.physics.units (~0.15 s): inside the bound, that would use up
    the first formula's time, so the printed formula would depend on the machine's load."""
    code = ("import sys, sympy\n"
            "import gradcli.symbolic.calculus as S\n"
            "seen = []\n"
            "real = S.bounded\n"
            "def spy(seconds, fn, *args, **kw):\n"
            "    if len(args) > 1 and args[0] is sympy.simplify:\n"
            "        seen.append('sympy.physics.units' in sys.modules)\n"
            "    return real(seconds, fn, *args, **kw)\n"
            "S.bounded = spy\n"
            "x, y = sympy.Symbol('x', real=True), sympy.Symbol('y', real=True)\n"
            "print(S.simplified((x + y)**2 - (x - y)**2 + x*y*sympy.sin(x)**2 + x*y*sympy.cos(x)**2), seen)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "5*x*y [True]", proc.stderr
