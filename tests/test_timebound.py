"""The time bound: slow SymPy steps give their fallback on time, and the signal state is left as found."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import sympy

from gradcli.errors import TimeBoundError
from gradcli.timebound import bounded, can_bound


def spin(seconds: float) -> str:
    """Pure-Python busy work for `seconds` (what a signal can interrupt)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "finished"


def huge_expression():
    x, y = sympy.symbols("x y")
    return sympy.Add(*[sympy.sin(x + i) ** 3 * sympy.cos(y * i) ** 2 / (x + y + i) for i in range(1, 40)])


def test_fast_function_returns_its_value():
    assert bounded(1.0, lambda a, b=0: a + b, 2, b=3, fallback="late") == 5


def test_simplify_of_a_huge_expression_returns_the_fallback_within_the_bound():
    expr = huge_expression()
    start = time.monotonic()
    result = bounded(0.5, sympy.simplify, expr, fallback=expr)
    elapsed = time.monotonic() - start
    assert result is expr
    # SymPy sometimes loses a raise (the alarm then repeats every 50 ms): well inside a second is the point,
    # against minutes for the unbounded simplify.
    assert 0.45 <= elapsed <= 0.5 + 1.0


def test_callable_fallback_is_called_only_when_the_bound_expires():
    calls = []

    def fallback():
        calls.append(1)
        return "fallback"

    assert bounded(0.5, lambda: "quick", fallback=fallback) == "quick"
    assert calls == []
    assert bounded(0.1, spin, 5, fallback=fallback) == "fallback"
    assert calls == [1]


def test_without_fallback_running_out_is_a_time_bound_error():
    with pytest.raises(TimeBoundError, match="spin did not finish within its time bound of 0.1 s"):
        bounded(0.1, spin, 5)


def test_recursion_and_memory_errors_fall_back():
    def deep(n):
        return deep(n + 1)

    def hungry():
        raise MemoryError

    assert bounded(1.0, deep, 0, fallback="shallow") == "shallow"
    assert bounded(1.0, hungry, fallback="frugal") == "frugal"


def test_other_errors_propagate_unless_caught():
    def bad():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        bounded(1.0, bad, fallback="x")
    assert bounded(1.0, bad, fallback="x", catch=(ValueError,)) == "x"


def test_no_bound_and_a_non_positive_bound():
    assert bounded(None, spin, 0.05, fallback="late") == "finished"
    assert bounded(0, spin, 0.05, fallback="late") == "late"


@pytest.mark.skipif(not can_bound(), reason="needs SIGALRM in the main thread")
def test_previous_handler_and_timer_are_restored():
    fired = []

    def handler(signum, frame):
        fired.append(signum)

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        assert bounded(0.1, spin, 5, fallback="fb") == "fb"
        assert signal.getsignal(signal.SIGALRM) is handler
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0.3 < remaining <= 0.5 + 1e-3
        spin(0.6)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.skipif(not can_bound(), reason="needs SIGALRM in the main thread")
def test_bounds_nest_and_the_outer_one_still_fires_first():
    def inner():
        return bounded(5.0, spin, 10, fallback="inner fallback") + " then more work " + spin(10)

    start = time.monotonic()
    assert bounded(0.3, inner, fallback="outer fallback") == "outer fallback"
    assert time.monotonic() - start < 0.3 + 1.0
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.skipif(not can_bound(), reason="needs SIGALRM in the main thread")
def test_a_shorter_inner_bound_leaves_the_outer_one_running():
    def inner():
        return bounded(0.1, spin, 10, fallback="inner fallback")

    assert bounded(2.0, inner, fallback="outer fallback") == "inner fallback"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outside_the_main_thread_the_function_runs_unbounded():
    results = []
    thread = threading.Thread(target=lambda: results.append(bounded(0.05, spin, 0.3, fallback="fb")))
    thread.start()
    thread.join()
    assert results == ["finished"]


@pytest.mark.skipif(not can_bound(), reason="needs SIGALRM in the main thread")
def test_a_swallowed_alarm_is_not_the_last_one():
    """A raise that lands where Python cannot propagate it (here: swallowed once) must not end the bound."""

    def stubborn():
        swallowed = 0
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                while time.monotonic() < end:
                    pass
            except BaseException:
                if swallowed:
                    raise
                swallowed += 1
        return "finished"

    start = time.monotonic()
    assert bounded(0.3, stubborn, fallback="late") == "late"
    assert time.monotonic() - start < 0.3 + 1.0
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
