"""The computation graph a student draws, read off the engine's tape (numerics/graph.py)."""

import math

import pytest

from gradcli.language.expr import parse
from gradcli.numerics import engine
from gradcli.numerics.graph import MAX_PATHS, build_graph


def graph_of(text, **point):
    leaves = {name: engine.leaf(float(v), name) for name, v in point.items()}
    out = engine.evaluate(parse(text), dict(leaves), text=text)
    engine.backward(out)
    return build_graph(out, leaves)


def test_sheet_001_nodes_in_evaluation_order_with_values_and_gradients():
    g = graph_of("ln(x)+exp(y)*z", x=1, y=3, z=2)
    assert [n.node for n in g.nodes] == ["h1", "h2", "h3", "h4"] and g.output == "h4"
    assert [n.text for n in g.nodes] == ["ln(x)", "exp(y)", "h2 * z", "h1 + h3"]
    assert [n.op for n in g.nodes] == ["ln", "exp", "mul", "add"]
    h1, h2, h3, h4 = g.nodes
    assert h1.value == 0.0 and h2.value == pytest.approx(math.exp(3)) and h4.value == pytest.approx(2 * math.exp(3))
    assert h3.local == pytest.approx([2.0, math.exp(3)])  # ∂h3/∂h2 = z, ∂h3/∂z = h2
    assert [n.upstream for n in g.nodes] == pytest.approx([1.0, 2.0, 1.0, 1.0])  # ∂f/∂h2 = z = 2, not 1
    assert g.gradient == pytest.approx({"x": 1.0, "y": 2 * math.exp(3), "z": math.exp(3)})
    assert not g.has_kink


def test_the_sum_over_paths_is_the_gradient():
    g = graph_of("x*y + sin(x)*x", x=0.7, y=-1.3)
    paths = g.paths["x"]
    assert {tuple(p.steps[:1]) for p in paths} == {("x",)} and len(paths) == 3  # x·y, sin(x)·x twice
    assert all(p.steps[-1] == g.output for p in paths)
    assert sum(p.product for p in paths) == pytest.approx(g.gradient["x"], rel=1e-12)
    assert sum(p.product for p in g.paths["y"]) == pytest.approx(0.7)


def test_paths_past_the_limit_are_cut_and_counted():
    text = "x"
    for _ in range(7):  # every level doubles the paths from x: 2^7 = 128 > MAX_PATHS
        text = f"sin({text}) + cos({text})"
    g = graph_of(text, x=0.3)
    assert len(g.paths["x"]) == MAX_PATHS and g.paths_cut["x"] == 2 ** 7 - MAX_PATHS


def test_a_kink_is_marked_on_its_node():
    g = graph_of("relu(x) + x", x=0)
    assert g.has_kink and [n.kink for n in g.nodes] == [True, False]
