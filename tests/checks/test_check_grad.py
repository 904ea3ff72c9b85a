"""`gradcli.check_grad(f, grad_f, x)`: a correct gradient passes, a planted wrong entry is caught and
blamed on grad_f, kinks (abs and relu at 0) are found by one-sided differences, errors name the point."""

import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import gradcli
from gradcli.numerics import compare, finite_diff
from gradcli.checks.check_grad import CheckGradResult, check_grad
from gradcli.errors import GradcliError, ShapeError


def rosen(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def softplus_sum(W, x):
    return float(np.sum(np.log1p(np.exp(W @ x))))


def softplus_grad(W, x):
    return np.outer(1 / (1 + np.exp(-(W @ x))), x)


# ------------------------------------------------------------------------------------- correct gradients


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.integers(2, 6), elements=st.floats(-2, 2)))
def test_a_correct_gradient_passes_everywhere(x):
    r = check_grad(rosen, rosen_grad, x)
    assert r.ok and r.verdict == "agree" and r.odd_one_out is None and r.kinks == []
    # Near 0 the numeric column's accuracy is absolute (rounding ~ eps·|f|/h ~ 3e-13 here): an entry of 2e-7
    # is known to ~1e-6 relative, 3e-194 against 0 is a relative error of 1. Entries above 1e-4 must be tight.
    big = np.abs(r.analytic) > 1e-4
    assert np.all(r.rel_error[big] <= 1e-6)
    assert r.analytic.shape == r.numeric.shape == x.shape
    assert r.disagreeing == []


def test_matrix_argument_with_extra_args():
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    r = check_grad(softplus_sum, softplus_grad, W, x)
    assert r.ok and r.verdicts.shape == (3, 4) and r.x.shape == (3, 4)
    assert r.value == pytest.approx(softplus_sum(W, x))


def test_numeric_column_is_finite_diff_gradient():
    x = np.array([0.4, -1.3, 0.7])
    r = check_grad(rosen, rosen_grad, x)
    fd = finite_diff.gradient(lambda X: np.array([rosen(p) for p in X]), x)
    assert np.array_equal(r.numeric, fd.value) and np.array_equal(r.numeric_error, fd.error)
    assert np.array_equal(r.rel_error, compare.rel_error(r.analytic, r.numeric))


def test_batched_f_gives_the_same_numbers():
    x = np.array([0.4, -1.3, 0.7])

    def batched(X):
        return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)

    one, many = check_grad(rosen, rosen_grad, x), check_grad(batched, rosen_grad, x, batched=True)
    assert np.array_equal(one.numeric, many.numeric) and one.verdict == many.verdict == "agree"


def test_a_scalar_x():
    r = check_grad(lambda t: math.sin(t) * t, lambda t: math.cos(t) * t + math.sin(t), 0.7)
    assert r.ok and r.x.shape == () and r.worst_index == ()
    assert "worst entry x:" in str(r)


def test_no_false_kink_at_a_smooth_minimum():
    r = check_grad(rosen, rosen_grad, np.array([1.0, 1.0]))  # one-sided derivatives ±5e-15 around 0
    assert r.verdict == "agree" and r.kinks == []


def test_no_false_kink_when_f_is_large_and_smooth():
    r = check_grad(lambda x: float(np.sum(x ** 2)) + 1e6, lambda x: 2 * x, np.array([0.3, -0.8]))
    assert r.kinks == [] and r.ok


# -------------------------------------------------------------------------------------- a planted slip


@settings(max_examples=20, deadline=None)
@given(arrays(np.float64, 5, elements=st.floats(-2, 2)), st.integers(0, 4), st.sampled_from([1e-3, -0.5, 7.0]))
@example(np.array([1e-8, 0.125, 0.0, 0.0, 1e-8]), 4, 7.0)  # ∂f/∂x₄ = 2e-6 beside f ≈ 4: the one-sided
@example(np.array([0.0, 1e-8, -1e-5, 0.0, 1e-8]), 4, 1e-3)  # estimates are off by rounding, not by 1e-6·2e-6
def test_a_planted_wrong_entry_is_caught_and_blamed_on_grad_f(x, entry, slip):
    def wrong(v):
        g = rosen_grad(v)
        g[entry] += slip * max(1.0, abs(g[entry]))
        return g

    r = check_grad(rosen, wrong, x)
    assert not r.ok and r.verdict == "disagree"
    assert r.disagreeing == [(entry,)] and r.worst_index == (entry,)
    assert r.odd_one_out == "analytic"
    truth = rosen_grad(x)[entry]  # known to 1e-7, or to the estimate's own error bar where rounding rules
    assert r.worst_analytic == wrong(x)[entry]
    assert abs(r.worst_numeric - truth) <= max(1e-7 * abs(truth), 4 * float(r.numeric_error[entry]))
    assert r.worst_rel_error == pytest.approx(compare.rel_error(r.worst_analytic, r.worst_numeric))
    assert f"[{entry}]" in str(r) and "grad_f is the suspect" in r.reason


def test_per_entry_verdicts_agree_with_judge_array():
    x = np.array([0.0, 0.5, -1.0, 0.0])
    f = lambda v: float(np.sum(np.abs(v)) + v[1] ** 2)  # noqa: E731
    g = lambda v: np.sign(v) + np.array([0.0, 2 * v[1] + 0.1, 0.0, 5.0])  # noqa: E731  [1] wrong, [3] outside the kink
    r = check_grad(f, g, x)
    assert list(r.verdicts) == ["kink", "disagree", "agree", "disagree"]
    assert [(k.index, k.left, k.right) for k in r.kinks] == [((0,), -1.0, 1.0), ((3,), -1.0, 1.0)]
    left, right = np.full(4, np.nan), np.full(4, np.nan)
    for k in r.kinks:
        left[k.index], right[k.index] = k.left, k.right
    overall = compare.judge_array(None, r.analytic, r.numeric, r.numeric_error, one_sided=(left, right))
    assert overall.verdict == r.verdict == "disagree"
    assert overall.disagreeing == len(r.disagreeing) == 2 and overall.kinks == 1
    assert r.worst_index == (1,) or r.worst_index == (3,)
    assert r.rel_error[r.worst_index] == max(r.rel_error[1], r.rel_error[3])


def test_the_central_difference_is_blamed_when_one_sided_ones_side_with_grad_f(monkeypatch):
    real = finite_diff.gradient

    def off(F, x, **kw):
        res = real(F, x, **kw)
        return finite_diff.FDResult(res.value + np.array([0.0, 0.25]), res.error, res.step, res.evaluations)

    monkeypatch.setattr(finite_diff, "gradient", off)
    r = check_grad(lambda v: float(v[0] ** 2 + v[1] ** 2), lambda v: 2 * v, np.array([1.0, 2.0]))
    assert r.verdict == "disagree" and r.odd_one_out == "numeric" and r.worst_index == (1,)


# ------------------------------------------------------------------------------------------------ kinks


def test_abs_at_zero_is_a_kink_not_a_mismatch():
    r = check_grad(lambda x: float(np.sum(np.abs(x))), np.sign, np.array([0.0, 1.5, -2.0]))
    assert r.ok and r.verdict == "kink"
    assert [(k.index, k.left, k.right) for k in r.kinks] == [((0,), -1.0, 1.0)]
    assert list(r.verdicts) == ["kink", "agree", "agree"]
    assert r.max_rel_error == 0.0


@pytest.mark.parametrize("subgradient", [0.0, 0.5, 1.0])
def test_any_relu_subgradient_at_zero_is_accepted(subgradient):
    r = check_grad(lambda x: float(np.maximum(x, 0).sum()),
                   lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, subgradient)), np.array([0.0, 2.0]))
    assert r.verdict == "kink" and r.kinks[0].left == pytest.approx(0) and r.kinks[0].right == pytest.approx(1)


def test_an_analytic_value_outside_the_one_sided_ones_is_wrong():
    r = check_grad(lambda x: float(np.abs(x).sum()), lambda x: np.sign(x) + 2.0, np.array([0.0]))
    assert r.verdict == "disagree" and r.odd_one_out == "analytic" and "kink" in r.reason


def test_kinks_false_skips_one_sided_differences():
    r = check_grad(lambda x: float(np.abs(x).sum()), np.sign, np.array([0.0, 1.0]), kinks=False)
    assert r.kinks == [] and r.evaluations == 1 + 12 and r.notes


# ----------------------------------------------------------------------------------------------- errors


def test_an_error_in_f_names_the_point():
    with pytest.raises(GradcliError) as err:
        check_grad(lambda x: x[7], lambda x: x, np.array([1.0, 2.0]))
    assert err.value.where == "f(x)" and "IndexError" in err.value.message and "[1., 2.]" in err.value.message


def test_an_error_in_grad_f_names_the_point():
    with pytest.raises(GradcliError) as err:
        check_grad(lambda x: float(x.sum()), lambda x: 1 / 0, np.array([1.0]))
    assert err.value.where == "grad_f(x)" and "ZeroDivisionError" in err.value.message


@pytest.mark.parametrize("f, g, x, error", [
    (lambda x: x, lambda x: x, np.array([1.0, 2.0]), ShapeError),  # f not a scalar
    (lambda x: float(x.sum()), lambda x: np.ones(3), np.array([1.0, 2.0]), ShapeError),
    (lambda x: "a", lambda x: x, np.array([1.0]), GradcliError),
    (lambda x: float(x.sum()), lambda x: x, np.array([np.nan]), GradcliError),
    (lambda x: float("nan"), lambda x: x, np.array([1.0]), GradcliError),
])
def test_bad_functions_and_points(f, g, x, error):
    with pytest.raises(error):
        check_grad(f, g, x)


def test_a_column_gradient_for_a_flat_x_is_read_entry_by_entry():
    r = check_grad(lambda x: float(np.sum(x ** 2)), lambda x: (2 * x).reshape(-1, 1), np.array([1.0, 2.0]))
    assert r.ok and r.analytic.shape == (2,)


# ---------------------------------------------------------------------------------------------- output


def test_result_reads_well_and_serialises():
    r = check_grad(rosen, rosen_grad, np.array([0.5, 0.2, -0.3]))
    text = str(r)
    assert text.startswith("check_grad: agree") and "max rel error" in text and "verdict" in text
    data = json.loads(json.dumps(r.as_dict()))
    assert data["ok"] is True and data["worst"]["index"] == list(r.worst_index)
    assert r.error_norm == pytest.approx(float(np.linalg.norm(r.analytic - r.numeric)))
    assert bool(r) is True and isinstance(r, CheckGradResult)


def test_the_package_exports_it():
    r = gradcli.check_grad(lambda x: float(x @ x), lambda x: 2 * x, np.array([1.0, -2.0]))
    assert isinstance(r, gradcli.CheckGradResult) and r.ok
