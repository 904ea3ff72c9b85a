"""gradcli.lambdify_forms: the float forms and the NumPy forms of gradcli's own functions are the same
function, and the float forms never import NumPy."""

import math
import subprocess
import sys

import numpy as np
import pytest

from gradcli.symbolic.lambdify_forms import MATH_FORMS, math_modules, numpy_modules

POINTS = [-1000.0, -40.0, -1.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 2.0, 40.0, 710.0, 1000.0, math.inf, -math.inf,
          math.nan]


def test_both_forms_cover_the_same_functions():
    forms, module = numpy_modules()
    assert forms.keys() == MATH_FORMS.keys() and module is np
    assert math_modules() == (MATH_FORMS, "math")


@pytest.mark.parametrize("name", sorted(set(MATH_FORMS) - {"logsumexp"}))
@pytest.mark.parametrize("x", POINTS)
def test_float_and_numpy_forms_agree(name, x):
    forms, _ = numpy_modules()
    with np.errstate(all="ignore"):
        expected = float(forms[name](np.float64(x)))
    got = MATH_FORMS[name](x)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize("args", [(0.0,), (1.0, 2.0, 3.0), (-1000.0, 1000.0), (800.0, 800.0), (-math.inf, 0.0),
                                  (math.inf, 1.0), (-math.inf, -math.inf)])
def test_logsumexp_forms_agree_without_overflow(args):
    forms, _ = numpy_modules()
    with np.errstate(all="ignore"):
        expected = float(forms["logsumexp"](*[np.float64(a) for a in args]))
    got = MATH_FORMS["logsumexp"](*args)
    assert got == pytest.approx(expected, rel=1e-15) or got == expected
    if all(math.isfinite(a) for a in args):
        assert math.isfinite(got)


def test_the_float_forms_keep_relu_nan_and_zero_derivatives_at_kinks():
    assert math.isnan(MATH_FORMS["relu"](math.nan))
    assert MATH_FORMS["step"](0.0) == 0.0 and MATH_FORMS["sgn"](0.0) == 0.0 and MATH_FORMS["sgn"](-0.0) == 0.0
    assert MATH_FORMS["sigmoid"](-1000.0) == 0.0 and MATH_FORMS["sigmoid"](1000.0) == 1.0
    assert MATH_FORMS["softplus"](1000.0) == 1000.0


def test_importing_the_float_forms_does_not_import_numpy():
    code = "import sys, gradcli.symbolic.lambdify_forms as L; L.MATH_FORMS['sigmoid'](1.0); print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout == "False\n"
