"""The function table is the single source: every row has its engine op, NumPy form and SymPy form, and
the three agree on values and derivatives of every element-wise function."""

import math

import numpy as np
import pytest

from gradcli.language import functions as F
from gradcli.symbolic import calculus as S
from gradcli.symbolic import convert as SC
from gradcli.symbolic import forms as SF
from gradcli.numerics.engine import OPS, backward, leaf
from gradcli.errors import ParseError
from gradcli.language.expr import parse
from gradcli.numerics.forward import NUMPY

ELEMENTWISE = [f for f in F.FUNCTIONS if f.kind == F.ELEMENTWISE]
# A point well inside each function's domain.
POINT = {"ln": 1.7, "log": 1.7, "log10": 1.7, "sqrt": 1.7, "asin": 0.3, "acos": 0.3}


def test_every_row_has_every_form():
    names = {f.name for f in F.FUNCTIONS}
    assert names <= set(OPS), names - set(OPS)
    assert names <= set(NUMPY), names - set(NUMPY)
    assert names <= set(SC.SYMPY_FORMS), names - set(SC.SYMPY_FORMS)


def test_every_name_and_alias_parses_as_a_call():
    for f in F.FUNCTIONS:
        args = ", ".join(["3"] * f.arity[0])
        for name in (f.name, *f.aliases):
            node = parse(f"{name}({args})")
            assert node.func == f.name
        with pytest.raises(ParseError):
            parse(f.name)  # a function is always called


@pytest.mark.parametrize("f", ELEMENTWISE, ids=lambda f: f.name)
def test_three_backends_agree_on_value_and_derivative(f):
    x0 = POINT.get(f.name, -0.6)
    x = SC.symbol("x")
    expr = SC.to_sympy(parse(f"{f.name}(x)"), {"x": x})
    sym_value = float(expr.subs(x, x0).evalf())
    sym_slope = float(S.partial(expr, x).subs(x, x0).evalf())
    t = leaf(x0, "x")
    out = OPS[f.name](t)
    backward(out)
    assert float(out.data) == pytest.approx(sym_value, rel=1e-12, abs=1e-15)
    assert float(t.grad) == pytest.approx(sym_slope, rel=1e-9, abs=1e-12)
    numpy_value = float(np.asarray(NUMPY[f.name](np.array([x0]))).reshape(-1)[0])
    assert numpy_value == pytest.approx(sym_value, rel=1e-12, abs=1e-15)
    h = 1e-6
    slope = (NUMPY[f.name](np.array([x0 + h])) - NUMPY[f.name](np.array([x0 - h]))) / (2 * h)
    assert float(np.asarray(slope).reshape(-1)[0]) == pytest.approx(sym_slope, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("f", [f for f in ELEMENTWISE if f.kinks], ids=lambda f: f.name)
def test_listed_kinks_are_flagged_by_the_engine(f):
    for k in f.kinks:
        t = leaf(k, "x")
        assert OPS[f.name](t).kink
        assert not OPS[f.name](leaf(k + 0.25, "x")).kink


def test_step_and_sign_follow_the_engine_conventions():
    assert [float(OPS["step"](leaf(v)).data) for v in (-1.0, 0.0, 2.0)] == [0.0, 0.0, 1.0]
    assert [float(OPS["sign"](leaf(v)).data) for v in (-1.0, 0.0, 2.0)] == [-1.0, 0.0, 1.0]
    # relu's derivative is step: same convention at 0 (0, as relu'(0) in the engine)
    t = leaf(0.0, "x")
    backward(OPS["relu"](t))
    assert float(t.grad) == float(OPS["step"](leaf(0.0)).data) == 0.0
    assert math.isclose(float(SF.step(SC.symbol("x")).subs(SC.symbol("x"), 3)), 1.0)
