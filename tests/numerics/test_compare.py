"""gradcli.compare: relative errors, error budgets and the verdict with its odd column out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.numerics.compare import (
    THRESHOLD,
    ArrayVerdict,
    Verdict,
    analytic_agree,
    judge,
    judge_array,
    numeric_agrees,
    numeric_budget,
    rel_error,
)
from gradcli.numerics.finite_diff import gradient

finite = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
positive = st.floats(0, 1e300, allow_nan=False, allow_infinity=False)
NAN, INF = math.nan, math.inf


# ------------------------------------------------------------------------------------------ rel_error


def test_rel_error_definition():
    assert rel_error(1.0, 2.0) == 0.5
    assert rel_error(-1.0, 1.0) == 2.0
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(0.0, 1e-310) == pytest.approx(1e-10)  # the 1e-300 floor
    assert rel_error(1e-300, 0.0) == 1.0
    assert isinstance(rel_error(1.0, 2.0), float)


@given(finite, finite)
def test_rel_error_is_symmetric_and_at_most_2(a, b):
    r = rel_error(a, b)
    assert r == rel_error(b, a)
    assert 0.0 <= r <= 2.0
    assert rel_error(a, a) == 0.0


@given(positive, positive, st.booleans())
def test_rel_error_of_same_sign_is_at_most_1(a, b, negative):
    if negative:
        a, b = -a, -b
    assert 0.0 <= rel_error(a, b) <= 1.0


@given(finite, st.floats(1e-300, 1e300))
def test_rel_error_is_scale_invariant(a, c):
    b = a * 1.5
    above_floor = min(abs(a), abs(a * c)) > 1e-280  # below 1e-300 the floor of the denominator rules
    if math.isfinite(b) and math.isfinite(a * c) and math.isfinite(b * c) and above_floor:
        assert rel_error(a * c, b * c) == pytest.approx(rel_error(a, b), rel=1e-12)


@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=20))
def test_rel_error_is_elementwise(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    out = rel_error(a, b)
    assert isinstance(out, np.ndarray) and out.shape == a.shape
    assert out.tolist() == [rel_error(x, y) for x, y in pairs]


def test_rel_error_with_nan_and_inf():
    assert math.isnan(rel_error(NAN, 1.0)) and math.isnan(rel_error(1.0, NAN)) and math.isnan(rel_error(NAN, NAN))
    assert rel_error(INF, INF) == 0.0
    assert rel_error(-INF, INF) == 2.0
    assert rel_error(INF, 5.0) == 1.0
    assert rel_error(-INF, 5.0) == 1.0


# ------------------------------------------------------------------------------------------- budgets


def test_numeric_budget_has_the_threshold_as_floor():
    assert numeric_budget(1.0, 0.0) == THRESHOLD
    assert numeric_budget(1.0, 1e-3) == pytest.approx(4e-3, rel=1e-6)
    assert numeric_budget(2.0, 1e-12, threshold=1e-9) == 1e-9


def test_numeric_agreement_uses_the_error_estimate():
    assert numeric_agrees(1.0, 1.0 + 5e-7, 0.0)  # under the 1e-6 floor
    assert not numeric_agrees(1.0, 1.0 + 5e-6, 0.0)
    assert numeric_agrees(1.0, 1.0 + 5e-6, 2e-6)  # inside 4·e
    assert not numeric_agrees(1.0, 1.0 + 5e-6, 1e-6)
    assert numeric_agrees(0.0, 3e-13, 1e-13)  # near 0 the estimate is what counts
    assert not numeric_agrees(0.0, 3e-13, 1e-14)
    assert not numeric_agrees(1.0, NAN, 0.0) and not numeric_agrees(NAN, NAN, 1.0)
    assert not numeric_agrees(1.0, 1.1, INF)  # an infinite estimate excuses nothing
    np.testing.assert_array_equal(numeric_agrees(np.array([1.0, 2.0]), np.array([1.0, 3.0]), 0.0), [True, False])


def test_analytic_columns_agree_only_to_rounding():
    assert analytic_agree(1.0, 1.0 + 1e-12)
    assert not analytic_agree(1.0, 1.0 + 1e-8)
    assert analytic_agree(0.0, 1e-17, 1e-10)  # both zero as far as any column can tell
    assert analytic_agree(0.0, 1e-17, 0.0)  # below the absolute rounding floor (64 eps)
    assert not analytic_agree(0.0, 1e-12, 0.0)
    assert not analytic_agree(1.0, 2.0, 10.0)  # a coarse numeric column never excuses a real difference


# ------------------------------------------------------------------------------------------ verdicts


def test_all_three_agree():
    v = judge(2.0, 2.0 + 1e-14, 2.0 + 1e-11, 1e-10)
    assert isinstance(v, Verdict)
    assert (v.verdict, v.odd_one_out) == ("agree", None)
    assert v.rel_error == pytest.approx(rel_error(2.0, 2.0 + 1e-11))


def test_numeric_odd_one_out():
    v = judge(1.0, 1.0, 1.1, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", "numeric")
    assert v.reason == "symbolic = backprop ≠ numeric: the finite-difference step or float64 precision is the suspect"


def test_backprop_odd_one_out():
    v = judge(1.0, 2.0, 1.0 + 1e-11, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", "backprop")
    assert v.reason == "symbolic = numeric ≠ backprop: the engine is the suspect"
    assert v.rel_error == 0.5


def test_symbolic_odd_one_out():
    v = judge(-1.0, 1.0, 1.0, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", "symbolic")
    assert v.reason.startswith("backprop = numeric ≠ symbolic")
    assert v.rel_error == 2.0


def test_all_three_differ():
    v = judge(1.0, 2.0, 3.0, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", None)
    assert "all three" in v.reason


def test_analytic_columns_differ_beyond_rounding_but_numeric_cannot_tell():
    v = judge(1.0, 1.0 + 1e-8, 1.0, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", None)
    assert "rounding" in v.reason


def test_the_numeric_error_widens_the_budget():
    assert judge(1.0, 1.0, 1.0 + 1e-5, 1e-8).verdict == "disagree"
    wide = judge(1.0, 1.0, 1.0 + 1e-5, 1e-5)
    assert wide.verdict == "agree" and wide.tolerance == pytest.approx(4e-5, rel=1e-4)


def test_missing_columns():
    assert judge(None, 1.0, 1.0 + 1e-11, 1e-10).verdict == "agree"
    assert judge(1.0, None, 1.0, 0.0).reason.startswith("symbolic and numeric agree")
    v = judge(None, 1.0, 1.5, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", None)
    assert "symbolic was not computed" in v.reason
    assert judge(1.0, 1.0 + 1e-8, None, None).verdict == "disagree"
    assert judge(None, None, 3.0, 0.1).verdict == "agree"
    with pytest.raises(ValueError):
        judge(None, None, None, 0.0)


def test_non_finite_values_are_judged_not_raised():
    v = judge(1.0, 1.0, NAN, INF)
    assert (v.verdict, v.odd_one_out) == ("disagree", "numeric")
    assert "not finite" in v.reason and math.isnan(v.rel_error)
    v = judge(None, NAN, 1.0, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", "backprop")
    v = judge(2.0, INF, 2.0, 1e-10)
    assert (v.verdict, v.odd_one_out) == ("disagree", "backprop")
    v = judge(INF, INF, INF, INF)
    assert v.verdict == "agree"


def test_kinks():
    relu_at_0 = judge(0.5, 0.0, 0.5, 1e-12, one_sided=(0.0, 1.0))
    assert (relu_at_0.verdict, relu_at_0.odd_one_out) == ("kink", None)
    assert "from the left is 0 and from the right 1" in relu_at_0.reason
    abs_at_0 = judge(0.0, 1.0, 0.0, 1e-12, one_sided=(1.0, -1.0))
    assert abs_at_0.verdict == "kink"
    outside = judge(0.5, 2.0, 0.5, 1e-12, one_sided=(0.0, 1.0))
    assert (outside.verdict, outside.odd_one_out) == ("disagree", "backprop")
    assert judge(-1.0, 0.0, 0.5, 1e-12, one_sided=(0.0, 1.0)).odd_one_out == "symbolic"
    assert judge(-1.0, 3.0, 0.5, 1e-12, one_sided=(0.0, 1.0)).odd_one_out is None
    assert judge(None, 1.0 + 1e-7, 0.5, 0.0, one_sided=(0.0, 1.0)).verdict == "kink"  # inside, with tolerance
    assert judge(None, 1.5, NAN, INF, one_sided=(0.0, 1.0)).verdict == "disagree"  # no estimate excuses it
    # one-sided derivatives that agree: the point is smooth after all (abs(x)^2 at 0)
    smooth = judge(0.0, 0.0, 1e-12, 1e-11, one_sided=(1e-12, 1e-12))
    assert smooth.verdict == "agree"
    assert judge(1.0, 1.0, 1.0, 0.0, one_sided=(NAN, 1.0)).verdict == "agree"


@settings(max_examples=200)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0, 1e-7))
def test_equal_columns_always_agree(v, noise):
    assert judge(v, v, v * (1 + noise), abs(v) * 1e-12).verdict == "agree"


@settings(max_examples=200)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False),
       st.floats(-1e6, 1e6, allow_nan=False), st.floats(0, 1e-3))
def test_swapping_the_analytic_columns_swaps_the_odd_one(s, b, n, e):
    v, w = judge(s, b, n, e), judge(b, s, n, e)
    swap = {"symbolic": "backprop", "backprop": "symbolic"}
    assert v.verdict == w.verdict and v.rel_error == w.rel_error
    assert w.odd_one_out == swap.get(v.odd_one_out, v.odd_one_out)


# ------------------------------------------------------------------------------------------- arrays


def test_judge_array_reports_the_worst_entry():
    s = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = s.copy()
    b[1, 0] = 3.3
    b[0, 1] = 2.0 * 1.5
    v = judge_array(s, b, s * (1 + 1e-12), 1e-10)
    assert isinstance(v, ArrayVerdict)
    assert (v.verdict, v.odd_one_out, v.worst_index) == ("disagree", "backprop", (0, 1))
    assert v.worst == (2.0, 3.0, pytest.approx(2.0))
    assert v.disagreeing == 2 and v.rel_error == pytest.approx(1 / 3)
    assert v.reason == ("entry [0, 1]: symbolic = numeric ≠ backprop: the engine is the suspect "
                        "(2 of 4 entries disagree)")


def test_judge_array_agreeing():
    g = np.linspace(-1, 1, 12).reshape(3, 4)
    v = judge_array(g, g, g + 1e-12, np.full(g.shape, 1e-11))
    assert (v.verdict, v.odd_one_out, v.disagreeing) == ("agree", None, 0)
    assert v.reason == "symbolic, backprop and numeric agree within the error budget"


def test_judge_array_with_kinks_marked_by_nan():
    b = np.array([0.0, 2.0, 1.0])
    n = np.array([0.5, 2.0, 1.0])
    left = np.array([0.0, NAN, NAN])
    right = np.array([1.0, NAN, NAN])
    v = judge_array(None, b, n, 1e-12, one_sided=(left, right))
    assert (v.verdict, v.kinks, v.worst_index) == ("kink", 1, (0,))
    assert v.reason.startswith("entry [0]: the point is a kink")


def test_judge_array_with_different_shapes():
    v = judge_array(np.ones((2, 1)), np.ones((1, 2)), np.ones((2, 1)), 0.0)
    assert v.verdict == "disagree" and "(2, 1)" in v.reason and "(1, 2)" in v.reason


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10), st.floats(0, 1e-4)),
                min_size=1, max_size=8))
def test_judge_array_is_the_worst_of_judge_per_entry(rows):
    s, b, n, e = (np.array(col) for col in zip(*rows))
    per_entry = [judge(*row) for row in rows]
    whole = judge_array(s, b, n, e)
    rank = {"agree": 0, "kink": 1, "disagree": 2}
    assert whole.verdict == max((v.verdict for v in per_entry), key=rank.get)
    assert whole.disagreeing == sum(v.verdict == "disagree" for v in per_entry)
    assert whole.rel_error == max(v.rel_error for v in per_entry)
    worst = per_entry[whole.worst_index[0]]
    assert (worst.verdict, worst.odd_one_out) == (whole.verdict, whole.odd_one_out)


def test_judge_on_a_real_numeric_column():
    """Numbers from finite_diff: a right gradient agrees, a planted engine bug is named."""
    rng = np.random.default_rng(0)
    W, x, y = rng.normal(size=(6, 5)), rng.normal(size=(5, 1)), rng.normal(size=(6, 1))

    def f(X):
        h = np.tanh(X @ x)
        return 0.5 * np.sum((h - y) ** 2, axis=(1, 2)) + 1e3  # a big constant: rounding-limited entries

    h = np.tanh(W @ x)
    exact = ((h - y) * (1 - h**2)) @ x.T
    fd = gradient(f, W)
    assert judge_array(exact, exact, fd.value, fd.error).verdict == "agree"
    buggy = exact.copy()
    buggy[2, 3] *= 1.001
    v = judge_array(exact, buggy, fd.value, fd.error)
    assert (v.verdict, v.odd_one_out, v.worst_index, v.disagreeing) == ("disagree", "backprop", (2, 3), 1)


def test_subnormal_differences_are_below_the_relative_error_floor():
    # x*y at x=0, y=5e-324: the analytic ∂/∂x is 5e-324, finite differences see 0; rel. error 5e-324/1e-300.
    from gradcli.numerics.compare import judge

    v = judge(5e-324, 5e-324, 0.0, 0.0)
    assert v.verdict == "agree"
    assert judge(1e-10, 1e-10, 0.0, 0.0).verdict == "disagree"  # above the absolute rounding floor


def test_rounding_of_constants_is_not_a_mismatch():
    # x*(x + asin(0.5*sin(pi))) at 0: SymPy's exact sin(pi) = 0 gives 0; float64 gives 6.1e-17 (backprop and
    # finite differences agree on it): a difference that is float64 rounding, not a wrong derivative.
    from gradcli.numerics.compare import judge

    v = judge(0.0, 6.123233995736766e-17, 6.123233989956236e-17, 9.6e-23)
    assert v.verdict == "agree"
    assert judge(0.0, 1e-9, 1e-9, 1e-20).verdict == "disagree"
