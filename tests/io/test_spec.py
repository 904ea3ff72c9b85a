"""Network specs and problem files: values and inits, layers, batches, claims, and every error with its place."""

import math
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.io import spec as S

from gradcli.io import models
from gradcli.errors import GradcliError, SpecError
from gradcli.language.expr import parse, to_text
from gradcli.io.yaml_source import load_text as load_yaml

SPEC4 = """\
name: one hidden layer (sheet 003, 3.1)      # optional
inputs:                  # fixed data: a number, a nested list, or an init (below)
  x: [0.5, -1.2]
  y: 0.7
params:                  # what gradients are taken for (wrt: may add inputs such as x)
  W0: {shape: [4, 2], init: {normal: {std: 0.5, seed: 0}}}
  b0: {shape: [4], init: zeros}
  W1: [[0.1, -0.2, 0.3, 0.4]]
  b1: [0.0]
forward:                 # ordered definitions; each may use inputs, params and earlier names
  z: sigmoid(W0 @ x + b0)
  yhat: W1 @ z + b1
loss: 0.5 * norm(yhat - y)^2        # must be a scalar
wrt: [W0, b0, W1, b1, x]             # optional; default: every param
"""

PROBLEM5 = """\
title: Neural network chain rule warm-up
source: 003_59d5c864867106a9.txt, problem 2      # where the problem comes from
function: c*(a-b)^2            # or `net:` holding a network spec (§4) inline; optional when
                               # every claim names its own `of:`
where: {a: (w+x+y)^2, b: (x-y-z)^2}
claims:
  - id: dv/dw
    derivative: {wrt: w}                 # total derivative of the function (through where:)
    claim: 4*c*(a-b)*(w+x+y)
  - id: dv/dx as printed
    derivative: {wrt: x}
    claim: 4*c*(a-b)*(w+x+y) * -4*c*(a-b)*(x-y-z)
    expect: wrong                        # a slip in the sheet: gradcli must find it wrong
  - id: f at (1,3,2)
    value: {at: {x: 1, y: 3, z: 2}}
    claim: 40.171                        # printed digits set the tolerance
"""


def load(text: str, file: str = "net.yaml"):
    return S.load_text(textwrap.dedent(text), file)


def error_of(text: str, file: str = "net.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        load(text, file)
    return info.value


def net_with(params: str, extra: str = "") -> str:
    """A minimal spec with the given params: block (indented two spaces) and a loss over W."""
    return f"params:\n{params}\n{extra}loss: sum(W)\n"


# ------------------------------------------------------------------------------------ SPEC examples


def test_spec4_example_loads_with_column_vectors_and_lines(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(SPEC4)
    net = S.load(path)
    assert isinstance(net, models.NetSpec)
    assert net.name == "one hidden layer (sheet 003, 3.1)"
    assert net.inputs["x"].shape == (2, 1) and net.inputs["x"][:, 0].tolist() == [0.5, -1.2]
    assert net.inputs["y"].shape == () and float(net.inputs["y"]) == 0.7
    assert {k: v.shape for k, v in net.params.items()} == {"W0": (4, 2), "b0": (4, 1), "W1": (1, 4), "b1": (1, 1)}
    assert all(v.dtype == np.float64 for v in [*net.inputs.values(), *net.params.values()])
    np.testing.assert_array_equal(net.params["W0"], np.random.default_rng(0).normal(0.0, 0.5, size=(4, 2)))
    assert [(d.name, d.line) for d in net.forward] == [("z", 11), ("yhat", 12)]
    assert to_text(net.forward[1].node) == "W1@z+b1"
    assert net.loss.name == "loss" and net.loss.line == 13 and net.loss.text == "0.5 * norm(yhat - y)^2"
    assert net.wrt == ["W0", "b0", "W1", "b1", "x"]
    assert net.data is None and net.train is None and not net.expanded_from_layers
    assert net.forward[1].where == f"{path}: forward.yhat (line 12)"
    assert net.where("params.W0.shape") == f"{path}: params.W0.shape (line 6)"
    assert net.locate("b1") == f"{path}: params.b1 (line 9)"
    assert net.source_yaml_lines["loss"] == 13


def test_spec5_example_loads(tmp_path):
    path = tmp_path / "warmup.yaml"
    path.write_text(PROBLEM5)
    problem = S.load(path)
    assert isinstance(problem, models.ProblemFile)
    assert problem.title == "Neural network chain rule warm-up"
    assert problem.source == "003_59d5c864867106a9.txt, problem 2"
    assert problem.function.text == "c*(a-b)^2" and problem.function.line == 3
    assert sorted(problem.where) == ["a", "b"] and to_text(problem.where["a"].node) == "(w+x+y)^2"
    assert problem.net is None
    ids = [c.id for c in problem.claims]
    assert ids == ["dv/dw", "dv/dx as printed", "f at (1,3,2)"]
    d, wrong, value = problem.claims
    assert d.kind == "derivative" and d.settings.wrt == "w" and d.settings["wrt"] == "w" and d.settings.of is None
    assert d.claim == "4*c*(a-b)*(w+x+y)" and d.claim_text_line == 9 and d.line == 7 and d.expect == "correct"
    assert wrong.expect == "wrong" and wrong.index == 1
    assert value.kind == "value" and value.claim == 40.171 and value.claim_source == "40.171"
    assert {k: float(v) for k, v in value.settings.at.items()} == {"x": 1.0, "y": 3.0, "z": 2.0}
    assert value.where == f"{path}: claims[2] 'f at (1,3,2)' (line 14)"


def test_printed_digits_of_a_value_claim_survive():
    problem = load("""\
        function: x
        claims:
          - id: v
            value: {at: {x: 1}}
            claim: 40.10
        """, "p.yaml")
    assert problem.claims[0].claim == 40.1 and problem.claims[0].claim_source == "40.10"


# -------------------------------------------------------------------------------------------- values


def test_values_numbers_columns_matrices_and_tensors():
    net = load("""\
        inputs:
          s: 3
          v: [1, 2, 3]
          m: [[1, 2, 3], [4, 5, 6]]
          t: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
          r: [[1, 2, 3]]
        params: {W: 1.5}
        loss: W
        """)
    shapes = {k: v.shape for k, v in net.inputs.items()}
    assert shapes == {"s": (), "v": (3, 1), "m": (2, 3), "t": (2, 2, 2), "r": (1, 3)}
    assert net.inputs["m"][1, 2] == 6.0 and net.inputs["t"][1, 0, 1] == 6.0
    assert net.wrt == ["W"]


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_a_flat_list_is_a_column_with_the_same_entries(xs):
    net = S.load_text("inputs:\n  v: [" + ", ".join(repr(x) for x in xs) + "]\nparams: {W: 1}\nloss: W\n")
    assert net.inputs["v"].shape == (len(xs), 1)
    assert net.inputs["v"][:, 0].tolist() == xs


@given(st.integers(1, 5), st.integers(1, 5), st.data())
@settings(max_examples=40, deadline=None)
def test_a_nested_list_is_a_matrix_row_by_row(m, n, data):
    rows = data.draw(st.lists(st.lists(st.integers(-9, 9), min_size=n, max_size=n), min_size=m, max_size=m))
    net = S.load_text(f"inputs:\n  A: {rows}\nparams: {{W: 1}}\nloss: W\n")
    assert net.inputs["A"].shape == (m, n)
    assert net.inputs["A"].tolist() == rows


@pytest.mark.parametrize("init, check", [
    ("zeros", lambda a: np.all(a == 0)),
    ("ones", lambda a: np.all(a == 1)),
    ("{constant: -2.5}", lambda a: np.all(a == -2.5)),
])
def test_constant_inits(init, check):
    net = load(net_with(f"  W: {{shape: [3, 2], init: {init}}}"))
    assert net.params["W"].shape == (3, 2) and check(net.params["W"])


def test_shape_of_one_axis_is_a_column_and_empty_shape_a_scalar():
    net = load(net_with("  W: {shape: [5], init: ones}\n  c: {shape: [], init: {constant: 2}}"))
    assert net.params["W"].shape == (5, 1) and net.params["c"].shape == () and float(net.params["c"]) == 2.0


def test_normal_init_statistics_and_seed():
    net = load(net_with("  W: {shape: [300, 200], init: {normal: {mean: 1.5, std: 0.5, seed: 7}}}"))
    w = net.params["W"]
    assert w.shape == (300, 200)
    assert abs(w.mean() - 1.5) < 0.01 and abs(w.std() - 0.5) < 0.01
    np.testing.assert_array_equal(w, np.random.default_rng(7).normal(1.5, 0.5, size=(300, 200)))


def test_uniform_init_statistics_and_seed():
    net = load(net_with("  W: {shape: [300, 200], init: {uniform: {low: -2, high: 4, seed: 1}}}"))
    w = net.params["W"]
    assert w.min() >= -2 and w.max() < 4 and abs(w.mean() - 1.0) < 0.03
    assert abs(w.var() - 36 / 12) < 0.05
    np.testing.assert_array_equal(w, np.random.default_rng(1).uniform(-2, 4, size=(300, 200)))


def test_xavier_is_glorot_uniform_with_fans_from_the_shape():
    net = load(net_with("  W: {shape: [300, 500], init: {xavier: {seed: 2}}}"))
    w = net.params["W"]
    limit = math.sqrt(6 / (500 + 300))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.var() - 2 / (500 + 300)) < 0.05 * 2 / 800
    np.testing.assert_array_equal(w, np.random.default_rng(2).uniform(-limit, limit, size=(300, 500)))


def test_he_is_normal_with_std_sqrt_two_over_fan_in():
    net = load(net_with("  W: {shape: [400, 50], init: he}"))
    w = net.params["W"]
    assert abs(w.std() - math.sqrt(2 / 50)) < 0.01 and abs(w.mean()) < 0.01


def test_inits_are_reproducible_and_unseeded_ones_follow_the_top_level_seed():
    text = net_with("  W: {shape: [4, 3], init: xavier}\n  V: {shape: [4, 3], init: {normal: {std: 1}}}")
    a, b = load(text), load(text)
    for name in ("W", "V"):
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["W"], a.params["V"])  # each name draws its own stream
    c = load("seed: 5\n" + text)
    assert not np.array_equal(a.params["W"], c.params["W"])
    np.testing.assert_array_equal(c.params["W"], load("seed: 5\n" + text).params["W"])


def test_inputs_may_use_an_init():
    net = load("inputs:\n  x: {shape: [3], init: {uniform: {seed: 0}}}\nparams: {W: 1}\nloss: W\n")
    assert net.inputs["x"].shape == (3, 1) and np.all((net.inputs["x"] >= 0) & (net.inputs["x"] < 1))


# -------------------------------------------------------------------------------------------- layers


XOR = """\
seed: 3
data: {x: [[0,0],[0,1],[1,0],[1,1]], y: [0,1,1,0]}
layers:
  - dense: {in: 2, out: 3, activation: tanh}
  - dense: {in: 3, out: 2, activation: relu, bias: false}
  - dense: {out: 1, activation: sigmoid, init: {normal: {std: 0.1}}, bias_init: {constant: 0.5}}
loss: mse
train: {lr: 0.1, steps: 200}
"""


def test_layers_expand_into_named_params_and_forward_text():
    net = load(XOR)
    assert net.expanded_from_layers
    assert S.expanded_forward_text(net) == [
        "h1 = tanh(W1 @ x + b1)",
        "h2 = relu(W2 @ h1)",
        "yhat = sigmoid(W3 @ h2 + b3)",
    ]
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (3, 2), "b1": (3, 1), "W2": (2, 3),
                                                          "W3": (1, 2), "b3": (1, 1)}
    assert np.all(net.params["b1"] == 0) and np.all(net.params["b3"] == 0.5)
    limit = math.sqrt(6 / 5)
    assert np.abs(net.params["W1"]).max() <= limit
    assert net.wrt == ["W1", "b1", "W2", "W3", "b3"]
    assert net.loss.text == "mean((yhat - y)^2)"
    assert [(l.weight, l.bias, l.input, l.output, l.n_in, l.n_out) for l in net.layers] == [
        ("W1", "b1", "x", "h1", 2, 3), ("W2", None, "h1", "h2", 3, 2), ("W3", "b3", "h2", "yhat", 2, 1)]
    assert net.forward[0].line == 4 and net.where("params.W2") == "net.yaml: params.W2 (line 5)"
    assert net.train.lr == 0.1 and net.train.steps == 200


def test_layer_weights_are_seeded_per_layer_from_the_top_level_seed():
    a, b = load(XOR), load(XOR)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    other = load(XOR.replace("seed: 3", "seed: 4"))
    assert not np.array_equal(a.params["W1"], other.params["W1"])
    default = load(XOR.replace("seed: 3\n", ""))
    np.testing.assert_array_equal(default.params["W1"], load("seed: 0\n" + XOR.replace("seed: 3\n", "")).params["W1"])


def test_scalar_examples_feed_a_layer_as_one_by_one():
    net = load("data: {x: [0, 1, 2], y: [0, 2, 4]}\nlayers:\n  - dense: {in: 1, out: 1}\nloss: mse\n")
    assert [r.shape for r in net.data.x] == [(1, 1)] * 3 and net.params["W1"].shape == (1, 1)
    assert [r.shape for r in net.data.y] == [()] * 3


def test_layer_init_may_be_a_literal_matrix():
    net = load("""\
        inputs: {x: [1, 2], y: 0}
        layers:
          - dense: {in: 2, out: 1, init: [[0.5, -0.5]], bias_init: [0.25]}
        loss: sse
        """)
    assert net.params["W1"].tolist() == [[0.5, -0.5]] and net.params["b1"].tolist() == [[0.25]]
    assert S.expanded_forward_text(net) == ["yhat = W1 @ x + b1"]
    assert net.loss.text == "sum((yhat - y)^2)"


def test_layer_size_mismatch_names_both_layers():
    err = error_of("""\
        inputs: {x: [1, 2], y: 0}
        layers:
          - dense: {in: 2, out: 3}
          - dense: {in: 4, out: 1}
        loss: mse
        """)
    assert err.where == "net.yaml: layers[1].dense.in (line 4)"
    assert "layer 2 has in: 4" in err.message and "layer 1 has out: 3" in err.message
    assert "layers[0].dense.out (line 3)" in err.message


def test_first_layer_must_fit_x():
    err = error_of("inputs: {x: [1, 2, 3], y: 0}\nlayers:\n  - dense: {in: 2, out: 1}\nloss: mse\n")
    assert err.where == "net.yaml: layers[0].dense.in (line 3)" and "x has 3 entries" in err.message


def test_unknown_activation_and_layer_type():
    err = error_of("inputs: {x: [1], y: 0}\nlayers:\n  - dense: {in: 1, out: 1, activation: gelu}\nloss: mse\n")
    assert err.where == "net.yaml: layers[0].dense.activation (line 3)" and "'gelu'" in err.message
    err = error_of("inputs: {x: [1], y: 0}\nlayers:\n  - conv: {in: 1, out: 1}\nloss: mse\n")
    assert err.where == "net.yaml: layers[0] (line 3)" and "conv" in err.message


# --------------------------------------------------------------------------------------------- loss


@pytest.mark.parametrize("keyword, text", [
    ("mse", "mean((yhat - y)^2)"),
    ("sse", "sum((yhat - y)^2)"),
    ("cross_entropy", "-sum(y * ln(yhat))"),
    ("softmax_cross_entropy", "logsumexp(yhat) - sum(y * yhat)"),
])
def test_loss_keywords_expand(keyword, text):
    net = load(f"inputs: {{y: [0, 1]}}\nparams: {{W: [1, 2]}}\nforward: {{yhat: W * 2}}\nloss: {keyword}\n")
    assert net.loss.text == text and to_text(net.loss.node) == to_text(parse(text))


def test_loss_keyword_needs_yhat_and_y():
    err = error_of("params: {W: [1, 2]}\nforward: {yhat: W}\nloss: mse\n")
    assert err.where == "net.yaml: loss (line 3)" and "'y'" in err.message


def test_missing_loss_names_the_key_and_line():
    err = error_of("params:\n  W: [1, 2]\n")
    assert err.where == "net.yaml: loss (line 1)" and "missing loss" in err.message
    err = error_of("problem: 1\nclaims:\n  - id: g\n    gradient: {wrt: W}\n    claim: W\nnet:\n  params: {W: 1}\n",
                   "p.yaml")
    assert err.where.startswith("p.yaml: ")  # 'problem' is not a problem-file key: caught first
    err = error_of("claims:\n  - id: g\n    gradient: {wrt: W}\n    claim: W\nnet:\n  params: {W: 1}\n", "p.yaml")
    assert err.where == "p.yaml: net.loss (line 5)"


# ------------------------------------------------------------------------------------------ batches


def test_data_rows_become_examples():
    net = load(XOR)
    assert len(net.data) == 4 and net.data.reduce == "mean"
    assert [r.shape for r in net.data.x] == [(2, 1)] * 4 and net.data.x[3][:, 0].tolist() == [1, 1]
    assert [r.shape for r in net.data.y] == [()] * 4 and [float(r) for r in net.data.y] == [0, 1, 1, 0]
    assert net.example_names == ("x", "y")


def test_data_with_sum_and_vector_targets():
    net = load("data: {x: [[1, 2], [3, 4]], y: [[1, 0], [0, 1]], reduce: sum}\nparams: {W: [[1, 0], [0, 1]]}\n"
               "forward: {yhat: W @ x}\nloss: mse\n")
    assert net.data.reduce == "sum" and net.data.y[1].shape == (2, 1)


def test_data_row_count_and_shape_mismatches():
    err = error_of("data:\n  x: [[1, 2], [3, 4]]\n  y: [1, 2, 3]\nparams: {W: 1}\nloss: W\n")
    assert err.where == "net.yaml: data.y (line 3)" and "2 rows" in err.message and "3" in err.message
    err = error_of("data:\n  x:\n    - [1, 2]\n    - [3, 4, 5]\n  y: [1, 2]\nparams: {W: 1}\nloss: W\n")
    assert err.where == "net.yaml: data.x[1] (line 4)"
    err = error_of("data: {x: [1], y: [1], reduce: max}\nparams: {W: 1}\nloss: W\n")
    assert err.where == "net.yaml: data.reduce (line 1)" and "'mean'" in err.message


def test_wrt_may_not_name_batch_columns_or_forward_names():
    err = error_of("data: {x: [1, 2], y: [1, 2]}\nparams: {W: 1}\nforward: {yhat: W * x}\nloss: mse\nwrt: [W, x]\n")
    assert err.where == "net.yaml: wrt[1] (line 5)"
    err = error_of("inputs: {x: 1}\nparams: {W: 1}\nforward: {z: W * x}\nloss: z\nwrt: [z]\n")
    assert err.where == "net.yaml: wrt[0] (line 5)" and "forward" in err.message


# ---------------------------------------------------------------------------- errors with their place


@pytest.mark.parametrize("text, where, words", [
    # bad YAML syntax: line and column
    ("params:\n  W: [1, 2\nloss: W\n", "net.yaml (line 3, column 5)", "invalid YAML"),
    ("params:\n\tW: 1\n", "net.yaml (line 2, column 1)", "invalid YAML"),
    # unknown name in forward, with the column
    ("inputs: {x: 1}\nparams: {W: 2}\nforward:\n  z: W * x\n  yhat: z + u\nloss: yhat\n",
     "net.yaml: forward.yhat (line 5)", "unknown name 'u'"),
    # a bad expression: the parser's message with the YAML place
    ("params: {W: 2}\nforward:\n  z: W +* 2\nloss: z\n", "net.yaml: forward.z (line 3)", "column"),
    # bad shapes
    ("params:\n  W: {shape: [3, -1], init: zeros}\nloss: sum(W)\n", "net.yaml: params.W.shape[1] (line 2)",
     "positive"),
    ("params:\n  W: {shape: 4, init: zeros}\nloss: sum(W)\n", "net.yaml: params.W.shape (line 2)", "list"),
    ("params:\n  W: {shape: [2, 2.5], init: zeros}\nloss: sum(W)\n", "net.yaml: params.W.shape[1] (line 2)",
     "whole"),
    ("params:\n  W: {shape: [1, 1, 1, 1, 1], init: zeros}\nloss: sum(W)\n", "net.yaml: params.W.shape (line 2)",
     "axes"),
    ("params:\n  W:\n    shape: [1000000000]\n    init: zeros\nloss: sum(W)\n", "net.yaml: params.W.shape (line 3)",
     "1,000,000,000 entries"),
    ("params:\n  W:\n    shape: [100000, 100000]\n    init: {normal: {std: 1}}\nloss: sum(W)\n",
     "net.yaml: params.W.shape (line 3)", "limit"),
    # bad inits
    ("params:\n  W: {shape: [2, 2], init: gaussian}\nloss: sum(W)\n", "net.yaml: params.W.init (line 2)",
     "unknown init 'gaussian'"),
    ("params:\n  W:\n    shape: [2, 2]\n    init: {normal: {std: -1}}\nloss: sum(W)\n",
     "net.yaml: params.W.init.normal.std (line 4)", "greater than or equal to 0"),
    ("params:\n  W:\n    shape: [2, 2]\n    init: {normal: {sd: 1}}\nloss: sum(W)\n",
     "net.yaml: params.W.init.normal.sd (line 4)", "did you mean 'std'"),
    ("params:\n  W:\n    shape: [2, 2]\n    init: {uniform: {low: 1, high: 0}}\nloss: sum(W)\n",
     "net.yaml: params.W.init.uniform (line 4)", "low < high"),
    ("params:\n  W: {shape: [4], init: xavier}\nloss: sum(W)\n", "net.yaml: params.W.init (line 2)", "2-D"),
    ("params:\n  W: {shape: [2, 2]}\nloss: sum(W)\n", "net.yaml: params.W (line 2)", "missing 'init'"),
    ("params:\n  W: {shape: [2, 2], init: {constant: yes}}\nloss: sum(W)\n",
     "net.yaml: params.W.init.constant (line 2)", "number"),
    # ragged and non-numeric literals
    ("params:\n  W:\n    - [1, 2]\n    - [3]\nloss: sum(W)\n", "net.yaml: params.W[1] (line 4)", "ragged"),
    ("params:\n  W: [[1, 2], 3]\nloss: sum(W)\n", "net.yaml: params.W[1] (line 2)", "ragged"),
    ("params:\n  W: [1, two]\nloss: sum(W)\n", "net.yaml: params.W[1] (line 2)", "number"),
    ("params:\n  W: []\nloss: sum(W)\n", "net.yaml: params.W (line 2)", "empty"),
    ("params:\n  W: .inf\nloss: W\n", "net.yaml: params.W (line 2)", "finite"),
    # names
    ("params:\n  exp: 1\nloss: exp\n", "net.yaml: params.exp (line 2)", "function"),
    ("params:\n  e: 1\nloss: e\n", "net.yaml: params.e (line 2)", "constant"),
    ("inputs: {W: 1}\nparams:\n  W: 1\nloss: W\n", "net.yaml: params.W (line 3)", "both"),
    ("params: {W: 1}\nforward:\n  W: 2\nloss: W\n", "net.yaml: forward.W (line 3)", "already defined"),
    ("params: {W: 1}\nloss: W\nwrt: [V]\n", "net.yaml: wrt[0] (line 3)", "unknown name 'V'"),
    ("params: {W: 1}\nloss: W\nwrt: [W, W]\n", "net.yaml: wrt[1] (line 3)", "twice"),
    # structure
    ("parms: {W: 1}\nloss: W\n", "net.yaml: parms (line 1)", "did you mean 'params'"),
    ("params:\n  W: 1\n  W: 2\nloss: W\n", "net.yaml: params.W (line 3)", "twice"),
    ("- 1\n- 2\n", "net.yaml (line 1)", "mapping"),
    ("", "net.yaml", "empty"),
    ("params: {W: 1}\nloss: W\ntrain: {lr: -1, steps: 10}\n", "net.yaml: train.lr (line 3)", "greater than 0"),
    ("params: {W: 1}\nloss: W\ntrain: {lr: 0.1}\n", "net.yaml: train.steps (line 3)", "missing 'steps'"),
    ("params: {W: 1}\nloss: W\nseed: -3\n", "net.yaml: seed (line 3)", "greater than or equal"),
    ("params: {W: !!python/object/apply:os.system [echo]}\nloss: W\n", "net.yaml: params.W (line 1)", "tag"),
])
def test_errors_name_the_yaml_path_and_line(text, where, words):
    err = error_of(text)
    assert isinstance(err, GradcliError)
    assert err.where == where, err.render()
    assert words in err.message, err.render()


def test_unknown_name_shows_the_column_with_a_caret_and_later_definitions():
    err = error_of("inputs: {x: 1}\nparams: {W: 2}\nforward:\n  z: W * u\n  u: x\nloss: z\n")
    assert err.where == "net.yaml: forward.z (line 4)"
    assert "column 5" in err.message
    assert err.detail.splitlines()[1].index("^") == 2 + 4
    assert "defined later in forward (line 5)" in err.detail


def test_parse_errors_keep_the_parsers_caret():
    err = error_of("params: {W: 2}\nforward:\n  z: sigmod(W)\nloss: z\n")
    assert err.where == "net.yaml: forward.z (line 3)" and "unknown function 'sigmod'" in err.message
    assert "^" in err.detail and "sigmoid" in err.detail


def test_bad_yaml_shows_the_line_with_a_caret():
    err = error_of("params:\n  W: [1, 2\nloss: W\n")
    assert err.detail is not None and "^" in err.detail


def test_big_files_are_refused_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "1" * (3 * 1024 * 1024) + "\n")
    with pytest.raises(SpecError, match="limit") as info:
        S.load(path)
    assert info.value.where == str(path)


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        S.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(SpecError, match="UTF-8") as info:
        S.load(bad)
    assert info.value.where == f"{bad} (line 2)"


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_any_text_loads_or_raises_a_spec_error(text):
    try:
        S.load_text(text, "f.yaml")
    except GradcliError as exc:
        assert exc.where and exc.where.startswith("f.yaml")


# -------------------------------------------------------------------------------------------- claims


def problem_error(claims: str, head: str = "function: x^2\n") -> SpecError:
    return error_of(head + "claims:\n" + textwrap.indent(textwrap.dedent(claims), "  "), "p.yaml")


def test_duplicate_claim_id():
    err = problem_error("""\
        - id: d
          derivative: {wrt: x}
          claim: 2*x
        - id: d
          value: {at: {x: 1}}
          claim: 1
        """)
    assert err.where == "p.yaml: claims[1] 'd' (line 6)" and "used twice (first on line 3)" in err.message


def test_unknown_claim_kind():
    err = problem_error("""\
        - id: d
          derivitive: {wrt: x}
          claim: 2*x
        """)
    assert err.where == "p.yaml: claims[0] 'd' derivitive (line 4)"
    assert "unknown claim kind 'derivitive'" in err.message and "'derivative'" in err.message


def test_two_kinds_in_one_claim():
    err = problem_error("""\
        - id: first
          derivative: {wrt: x}
          claim: 2*x
        - id: both
          derivative: {wrt: x}
          value: {at: {x: 1}}
          claim: 2
        """)
    assert err.where == "p.yaml: claims[1] 'both' value (line 8)" and "2 kinds" in err.message


@pytest.mark.parametrize("claims, where, words", [
    ("- derivative: {wrt: x}\n  claim: 2*x\n", "p.yaml: claims[0] (line 3)", "no id"),
    ("- id: a\n  claim: 2*x\n", "p.yaml: claims[0] 'a' (line 3)", "no kind"),
    ("- id: a\n  derivative: {wrt: x}\n", "p.yaml: claims[0] 'a' (line 3)", "missing claim"),
    ("- id: a\n  derivative: {of: x}\n  claim: 1\n", "p.yaml: claims[0] 'a' derivative.wrt (line 4)",
     "missing 'wrt'"),
    ("- id: a\n  derivative: {wrt: x, at: 1}\n  claim: 1\n", "p.yaml: claims[0] 'a' derivative.at (line 4)",
     "unknown key 'at'"),
    ("- id: a\n  derivative: {wrt: 2x}\n  claim: 1\n", "p.yaml: claims[0] 'a' derivative.wrt (line 4)", "name"),
    ("- id: a\n  derivative: x\n  claim: 1\n", "p.yaml: claims[0] 'a' derivative (line 4)", "mapping"),
    ("- id: a\n  derivative: {wrt: x}\n  claim: 1\n  expect: maybe\n", "p.yaml: claims[0] 'a' expect (line 6)",
     "correct or wrong"),
    ("- id: a\n  gradient: {wrt: W}\n  claim: W\n", "p.yaml: claims[0] 'a' gradient (line 4)", "net:"),
    ("- id: a\n  behaviour: {train: {lr: 0.1, steps: 10, params: {x: 1}}}\n  claim: wobbles\n",
     "p.yaml: claims[0] 'a' claim (line 5)", "converges"),
    ("- id: a\n  behaviour: {train: {lr: 0.1, steps: 10}}\n  claim: converges\n",
     "p.yaml: claims[0] 'a' behaviour.train (line 4)", "params"),
    ("- id: a\n  behaviour: {train: {lr: 0.1, steps: 10, params: {w: 1}}}\n  claim: converges\n",
     "p.yaml: claims[0] 'a' behaviour.train.params.w (line 4)", "not a variable"),
    ("- id: a\n  value: {at: {x: [1, [2]]}}\n  claim: 1\n", "p.yaml: claims[0] 'a' value.at.x[1] (line 4)",
     "ragged"),
    ("- id: a\n  jacobian: {of: x, wrt: x}\n", "p.yaml: claims[0] 'a' (line 3)", "claim_shape"),
    ("- id: a\n  jacobian: {of: x, wrt: x}\n  claim_shape: [0, 2]\n", "p.yaml: claims[0] 'a' claim_shape (line 5)",
     "positive"),
    ("- id: a\n  derivative: {wrt: x}\n  claim: 1\n  claim_shape: [1]\n",
     "p.yaml: claims[0] 'a' claim_shape (line 6)", "jacobian"),
    ("- id: a\n  derivative: {wrt: x, tol: 0.1}\n  claim: 1\n  tol: 0.2\n", "p.yaml: claims[0] 'a' tol (line 6)",
     "twice"),
])
def test_claim_errors_name_file_id_and_line(claims, where, words):
    err = problem_error(claims)
    assert err.where == where, err.render()
    assert words in err.message, err.render()


def test_claims_that_need_a_function_or_net():
    err = problem_error("- id: a\n  value: {at: {x: 1}}\n  claim: 1\n", head="title: t\n")
    assert err.where == "p.yaml: claims[0] 'a' value (line 4)" and "function" in err.message
    problem = load("title: t\nclaims:\n  - id: a\n    value: {of: x^2, at: {x: 2}}\n    claim: 4\n", "p.yaml")
    assert problem.claims[0].settings.of == "x^2"


def test_every_claim_kind_loads_with_its_settings():
    problem = load("""\
        title: every kind
        net:
          inputs: {x: [1, 2], y: 1}
          params:
            W: [[1, 2]]
          forward: {yhat: W @ x}
          loss: 0.5*(yhat-y)^2
        claims:
          - id: grad
            gradient: {wrt: W}
            claim: (yhat-y) @ x.T
          - id: jac
            jacobian: {of: X @ w, wrt: w, shapes: {X: [3, 4], w: [4]}}
            claim_shape: [3, 4]
            claim_entry: X[i, j]
          - id: upd
            update: {wrt: W, lr: 0.10}
            claim: W - 0.1*(yhat-y) @ x.T
          - id: beh
            behaviour: {train: {lr: 0.1, steps: 50}}
            claim: converges
            tol: 1e-6
          - id: val
            value: {at: {}, of: loss}
            claim: 12.5
          - id: der
            derivative: {wrt: yhat}
            claim: yhat - y
            note: the upstream gradient at the output
        """, "p.yaml")
    kinds = {c.id: c for c in problem.claims}
    assert [c.kind for c in problem.claims] == ["gradient", "jacobian", "update", "behaviour", "value", "derivative"]
    assert problem.net.where("forward.yhat") == "p.yaml: net.forward.yhat (line 6)"
    assert problem.net.forward[0].where == "p.yaml: net.forward.yhat (line 6)"
    jac = kinds["jac"]
    assert jac.settings.shapes == {"X": (3, 4), "w": (4,)} and jac.claim_shape == (3, 4)
    assert jac.claim_entry == "X[i, j]" and jac.claim is None
    assert kinds["upd"].settings.lr == "0.10"
    beh = kinds["beh"].settings
    assert beh.tol == 1e-6 and beh.train.lr == 0.1 and beh.train.steps == 50 and beh.train.params is None
    assert kinds["der"].note == "the upstream gradient at the output"
    node = S.parse_claim_formula(problem, jac, jac.claim_entry, allow_index=True, field="claim_entry")
    assert to_text(node) == "X[i, j]"


def test_function_behaviour_training_names():
    problem = load("""\
        function: 0.5*(a*w1^2 + b*w2^2)
        claims:
          - id: conv
            behaviour:
              train: {params: {w1: 1, w2: -1}, constants: {a: 10, b: 1}, lr: 0.19, steps: 500}
            claim: converges
        """, "p.yaml")
    train = problem.claims[0].settings.train
    assert isinstance(train, models.TrainSpec) and train.lr == 0.19 and train.steps == 500
    assert {k: float(v) for k, v in train.params.items()} == {"w1": 1.0, "w2": -1.0}
    assert {k: float(v) for k, v in train.constants.items()} == {"a": 10.0, "b": 1.0}
    err = error_of("""\
        function: 0.5*(a*w1^2 + b*w2^2)
        claims:
          - id: conv
            behaviour:
              train: {params: {w1: 1, w2: -1}, constants: {a: 10}, lr: 0.19, steps: 500}
            claim: converges
        """, "p.yaml")
    assert err.where == "p.yaml: claims[0] 'conv' behaviour.train (line 5)" and "'b'" in err.message


def test_parse_claim_formula_names_the_claim_and_line():
    problem = load(PROBLEM5, "p.yaml")
    claim = problem.claims[1]
    assert to_text(S.parse_claim_formula(problem, claim, claim.claim)).startswith("4*c*(a-b)")
    with pytest.raises(SpecError) as info:
        S.parse_claim_formula(problem, claim, "4*c*(a-b) x")
    err = info.value
    assert err.where == "p.yaml: claims[1] 'dv/dx as printed' (line 12)"
    assert "column 11" in err.message and "^" in err.detail
    with pytest.raises(SpecError):
        S.parse_claim_formula(problem, claim, "X[i]")  # subscripts only with allow_index
    value = problem.claims[2]
    assert S.parse_claim_formula(problem, value, value.claim).text == "40.171"


def test_yaml11_exponent_numbers_are_numbers():
    net = load("inputs: {x: [1e-3, 2E2]}\nparams: {W: 1}\nloss: W\ntrain: {lr: 1e-2, steps: 1e3}\n")
    assert net.inputs["x"][:, 0].tolist() == [0.001, 200.0] and net.train.lr == 0.01 and net.train.steps == 1000
    problem = load("function: x\nclaims:\n  - id: v\n    value: {at: {x: 1}}\n    claim: 1e-3\n", "p.yaml")
    assert problem.claims[0].claim == 0.001 and problem.claims[0].claim_source == "1e-3"


def test_where_cycles_and_function_errors():
    err = error_of("function: a\nwhere:\n  a: b + 1\n  b: a * 2\nclaims:\n  - id: d\n    derivative: {wrt: x}\n"
                   "    claim: 1\n", "p.yaml")
    assert err.where == "p.yaml: where.a (line 3)" and "a -> b -> a" in err.message
    err = error_of("function: ln(x\nclaims:\n  - id: d\n    derivative: {wrt: x}\n    claim: 1\n", "p.yaml")
    assert err.where == "p.yaml: function (line 1)" and "never closed" in err.message


def test_problem_with_both_function_and_net_is_refused():
    err = error_of("function: x\nnet: {params: {W: 1}, loss: W}\nclaims:\n  - id: d\n    derivative: {wrt: x}\n"
                   "    claim: 1\n", "p.yaml")
    assert err.where == "p.yaml: net (line 2)"


def test_inline_net_errors_carry_the_net_prefix():
    err = error_of("net:\n  params: {W: 1}\n  forward: {z: W * q}\n  loss: z\nclaims:\n  - id: g\n"
                   "    gradient: {wrt: W}\n    claim: q\n", "p.yaml")
    assert err.where == "p.yaml: net.forward.z (line 3)" and "unknown name 'q'" in err.message


# ----------------------------------------------------------------------------------- load and files


def test_load_decides_by_claims(tmp_path):
    (tmp_path / "n.yaml").write_text(SPEC4)
    (tmp_path / "p.yaml").write_text(PROBLEM5)
    assert isinstance(S.load(tmp_path / "n.yaml"), models.NetSpec)
    assert isinstance(S.load(tmp_path / "p.yaml"), models.ProblemFile)
    assert isinstance(S.load_net(tmp_path / "n.yaml"), models.NetSpec)
    with pytest.raises(SpecError, match="problem file"):
        S.load_net(tmp_path / "p.yaml")
    with pytest.raises(SpecError, match="network spec"):
        S.load_problem(tmp_path / "n.yaml")


def test_iter_yaml_files_is_recursive_and_sorted(tmp_path):
    for rel in ["b.yaml", "a.yml", "sub/c.yaml", "sub/deeper/a.YAML", "notes.txt", ".hidden/x.yaml", "sub/.h.yaml"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a: 1\n")
    found = [p.relative_to(tmp_path).as_posix() for p in S.iter_yaml_files(tmp_path)]
    assert found == ["a.yml", "b.yaml", "sub/c.yaml", "sub/deeper/a.YAML"]
    with pytest.raises(SpecError):
        S.iter_yaml_files(tmp_path / "missing")


def test_merge_keys_fill_in_without_overriding():
    doc = load_yaml("base: &b {lr: 0.1, steps: 3}\ntrain:\n  <<: *b\n  steps: 5\n", "f.yaml")
    assert doc.data["train"] == {"steps": 5, "lr": 0.1}
    assert doc.line(("train", "steps")) == 4
