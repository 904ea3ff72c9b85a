"""`gradcli jacobian` and the Jacobian machinery: the the problem-file format shape convention, sheet 001 §2's seven items and
the softmax Jacobian three ways with their index formulas, index-formula evaluation, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradcli.checks import jacobian as J
from gradcli.symbolic import calculus as S
from gradcli.symbolic import compile as SN
from gradcli.symbolic import convert as SC
from gradcli.cli import app
from gradcli.errors import BindingError, GradcliError, ShapeError


def env_for(shapes):
    """An environment for to_sympy from {name: shape}: scalars get symbols, tensors entry symbols."""
    return {name: SC.entry_symbols(name, shape) for name, shape in shapes.items()}

runner = CliRunner()

n, d, k = 4, 3, 2  # X is n×d, W is k×d, w is d×1 (sheet 001 §2)

# Sheet 001 §2: (expression, wrt, shapes, Jacobian shape, index formula, closed form J = ... at the values)
SHEET_001 = [
    ("c", "w", {"w": f"{d}", "c": "scalar"}, (1, d), "0", lambda v: np.zeros((1, d))),
    ("norm(w)^2", "w", {"w": f"{d}"}, (1, d), "2*w[j]", lambda v: 2 * v["w"].T),
    ("w.T @ xi", "w", {"w": f"{d}", "xi": f"{d}"}, (1, d), "xi[j]", lambda v: v["xi"].T),
    ("X @ w", "w", {"X": f"{n}x{d}", "w": f"{d}"}, (n, d), "X[i,j]", lambda v: v["X"]),
    ("w", "w", {"w": f"{d}"}, (d, d), "delta(i,j)", lambda v: np.eye(d)),
    ("w^2", "w", {"w": f"{d}"}, (d, d), "2*w[i]*delta(i,j)", lambda v: np.diag(2 * v["w"].ravel())),
    ("X @ W.T", "W", {"X": f"{n}x{d}", "W": f"{k}x{d}"}, (n, k, k, d), "X[i,l]*delta(j,k)",
     lambda v: np.einsum("il,jk->ijkl", v["X"], np.eye(k))),
]


def values_of(result) -> dict[str, np.ndarray]:
    out = {}
    for name, value in result.at.items():
        arr = np.asarray(value, dtype=float)
        out[name] = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    return out


@pytest.mark.parametrize("expression, wrt, shapes, shape, formula, closed", SHEET_001,
                         ids=[f"item {i + 1}: {c[0]}" for i, c in enumerate(SHEET_001)])
def test_sheet_001_section_2(expression, wrt, shapes, shape, formula, closed):
    r = J.jacobian(expression, wrt, shapes, seed=3)
    assert r.shape == shape
    assert r.index_formula == formula
    assert r.verdict == "agree", r.reason
    expected = closed(values_of(r))
    for column in (r.symbolic, r.backprop, r.numeric):
        np.testing.assert_allclose(np.asarray(column), expected, rtol=1e-7, atol=1e-9)


def test_the_shape_reason_names_output_and_input():
    r = J.jacobian("X @ W.T", "W", {"X": "4x3", "W": "2x3"})
    assert "X @ W.T is a 4×2 matrix -> (4, 2)" in r.shape_reason and "W is a 2×3 matrix -> (2, 3)" in r.shape_reason
    r = J.jacobian("norm(w)^2", "w", {"w": "3"})
    assert "a scalar output counts as (1)" in r.shape_reason


def test_softmax_jacobian_three_ways_and_its_formulas():
    z = [0.5, -1.0, 2.0]
    r = J.jacobian("softmax(z)", "z", {"z": "3"}, ["z=[0.5, -1, 2]"])
    s = np.exp(z) / np.sum(np.exp(z))
    expected = np.diag(s) - np.outer(s, s)  # diag(s) - s sᵀ (sheet 001 §3.6)
    for column in (r.symbolic, r.backprop, r.numeric):
        np.testing.assert_allclose(np.asarray(column), expected, rtol=1e-8, atol=1e-10)
    assert r.verdict == "agree" and r.shape == (3, 3) and r.random == []
    # the index formula found must be s_i (delta_ij - s_j), written over z
    env = {"z": SC.entry_symbols("z", (3, 1))}
    node = J.parse_entry(r.index_formula)
    entries = J.entry_array(node, env, (3, 3), ["i", "j"])
    f = SN.compile_numeric([J._column(J.flat_entries(entries))], list(env["z"]))
    np.testing.assert_allclose(np.asarray(f(*z)[0]).reshape(3, 3), expected, rtol=1e-12, atol=1e-15)
    assert "delta(i,j)" in r.index_formula


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-5, max_value=5), min_size=2, max_size=5))
def test_softmax_jacobian_engine_rows_equal_the_closed_form(z):
    arr = np.array(z).reshape(-1, 1)
    from gradcli.language.expr import parse

    rows = J._engine_rows(parse("softmax(z)"), {"z": arr}, "z", (len(z), len(z)))
    s = np.exp(arr - arr.max()) / np.sum(np.exp(arr - arr.max()))
    np.testing.assert_allclose(rows, np.diagflat(s) - s @ s.T, atol=1e-12)


# ------------------------------------------------------------------------------------------- convention


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([(), (1, 1), (3, 1), (1, 4), (2, 3)]), st.sampled_from([(), (1, 1), (4, 1), (1, 2), (3, 2)]))
def test_the_shape_convention_is_output_axes_then_input_axes(out_shape, in_shape):
    shape = J.jacobian_shape(out_shape, in_shape)
    assert shape == J.axes(out_shape) + J.axes(in_shape)
    size = lambda s: int(np.prod(s)) if s else 1  # noqa: E731
    assert int(np.prod(shape)) == size(out_shape) * size(in_shape)


def test_symbolic_jacobian_entries_have_that_shape():
    env = env_for({"X": (4, 3), "W": (2, 3)})
    out = SC.to_sympy(J.parse_entry("X @ W.T"), env)
    jac = S.jacobian_entries(out, env["W"])
    assert tuple(jac.shape) == J.jacobian_shape((4, 2), (2, 3)) == (4, 2, 2, 3)


@pytest.mark.parametrize("text, shape", [("3x4", (3, 4)), ("3×4", (3, 4)), ("3,4", (3, 4)), ("[3, 4]", (3, 4)),
                                         ("4", (4, 1)), ("1x4", (1, 4)), ("scalar", ()), ("", ())])
def test_parse_shape(text, shape):
    assert J.parse_shape(text) == shape


@pytest.mark.parametrize("text", ["0x3", "3x", "a", "2x3x4", "-1"])
def test_parse_shape_refuses(text):
    with pytest.raises(BindingError):
        J.parse_shape(text, "X")


def test_rewrite_delta_keeps_columns():
    text = "X[i,l] * delta(j, k) + delta(i,(j))"
    out = J.rewrite_delta(text)
    assert out == "X[i,l] * delta[j, k] + delta[i,(j)]" and len(out) == len(text)
    assert J.rewrite_delta("δ(i,j)") == "delta[i,j]"


def test_entry_formulas_and_their_errors():
    env = env_for({"X": (3, 4)})
    node = J.parse_entry("X[i,l]*delta(j,k)")
    arr = J.entry_array(node, env, (3, 2, 2, 4), list("ijkl"))
    assert arr[0, 1, 1, 2] == env["X"][0, 2] and arr[0, 1, 0, 2] == 0
    with pytest.raises(ShapeError, match="does not fit 'X'"):
        J.entry_array(J.parse_entry("X[l,i]"), env, (3, 2, 2, 4), list("ijkl"))
    with pytest.raises(ShapeError, match="delta takes two indices"):
        J.check_entry_names(J.parse_entry("delta(i)"), list("ij"), env)
    with pytest.raises(BindingError, match="has no shape"):
        J.check_entry_names(J.parse_entry("Y[i,j]"), list("ij"), env)
    with pytest.raises(ShapeError, match="also a variable"):
        J.check_entry_names(J.parse_entry("X[i,j]"), list("ij"), {**env, "j": sympy.Symbol("j")})
    with pytest.raises(ShapeError, match="an entry is a number"):
        J.entry_array(J.parse_entry("X"), env, (2, 2), list("ij"))


def test_first_mismatch_is_the_first_index_in_row_major_order():
    env = env_for({"X": (3, 4)})
    letters = list("ijkl")
    truth = J.entry_array(J.parse_entry("X[i,l]*delta(j,k)"), env, (3, 2, 2, 4), letters)
    claimed = J.entry_array(J.parse_entry("X[i,l]*delta(i,k)"), env, (3, 2, 2, 4), letters)
    syms = list(env["X"])
    points = [{str(s): 0.5 + 0.1 * t for t, s in enumerate(syms)}]
    bad = J.first_mismatch(truth, claimed, syms, points)
    assert bad["index"] == [0, 1, 0, 0] and bad["right"] == 0 and bad["claimed"] == pytest.approx(0.5)
    assert J.first_mismatch(truth, truth, syms, points) is None


def test_index_formula_is_verified_or_none():
    for expression, shapes in [("sin(w)", {"w": "3"}), ("w * sum(w)", {"w": "3"}), ("A @ B", {"A": "2x3", "B": "3x2"})]:
        r = J.jacobian(expression, "w" if "w" in shapes else "B", shapes, seed=1)
        assert r.verdict == "agree"
        if r.index_formula is not None:
            letters = r.letters
            env = {name: SC.entry_symbols(name, shape) for name, shape in r.shapes.items()}
            node = J.parse_entry(r.index_formula)
            entries = J.entry_array(node, env, r.shape, letters)
            syms = [s for v in env.values() for s in SC.flat_symbols(v)]
            point = {str(s): float(np.asarray(values_of(r)[str(s).split("[")[0]]).reshape(-1)[t])
                     for name, v in env.items() for t, s in enumerate(SC.flat_symbols(v))}
            f = SN.compile_numeric([J._column(J.flat_entries(entries))], syms)
            got = np.asarray(f(*[point[str(s)] for s in syms])[0]).reshape(r.shape)
            np.testing.assert_allclose(got, np.asarray(r.symbolic), rtol=1e-9, atol=1e-12)
    assert J.jacobian("sin(w)", "w", {"w": "3"}).index_formula == "cos(w[i])*delta(i,j)"


def test_values_given_and_random_and_their_errors():
    r = J.jacobian("X @ w", "w", {"X": "2x3", "w": "3"}, ["X=[[1,2,3],[4,5,6]]"], seed=5)
    assert r.at["X"] == [[1, 2, 3], [4, 5, 6]] and r.random == ["w"]
    np.testing.assert_allclose(r.symbolic, [[1, 2, 3], [4, 5, 6]])
    assert J.jacobian("X @ w", "w", {"X": "2x3", "w": "3"}, seed=5).at == \
        J.jacobian("X @ w", "w", {"X": "2x3", "w": "3"}, seed=5).at
    with pytest.raises(BindingError, match="has --shape"):
        J.jacobian("X @ w", "w", {"X": "2x3", "w": "3"}, ["w=[1, 2]"])
    with pytest.raises(BindingError, match="not a variable"):
        J.jacobian("X @ w", "q", {"X": "2x3", "w": "3"})
    with pytest.raises(ShapeError, match="w has no --shape, so it is a scalar"):
        J.jacobian("X @ w", "w", {"X": "2x3"})
    with pytest.raises(GradcliError):
        J.jacobian("X @ w", "w", {"X": "2x3", "w": "3"}, ["X=[[1,2],[3]]"])


# ------------------------------------------------------------------------------------------- CLI


def test_cli_jacobian_table_and_json():
    result = runner.invoke(app, ["jacobian", "X @ W.T", "--wrt", "W", "--shape", "X=3x4", "--shape", "W=2x4"])
    assert result.exit_code == 0, result.stdout
    assert "shape (3, 2, 2, 4)" in result.stdout and "J[i, j, k, l] = X[i,l]*delta(j,k)" in result.stdout
    assert "verdict: agree" in result.stdout
    data = json.loads(runner.invoke(app, ["jacobian", "softmax(z)", "--wrt", "z", "--shape", "z=3",
                                          "--at", "z=[1, 2, 3]", "--json"]).stdout)
    assert data["shape"] == [3, 3] and data["shapes"] == {"z": [3]} and data["at"] == {"z": [1.0, 2.0, 3.0]}
    assert data["verdict"] == "agree" and len(data["entries"]["backprop"]) == 3
    assert isinstance(data["shape"][0], int)


@pytest.mark.parametrize("args, words", [
    (["X @ w", "--wrt", "w", "--shape", "X=3x4"], "w has no --shape"),
    (["X @ w", "--wrt", "w", "--shape", "X=3y4"], "is not a shape"),
    (["X @ w", "--wrt", "w", "--shape", "X"], "expected NAME=SIZES"),
    (["w", "--wrt", "w", "--at", "w=[1, nan]"], "is not a list of numbers"),
    (["x^2", "--wrt", "x", "--at", "q=1"], "not a variable"),
])
def test_cli_jacobian_bad_input_exits_2(args, words):
    result = runner.invoke(app, ["jacobian", *args])
    assert result.exit_code == 2 and words in result.stderr and result.stdout == ""
    as_json = runner.invoke(app, ["jacobian", *args, "--json"])
    assert as_json.exit_code == 2 and "error" in json.loads(as_json.stdout)


def test_a_variable_called_delta_is_refused_in_entry_formulas():
    env = env_for({"delta": (2, 2)})
    with pytest.raises(ShapeError, match="Kronecker delta"):
        J.check_entry_names(J.parse_entry("delta(i,j)"), list("ij"), env)
