"""The expression language (the expression language): precedence, Unicode, errors with columns, limits, never a crash."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.language import functions as F
from gradcli.errors import GradcliError, ParseError
from gradcli.language.expr import Binary, Call, Const, Index, Name, Num, Transpose, Unary, free_names, parse, to_text, tree_depth


@pytest.mark.parametrize("text, canonical", [
    ("ln(x)+exp(y)*z", "ln(x)+exp(y)*z"),
    ("-x^2", "-x^2"),
    ("(-x)^2", "(-x)^2"),
    ("2^3^2", "2^3^2"),
    ("x**2", "x^2"),
    ("a-b-c", "a-b-c"),
    ("a-(b-c)", "a-(b-c)"),
    ("a/b/c", "a/b/c"),
    ("a/(b*c)", "a/(b*c)"),
    ("2^-1", "2^(-1)"),
    ("W @ x + b", "W@x+b"),
    ("x.T @ x", "x.T@x"),
    ("(a+b).T", "(a+b).T"),
    ("log(x, 2)", "log(x, 2)"),
    ("σ(x)·y − z²", "sigmoid(x)*y-z^2"),
    ("η × ρ³", "eta*rho^3"),
    ("xσ(y)", None),  # 'x' then sigmoid: juxtaposition is an error, but not a crash
])
def test_canonical_text(text, canonical):
    if canonical is None:
        with pytest.raises(ParseError):
            parse(text)
        return
    assert to_text(parse(text)) == canonical
    assert to_text(parse(to_text(parse(text)))) == canonical


def test_precedence_trees():
    n = parse("-x^2")
    assert isinstance(n, Unary) and isinstance(n.operand, Binary) and n.operand.op == "^"
    n = parse("2^3^2")
    assert n.op == "^" and isinstance(n.right, Binary) and n.right.op == "^"
    n = parse("a-b-c")
    assert n.op == "-" and isinstance(n.left, Binary) and n.left.op == "-"
    n = parse("a+b*c")
    assert n.op == "+" and n.right.op == "*"
    n = parse("A @ B * c")
    assert n.op == "*" and n.left.op == "@"
    assert isinstance(parse("A.T"), Transpose)
    assert isinstance(parse("pi"), Const) and isinstance(parse("e"), Const)
    assert isinstance(parse("1e-3"), Num) and parse("1e-3").value == 1e-3
    assert isinstance(parse(".5"), Num) and parse(".5").value == 0.5
    c = parse("ReLU(x)")
    assert isinstance(c, Call) and c.func == "relu"
    assert isinstance(parse("√x".replace("x", "(x)")), Call)


def test_free_names_sorted():
    assert free_names(parse("z*y + ln(x) + pi + e")) == ["x", "y", "z"]


def test_columns_point_at_the_problem():
    with pytest.raises(ParseError) as exc:
        parse("x + sigmod(y)")
    assert exc.value.column == 4 and "sigmoid(y)" in exc.value.hint
    with pytest.raises(ParseError) as exc:
        parse("c(a-b)")
    assert "c*(a-b)" in exc.value.hint
    with pytest.raises(ParseError) as exc:
        parse("2x")
    assert exc.value.column == 1 and "2*x" in exc.value.hint
    with pytest.raises(ParseError) as exc:
        parse("x + * y")
    assert exc.value.column == 4
    err = exc.value.render()
    assert "x + * y" in err and "    ^" in err


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    ("x +", "end of the expression"),
    ("(x", "never closed"),
    ("x)", "unmatched"),
    ("exp", "is a function"),
    ("x.y", "only .T"),
    ("x[0]", "subscripts"),
    ("__import__('os')", "strings"),
    ("__class__", "'__'"),
    ("lambda x: x", "':'"),
    ("f(x=1)", "'='"),
    ("exp(x=1)", "keyword"),
    ("sum(x, y)", "takes 1 argument"),
    ("pi(2)", "constant"),
    ("2^2^2^2^2", "exponent"),
    ("x^1001", "exponent"),
    ("1e999", "too large"),
    ("ones(100000, 100000)", "entries"),
    ("ones(1.5)", "whole sizes"),
    ("x;y", "';'"),
    ("(" * 3000 + "x" + ")" * 3000, "nest deeper"),
    ("x/" * 300 + "x", "levels deep"),
    ("-" * 300 + "x", "signs in a row"),
    ("x" * (F.MAX_LENGTH + 1), "characters long"),
    ("()", "empty parentheses"),
    ("(a, b)", "tuples"),
    ("x @@ y", "expected a number"),
])
def test_bad_input_is_a_parse_error(text, fragment):
    with pytest.raises(ParseError) as exc:
        parse(text)
    assert fragment in exc.value.render()


def test_index_only_when_allowed():
    n = parse("X[i,l] * delta(j,k)".replace("delta(j,k)", "2"), allow_index=True)
    assert isinstance(n.left, Index) and [i.id for i in n.left.indices] == ["i", "l"]


def test_depth_limit_is_exact():
    ok = "(" * (F.MAX_DEPTH - 1) + "x" + ")" * (F.MAX_DEPTH - 1)
    assert isinstance(parse(ok), Name)
    assert tree_depth(parse("x/" * (F.MAX_DEPTH - 2) + "x")) == F.MAX_DEPTH - 1


def test_long_sums_are_balanced_not_refused():
    terms = [f"x{i}" for i in range(1000)]
    node = parse("+".join(terms))
    assert tree_depth(node) <= 12
    assert free_names(node) == sorted(terms)
    node = parse(" - ".join(terms[:100]))
    assert tree_depth(node) <= 10
    text = to_text(node)
    assert text.startswith("x0+-x1") and text.count("-") == 99
    short = parse("a-b+c-d")
    assert to_text(short) == "a-b+c-d"  # short chains keep Python's left-deep shape (the graph a student draws)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("xyz0123456789.+-*/^@(),eETσ²−·_ abcsinlogexp[]=:'\"") ), max_size=60))
def test_random_text_never_raises_anything_but_our_error(text):
    try:
        node = parse(text)
    except GradcliError:
        return
    assert to_text(parse(to_text(node))) == to_text(node)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_unicode_never_crashes(text):
    try:
        parse(text)
    except GradcliError:
        pass
