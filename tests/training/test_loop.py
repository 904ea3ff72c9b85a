"""The one gradient-descent loop (training/loop.py) that train, descent and behaviour claims run."""

import math

import numpy as np
import pytest

from gradcli.errors import DomainError, OverflowValueError
from gradcli.training.loop import DIVERGENCE_FACTOR, descend, param_norm


def quadratic(a):
    """L(w) = a/2·w², ∇L = a·w: one step multiplies w by 1 − η·a."""
    return lambda theta: (0.5 * a * float(theta["w"] ** 2), {"w": a * theta["w"]})


def test_a_step_is_theta_minus_eta_times_the_gradient():
    run = descend(quadratic(2.0), {"w": np.float64(1.0)}, lr=0.1, steps=3)
    assert run.steps_run == 3 and not run.diverged
    assert float(run.theta["w"]) == pytest.approx(0.8 ** 3)
    assert run.history == pytest.approx([0.5 * 2 * 0.8 ** (2 * t) for t in range(4)])
    assert run.last_step == pytest.approx(0.1 * 2 * 0.8 ** 2)


def test_the_stop_rule_ends_the_run_early_and_record_hears_every_step():
    heard = []
    run = descend(quadratic(1.0), {"w": np.float64(1.0)}, lr=0.5, steps=100,
                  stop=lambda g: abs(float(g["w"])) <= 1e-3, record=lambda th, loss, g: heard.append(loss))
    assert run.steps_run == math.ceil(math.log(1e-3) / math.log(0.5)) and heard == run.history[1:]


def test_growth_past_the_factor_is_divergence_with_the_step_named():
    run = descend(quadratic(1.0), {"w": np.float64(1.0)}, lr=3.0, steps=200)  # |w| doubles each step
    assert run.diverged and "more than 1e12 × its start" in run.reason
    assert run.history[-1] > DIVERGENCE_FACTOR * 0.5 and run.reason.startswith(f"step {run.steps_run}:")


def test_non_finite_parameters_and_errors_of_the_objective_are_divergence():
    run = descend(quadratic(1.0), {"w": np.float64(1e150)}, lr=1e300, steps=5)  # the step overflows
    assert run.diverged and run.reason == "step 1: w became non-finite"

    def blows_up(theta):
        if float(theta["w"]) != 1.0:
            raise DomainError("ln of a negative number")
        return 1.0, {"w": np.float64(3.0)}

    run = descend(blows_up, {"w": np.float64(1.0)}, lr=1.0, steps=5)
    assert run.diverged and run.reason == "step 1: ln of a negative number" and run.steps_run == 1


def test_a_bad_start_is_bad_input():
    with pytest.raises(OverflowValueError, match="initial parameters is not finite"):
        descend(lambda th: (math.inf, {"w": th["w"]}), {"w": np.float64(1.0)}, lr=0.1, steps=1)


def test_param_norm_is_the_norm_of_every_entry_together():
    assert param_norm({"a": np.array([[3.0]]), "b": np.array([4.0, 0.0])}) == 5.0
