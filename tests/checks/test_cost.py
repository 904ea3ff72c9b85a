"""cost: multiply-adds per op; a matmul-dominated net costs about twice as much backward."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.io import spec as S
from gradcli.checks.nets.cost import count_cost

SHEET_002 = """
inputs:
  x: [0.5, -1.0, 2.0]
  y: [0.3, -0.4]
params:
  W1: {shape: [4, 3], init: zeros}
  W2: {shape: [2, 4], init: zeros}
forward:
  Z: W1 @ x
  u: sigmoid(Z)
  yhat: W2 @ u
loss: norm(yhat - y)^2
"""


def test_sheet_002_counts():
    c = count_cost(S.load_text(SHEET_002))
    rows = {(r.definition, r.op): r for r in c.rows}
    assert rows[("Z", "@")].forward == 12 and rows[("Z", "@")].backward == 12  # x needs no gradient
    assert rows[("yhat", "@")].forward == 8 and rows[("yhat", "@")].backward == 16  # W2 and u both do
    assert rows[("u", "sigmoid")].forward == 4
    assert c.forward == sum(r.forward for r in c.rows) and c.backward == sum(r.backward for r in c.rows)
    assert c.backward > c.forward and "backward pass costs" in c.summary


def wide(n: int, wrt_x: bool) -> str:
    return f"""
inputs:
  x: {{shape: [{n}], init: {{normal: {{seed: 1}}}}}}
params:
  W1: {{shape: [{n}, {n}], init: {{normal: {{seed: 2}}}}}}
  W2: {{shape: [{n}, {n}], init: {{normal: {{seed: 3}}}}}}
forward:
  h: tanh(W1 @ x)
  out: W2 @ h
loss: sum(out)
wrt: [W1, W2{', x' if wrt_x else ''}]
"""


@pytest.mark.parametrize("n", [16, 64])
def test_matmul_dominated_backward_is_about_twice(n):
    c = count_cost(S.load_text(wide(n, wrt_x=True)))
    assert c.matmul_share > 0.9
    assert c.ratio == pytest.approx(2.0, abs=0.1)
    assert c.ratio_all_inputs == pytest.approx(c.ratio)
    without_x = count_cost(S.load_text(wide(n, wrt_x=False)))
    assert without_x.ratio == pytest.approx(1.5, abs=0.1)  # the first product needs only ∂W1
    assert without_x.ratio_all_inputs == pytest.approx(2.0, abs=0.1)


def test_examples_multiply_the_counts():
    one = count_cost(S.load_text("layers:\n  - dense: {in: 2, out: 3}\nloss: sse\ndata: {x: [[1, 2]], y: [[1, 1, 1]]}\n"))
    four = count_cost(S.load_text("layers:\n  - dense: {in: 2, out: 3}\nloss: sse\n"
                                  "data: {x: [[1, 2], [0, 1], [1, 1], [2, 2]], y: [[1, 1, 1], [0, 0, 0], [1, 0, 1], [0, 1, 0]]}\n"))
    assert four.examples == 4 and four.forward == 4 * one.forward and four.backward == 4 * one.backward
    assert np.isclose(four.ratio, one.ratio)
