"""`derive`: seed numbers (sheet 001 §5, sheet 003 §2), kinks, bad input, and the three-way law."""

import math

import pytest
from hypothesis import example, HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcli.checks.derive import derive
from gradcli.errors import GradcliError
from gradcli.language.expr import free_names, parse

E3 = math.exp(3)


def test_sheet001_s5_values_graph_and_partials():
    r = derive("ln(x)+exp(y)*z", "1,3,2")
    assert r.at == {"x": 1.0, "y": 3.0, "z": 2.0}
    assert "alphabetical" in r.binding_note
    assert r.value == pytest.approx(2 * E3, rel=1e-15)
    want = {"x": 1.0, "y": 2 * E3, "z": E3}
    for var, value in want.items():
        p = r.partials[var]
        assert p.verdict == "agree"
        for column in (p.symbolic, p.backprop, p.numeric):
            assert column == pytest.approx(value, rel=1e-9)
    assert [p.formula for p in r.partials.values()] == ["1/x", "z*exp(y)", "exp(y)"]
    nodes = r.graph.nodes
    assert [(n.node, n.op, n.inputs) for n in nodes] == [
        ("h1", "ln", ["x"]), ("h2", "exp", ["y"]), ("h3", "mul", ["h2", "z"]), ("h4", "add", ["h1", "h3"])]
    assert [n.value for n in nodes] == pytest.approx([0.0, E3, 2 * E3, 2 * E3])
    # The sheet prints ∂f/∂h2 = 1 in one place; the correct upstream gradient is z = 2.
    assert [n.upstream for n in nodes] == pytest.approx([1.0, 2.0, 1.0, 1.0])
    assert nodes[2].local == pytest.approx([2.0, E3])  # ∂h3/∂h2 = z, ∂h3/∂z = h2
    paths = r.graph.paths
    assert [p.steps for p in paths["y"]] == [["y", "h2", "h3", "h4"]]
    assert paths["y"][0].product == pytest.approx(2 * E3)
    # ∂f/∂z goes through h3 (the sheet writes ∂f/∂h2 there): its path is z -> h3 -> h4.
    assert [p.steps for p in paths["z"]] == [["z", "h3", "h4"]]


@pytest.mark.parametrize("point", [(1, 3, 2), (0.5, -1.0, 4.0), (7.25, 0.3, -2.5)])
def test_sheet001_s5_at_several_points(point):
    x, y, z = point
    r = derive("ln(x)+exp(y)*z", {"x": x, "y": y, "z": z})
    want = {"x": 1 / x, "y": z * math.exp(y), "z": math.exp(y)}
    for var, value in want.items():
        assert r.partials[var].backprop == pytest.approx(value, rel=1e-12)
        assert r.partials[var].symbolic == pytest.approx(value, rel=1e-12)
        assert r.partials[var].numeric == pytest.approx(value, rel=1e-8)
        assert r.partials[var].verdict == "agree"


def _v_partials(c, w, x, y, z):
    """Sheet 003 §2 by hand: v = c(a-b)^2, a = (w+x+y)^2, b = (x-y-z)^2."""
    a, b = (w + x + y) ** 2, (x - y - z) ** 2
    k = 4 * c * (a - b)
    return {"c": (a - b) ** 2, "w": k * (w + x + y), "x": k * (w + 2 * y + z), "y": k * (w + 2 * x - z),
            "z": k * (x - y - z)}


@pytest.mark.parametrize("point", [(1, 2, 3, 4, 5), (0.5, -1, 0.25, 2, -0.75), (-2, 0.1, 0.2, 0.3, 0.4)])
def test_sheet003_s2_chain_rule_totals(point):
    c, w, x, y, z = point
    r = derive("c*(a-b)^2", dict(zip("cwxyz", point)), ["a=(w+x+y)^2", "b=(x-y-z)^2"])
    assert list(r.partials) == ["c", "w", "x", "y", "z"]
    for var, value in _v_partials(c, w, x, y, z).items():
        p = r.partials[var]
        assert p.verdict == "agree", (var, p)
        assert p.backprop == pytest.approx(value, rel=1e-10, abs=1e-9)
        assert p.symbolic == pytest.approx(value, rel=1e-10, abs=1e-9)


def test_where_any_order_and_nested():
    r1 = derive("c*(a-b)^2", "c=1,w=2,x=3,y=4,z=5", ["b=(x-y-z)^2", "a=(w+x+y)^2"])
    r2 = derive("c*(a-b)^2", "c=1,w=2,x=3,y=4,z=5", ["a=(w+x+y)^2", "b=(x-y-z)^2"])
    assert {k: p.backprop for k, p in r1.partials.items()} == {k: p.backprop for k, p in r2.partials.items()}
    r = derive("u^2", "x=0.5", ["u=sin(t)", "t=3*x"])
    assert r.partials["x"].backprop == pytest.approx(2 * math.sin(1.5) * math.cos(1.5) * 3)


@pytest.mark.parametrize("where, fragment", [
    (["a=b+1", "b=a*2"], "cycle: a -> b -> a"),
    (["a=x", "a=y"], "defined twice"),
    (["exp=x"], "built-in"),
    (["a"], "NAME=EXPR"),
    (["a=x+"], "--where a"),
])
def test_where_errors(where, fragment):
    with pytest.raises(GradcliError) as exc:
        derive("a*x", "x=1,y=2", where)
    assert fragment in exc.value.render()


@pytest.mark.parametrize("expr, at, fragments", [
    ("relu(x)", "0", ("kink",)),
    ("abs(x)*y", "x=0,y=3", ("kink",)),
    ("relu(x-1)+y^2", "x=1,y=2", ("kink",)),
])
def test_kinks_are_not_mismatches(expr, at, fragments):
    r = derive(expr, at)
    assert r.verdict == "kink" and r.exit_code == 0
    p = r.partials["x"]
    assert p.verdict == "kink"
    left, right = p.one_sided
    lo, hi = min(left, right), max(left, right)
    assert hi - lo > 0.5  # really two different one-sided slopes
    assert lo - 1e-9 <= p.backprop <= hi + 1e-9
    assert lo - 1e-9 <= p.symbolic <= hi + 1e-9
    if "y" in r.partials:
        assert r.partials["y"].verdict == "agree"


def test_relu_one_sided_values():
    p = derive("relu(x)", "0").partials["x"]
    assert p.one_sided == pytest.approx((0.0, 1.0), abs=1e-9)


@pytest.mark.parametrize("expr, at, fragment", [
    ("ln(x)", "0", "ln"),
    ("sqrt(x)", "-1", "sqrt"),
    ("1/x", "0", "/"),
    ("exp(x)", "1000", "overflow"),
    ("x", "nan", "finite"),
    ("x", "inf", "finite"),
    ("x+y", "1", "2 variables"),
    ("x+y", "1,2,3", "2 variables"),
    ("x+y", "x=1,q=2", "not a variable"),
    ("x+y", None, "values are needed"),
    ("2^2^2^2^2*x", "1", "exponent"),
    ("x", "1,", "empty"),
    ("3+4", None, "no variables"),
])
def test_bad_points_and_values(expr, at, fragment):
    with pytest.raises(GradcliError) as exc:
        derive(expr, at)
    assert fragment in exc.value.render()


# ------------------------------------------------------------------ the law: symbolic == backprop == numeric

UNARY = {  # function -> a map from an unbounded real into its comfortable domain
    "exp": lambda t: f"({t})/3", "ln": lambda t: f"(({t})^2+0.5)", "log10": lambda t: f"(({t})^2+0.5)",
    "sqrt": lambda t: f"(({t})^2+0.25)", "sin": str, "cos": str, "tan": lambda t: f"sin({t})",
    "asin": lambda t: f"(0.5*sin({t}))", "acos": lambda t: f"(0.5*cos({t}))", "atan": str,
    "sinh": lambda t: f"(({t})/3)", "cosh": lambda t: f"(({t})/3)", "tanh": str, "sigmoid": str,
    "softplus": str, "abs": lambda t: f"(({t})^2+1)", "relu": lambda t: f"(({t})^2+1)",
}


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["x", "y", "z", "x", "y", "2", "0.5", "pi"]))
    kind = draw(st.sampled_from(["unary", "binary", "binary", "power"]))
    if kind == "unary":
        fn = draw(st.sampled_from(sorted(UNARY)))
        return f"{fn}({UNARY[fn](draw(expressions(depth - 1)))})"
    if kind == "power":
        base, exponent = draw(expressions(depth - 1)), draw(st.sampled_from(["2", "3", "-1", "0.5"]))
        if exponent in ("-1", "0.5"):
            base = f"({base})^2+1"  # keep away from 0 (and negatives for the square root)
        return f"({base})^{exponent}"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    left, right = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    if op == "/":
        right = f"(({right})^2+1)"
    return f"({left}){op}({right})"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
@example("abs(((asin((0.5*sin(asin((0.5*sin(z)))))))^2+1))", 0.0, 0.0, 0.0)  # SymPy's d|u| has re(u), im(u)
def test_three_columns_agree_on_random_expressions(text, x, y, z):
    names = free_names(parse(text))
    assume(names)
    point = {"x": x, "y": y, "z": z}
    r = derive(text, {n: point[n] for n in names})
    assert r.verdict in ("agree", "kink"), {k: (p.symbolic, p.backprop, p.numeric, p.reason) for k, p in r.partials.items()}


def test_symbolic_time_bound_leaves_two_columns(monkeypatch):
    import gradcli.symbolic.calculus as S
    from gradcli.errors import TimeBoundError

    def too_slow(*args, **kwargs):
        raise TimeBoundError("differentiating by x did not finish within 5 s")

    monkeypatch.setattr(S, "partials", too_slow)
    r = derive("sin(x)*x", "0.7")
    p = r.partials["x"]
    assert p.symbolic is None and p.verdict == "agree"
    assert p.backprop == pytest.approx(math.cos(0.7) * 0.7 + math.sin(0.7), rel=1e-12)
    assert "not available" in r.symbolic_note
