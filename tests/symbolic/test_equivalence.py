"""gradcli.symbolic.equivalence: when two formulas count as equal (numerically, at 30 digits, symbolically)."""

from __future__ import annotations

import sympy

from gradcli.symbolic.equivalence import RTOL, differs_precisely, find_counterexample, proved_equal

x, y = sympy.symbols("x y", real=True)
POINTS = [{"x": 0.5, "y": 1.5}, {"x": -1.2, "y": 0.3}]


def test_a_wrong_formula_has_a_counterexample_at_the_first_point_that_shows_it():
    checked, cx = find_counterexample(2 * x * y, x * y, [x, y], POINTS)
    assert checked == 1 and cx == {"at": {"x": 0.5, "y": 1.5}, "right": 1.5, "claimed": 0.75}


def test_an_equal_formula_written_otherwise_has_none():
    assert find_counterexample((x + y) ** 2, x**2 + 2 * x * y + y**2, [x, y], POINTS) == (2, None)


def test_a_matrix_counterexample_names_its_entry():
    truth = sympy.ImmutableMatrix([[x, y]])
    _, cx = find_counterexample(truth, sympy.ImmutableMatrix([[x, 2 * y]]), [x, y], POINTS)
    assert cx["entry"] == [0, 1]


def test_points_outside_the_domain_are_not_counted():
    checked, cx = find_counterexample(sympy.log(x), sympy.log(x), [x], [{"x": -1.0}, {"x": 2.0}])
    assert (checked, cx) == (1, None)


def test_rtol_sets_how_close_is_equal():
    near = x * (1 + 1e-6)
    assert find_counterexample(x, near, [x], [{"x": 1.0}])[1] is not None
    assert find_counterexample(x, near, [x], [{"x": 1.0}], rtol=1e-5)[1] is None
    assert RTOL == 1e-8


def test_a_float_rounding_difference_is_not_confirmed_at_30_digits():
    assert not differs_precisely(x * sympy.Rational(1, 3), x / 3, 0, [x], [0.7])
    assert differs_precisely(x, x + sympy.Rational(1, 10**12), 0, [x], [0.7])


def test_sympy_proves_the_sigmoid_identity_and_not_a_false_one():
    s = 1 / (1 + sympy.exp(-x))
    assert proved_equal(s * (1 - s), sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2, 1.0)
    assert not proved_equal(s * (1 + s), s * (1 - s), 1.0)
