"""How far the symbolic column goes: the size of the tensors it builds, its time bounds, its stack.

A SymPy value (`Value`) is a sympy.Expr for a scalar or an immutable Matrix of entries for a tensor.
"""


from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from gradcli.errors import TimeBoundError
from gradcli.language.expr import deep_recursion

if TYPE_CHECKING:
    pass



# A tensor bigger than this is refused by the symbolic column (TimeBoundError: callers skip the column).
MAX_SYMBOLIC_ENTRIES = 40_000
MAX_MATMUL_WORK = 2_000_000  # multiply-adds of one symbolic matrix product
DIFF_SECONDS = 5.0  # one differentiation (SymPy's diff is slow on deeply nested formulas)
BUILD_SECONDS = 10.0  # building one SymPy value from a tree
PRINT_SECONDS = 2.0  # pretty and LaTeX forms (they fall back to shorter forms)

Value = Any  # sympy.Expr (a scalar) or sympy.ImmutableMatrix (a tensor)


def deep_step(fn: Callable) -> Callable:
    """Run a SymPy step with room for trees MAX_DEPTH deep (SymPy recurses a few frames per level);
    should it still run out of stack, that is a TimeBoundError (callers skip the symbolic column)."""

    @functools.wraps(fn)
    def step(*args, **kwargs):
        try:
            with deep_recursion():
                return fn(*args, **kwargs)
        except RecursionError:
            raise TimeBoundError(f"the formula nests too deeply for SymPy ({fn.__name__})") from None

    return step
