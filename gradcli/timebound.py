"""Run a step that may blow up (SymPy's simplify, cse, solve) under a time bound, with a graceful fallback.

`bounded(2.0, sympy.simplify, expr, fallback=expr)` returns the simplified expression, or `expr` when
simplify has not finished after 2 s, recursed too deep or ran out of memory. In the main thread the bound
is a real-time interval timer (`signal.setitimer(ITIMER_REAL)` raising from a SIGALRM handler), so it
interrupts pure-Python work such as SymPy; any handler and timer installed before are restored
afterwards, and an outer bound that expires first still fires (bounds nest). Outside the main thread,
or where SIGALRM does not exist, signals cannot be used and `fn` runs without a bound.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable

from gradcli.errors import TimeBoundError

_NO_FALLBACK = object()
_EXHAUSTED = (RecursionError, MemoryError)  # SymPy's ways of blowing up besides taking forever
# After the bound, the alarm repeats at this interval until `fn` stops: a raise that lands where Python
# cannot propagate it (a __del__, a weakref or GC callback: "Exception ignored in ...") is not the last one.
REPEAT = 0.05


class _Expired(BaseException):
    """Raised by our SIGALRM handler; a BaseException so that `except Exception` inside SymPy cannot eat it."""

    def __init__(self, token: object):
        super().__init__("time bound expired")
        self.token = token


def can_bound() -> bool:
    """True when `bounded` can interrupt `fn` (main thread of a platform with SIGALRM)."""
    return hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer") and \
        threading.current_thread() is threading.main_thread()


def bounded(seconds: float | None, fn: Callable[..., Any], *args: Any, fallback: Any = _NO_FALLBACK,
            catch: tuple[type[BaseException], ...] = (), **kw: Any) -> Any:
    """`fn(*args, **kw)`, or the fallback if it runs longer than `seconds` or exhausts recursion/memory.

    `fallback` is a value, or a callable called with no arguments (so an expensive fallback is only
    built when needed). Without a fallback, running out raises TimeBoundError. `catch` adds exception
    types that count as running out (e.g. SymPy errors from a step that is only an improvement).
    `seconds=None` means no bound. `fallback` and `catch` are reserved: `fn` cannot take them as keywords.
    """
    if seconds is not None and seconds <= 0:
        return _give_up(fn, seconds, fallback)
    try:
        if seconds is None or not can_bound():
            return fn(*args, **kw)
        return _with_alarm(seconds, fn, args, kw, fallback)
    except (*_EXHAUSTED, *catch):
        return _give_up(fn, seconds, fallback)


def _with_alarm(seconds: float, fn: Callable[..., Any], args: tuple, kw: dict, fallback: Any) -> Any:
    token = object()
    start = time.monotonic()
    deadline = start + seconds
    previous_handler = signal.getsignal(signal.SIGALRM)
    previous_delay, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = start + previous_delay if previous_delay > 0 else None
    ours_first = outer_deadline is None or deadline <= outer_deadline

    def on_alarm(signum, frame):
        # Also when an enclosing bound is due first: we stop `fn`, then re-arm the enclosing timer below
        # with a tick left, so its own handler fires as soon as we have restored it.
        raise _Expired(token)

    try:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds if ours_first else previous_delay, REPEAT)
        try:
            return fn(*args, **kw)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired as expired:
        if expired.token is not token:
            raise
        return _give_up(fn, seconds, fallback)
    finally:
        signal.signal(signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL)
        if outer_deadline is not None:
            # Re-arm the enclosing timer with what is left of it (at least a tick, so it still fires).
            remaining = max(outer_deadline - time.monotonic(), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)


def _give_up(fn: Callable[..., Any], seconds: float | None, fallback: Any) -> Any:
    if fallback is _NO_FALLBACK:
        name = getattr(fn, "__name__", "a symbolic step")
        raise TimeBoundError(f"{name} did not finish within its time bound of {seconds:g} s"
                             if seconds is not None else f"{name} ran out of recursion depth or memory")
    return fallback() if callable(fallback) else fallback
