"""The SymPy forms of gradcli's own functions (σ, step, sign, ReLU, softplus, logsumexp): each a
sympy.Function with its derivative (fdiff), its evaluation at numbers, and how it prints.
"""


from __future__ import annotations

from typing import TYPE_CHECKING

import sympy
from mpmath.libmp import prec_to_dps
from sympy.core.function import ArgumentIndexError

if TYPE_CHECKING:
    pass



# ============================================================================ the functions of the sheets


class sigmoid(sympy.Function):
    """σ(x) = 1/(1 + e^-x); σ'(x) = σ(x)(1 - σ(x)). Numerically from e^-|x|, so it never overflows."""

    row = "sigmoid"  # its row of gradcli.language.functions (how it is written and printed)

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Half
        if x is sympy.S.Infinity:
            return sympy.S.One
        if x is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        if x.is_Float:
            return (1 / (1 + sympy.exp(-x))).evalf(prec_to_dps(x._prec))
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec):
        x = self.args[0]
        if not x.is_number:
            return None
        return self._eval_rewrite_as_exp(x).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class _Jump(sympy.Function):
    """A real step function of one argument: piecewise constant, so its derivative is 0 away from the jump."""

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.S.Zero

    def _eval_is_extended_real(self):
        return True


class step(_Jump):
    """step(x) = 1 for x > 0, else 0 (relu's derivative with step(0) = 0, the engine's convention); its
    derivative is 0 away from the jump at 0."""

    row = "step"  # its row of gradcli.language.functions (how it is written and printed)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.S.One if x > 0 else sympy.S.Zero
        if x.is_extended_positive:
            return sympy.S.One
        if x.is_extended_nonpositive:
            return sympy.S.Zero
        return None


class sgn(_Jump):
    """sign(x) in gradcli's language: -1, 0 or 1, derivative 0 away from the jump at 0 (SymPy's own sign
    differentiates to a DiracDelta, which has no numeric value)."""

    row = "sign"  # its row of gradcli.language.functions (how it is written and printed)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.sign(x)
        if x.is_extended_positive:
            return sympy.S.One
        if x.is_extended_negative:
            return sympy.S.NegativeOne
        if x.is_zero:
            return sympy.S.Zero
        return None


class relu(sympy.Function):
    """ReLU(x) = max(0, x); ReLU'(x) = Heaviside(x), whose value 1/2 at 0 lies in the subgradient [0, 1]."""

    row = "relu"  # its row of gradcli.language.functions (how it is written and printed)

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x > 0 else sympy.S.Zero
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(0, x)

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return x * sympy.Heaviside(x)

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sympy.Piecewise((x, x > 0), (0, True))

    def _eval_evalf(self, prec):
        x = self.args[0]
        if not x.is_number:
            return None
        return sympy.Max(0, x).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_extended_nonnegative(self):
        return True if self.args[0].is_extended_real else None


class softplus(sympy.Function):
    """softplus(x) = ln(1 + e^x); softplus'(x) = σ(x)."""

    row = "softplus"  # its row of gradcli.language.functions (how it is written and printed)

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.log(2)
        if x is sympy.S.Infinity:
            return sympy.S.Infinity
        if x is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        if x.is_Float:
            return sympy.log(1 + sympy.exp(x)).evalf(prec_to_dps(x._prec))
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        x = self.args[0]
        if not x.is_number:
            return None
        return self._eval_rewrite_as_log(x).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class logsumexp(sympy.Function):
    """logsumexp(a1, ..., an) = ln Σ e^ai (over the entries of a tensor); ∂/∂ai = e^(ai - logsumexp).

    Kept as one function so that its NumPy form and softmax's (e^(ai - logsumexp)) are computed stably.
    """

    row = "logsumexp"  # its row of gradcli.language.functions (how it is written and printed)

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise ArgumentIndexError(self, argindex)
        return sympy.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return sympy.log(sympy.Add(*[sympy.exp(a) for a in args]))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        if not all(a.is_number for a in self.args):
            return None
        return self._eval_rewrite_as_log(*self.args).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return True if all(a.is_extended_real for a in self.args) else None


CUSTOM_FUNCTIONS = (sigmoid, relu, softplus, logsumexp)

# Every SymPy form of a row of the function table (the printers read their heads from the row).
TABLE_FORMS = (sigmoid, step, sgn, relu, softplus, logsumexp)
