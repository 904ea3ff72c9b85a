"""`gradcli plot`: sampling, SymPy's derivative, kinks from the function table, gaps, the terminal plot's
geometry and marks, images of the requested size, and the command's exit codes."""

import json
import math
import struct
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from gradcli.training import plot as P
from gradcli.cli import app
from gradcli.errors import BindingError, DomainError, GradcliError, ShapeError
from gradcli.render import plot as R

from tools import need_module

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def png_size(path):
    """(width, height) from a PNG's signature and IHDR chunk; fails on anything that is not a PNG."""
    head = open(path, "rb").read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def canvas_rows(text, height):
    """The canvas rows of the first panel: the `height` lines after the title, gutter removed."""
    lines = text.splitlines()[1:1 + height]
    return [line[line.index("┤" if "┤" in line else "│") + 1:] for line in lines]


# ------------------------------------------------------------------------------------------ options


@pytest.mark.parametrize("text, expected", [("-10:10", (-10, 10)), ("0:1", (0, 1)), ("-pi:pi", (-math.pi, math.pi)),
                                            ("-1e-3:2^3", (-1e-3, 8))])
def test_ranges_parse(text, expected):
    assert P.parse_range(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["10", "1:1", "3:1", "a:b", "1:2:3", ":2", "nan:1", "-inf:0", "1:"])
def test_bad_ranges_are_refused_naming_the_option(text):
    with pytest.raises(GradcliError) as err:
        P.parse_range(text)
    assert err.value.where == "--range"


@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6))
def test_any_increasing_pair_parses_back(lo, width):
    hi = lo + width
    assert P.parse_range(f"{lo!r}:{hi!r}") == (lo, hi)


@pytest.mark.parametrize("text", ["800", "0x100", "800x-1", "axb", "800x20000"])
def test_bad_sizes(text):
    with pytest.raises(GradcliError):
        P.parse_size(text)


def test_sizes():
    assert P.parse_size("800x600") == (800, 600)
    assert P.parse_size("640×480") == (640, 480)


# ------------------------------------------------------------------------------ values and derivative


def test_sigmoid_and_its_derivative_match_the_formulas():
    d = P.plot("sigmoid(x)", "-10:10", derivative=True, points=101)
    s = 1 / (1 + np.exp(-d.x))
    assert np.allclose(d.y, s, rtol=1e-14, atol=0)
    assert np.allclose(d.derivative, s * (1 - s), rtol=1e-12, atol=1e-300)
    assert d.x[0] == -10 and d.x[-1] == 10 and d.points == 101
    assert d.kinks == [] and d.gaps == 0


def test_tanh_derivative_is_one_minus_tanh_squared():
    d = P.plot("tanh(z)", (-3, 3), derivative=True, points=61)
    assert d.variable == "z"
    assert np.allclose(d.derivative, 1 - np.tanh(d.x) ** 2, rtol=1e-12)


def test_relu_has_one_kink_at_zero_with_its_one_sided_slopes():
    d = P.plot("relu(x)", "-3:3", derivative=True, points=100)  # 0 is not a grid point
    assert [(k.x, k.function, k.argument) for k in d.kinks] == [(0.0, "relu", "x")]
    k = d.kinks[0]
    assert k.value == 0 and k.left == pytest.approx(0, abs=1e-9) and k.right == pytest.approx(1, rel=1e-9)
    assert 0.0 in d.x and d.points == 101  # the kink is sampled so the corner is drawn where it is
    at = int(np.flatnonzero(d.x == 0)[0])
    assert math.isnan(d.derivative[at])  # f' does not exist at the kink
    assert np.all(d.derivative[d.x < 0] == 0) and np.all(d.derivative[d.x > 0] == 1)
    assert d.derivative_gaps == 0


def test_kinks_where_the_argument_crosses_zero():
    d = P.plot("abs(sin(x)) + relu(x - 1.5)", "-1:10", points=200)
    expected = sorted([0.0, math.pi, 2 * math.pi, 3 * math.pi, 1.5])
    assert [k.x for k in d.kinks] == pytest.approx(expected, abs=1e-12)
    assert {k.function for k in d.kinks} == {"abs", "relu"}
    for k in d.kinks:  # |sin| turns at multiples of pi: its slope jumps by 2; relu's by 1
        assert k.right - k.left == pytest.approx(2.0 if k.function == "abs" else 1.0, rel=1e-6)


def test_a_pole_is_not_a_kink_and_an_argument_that_never_crosses_has_none():
    assert P.plot("abs(1/x)", "-2:2", points=100).kinks == []
    assert P.plot("relu(x^2 + 1) + abs(3)", "-2:2").kinks == []


def test_kinks_beyond_the_limit_are_counted(monkeypatch):
    monkeypatch.setattr(P, "MAX_KINKS", 3)
    d = P.plot("abs(sin(x))", "0.5:20", points=400)
    assert len(d.kinks) == 3 and d.kinks_not_marked == 3  # pi, 2pi, ..., 6pi in [0.5, 20]


def test_points_outside_the_domain_are_gaps_not_errors():
    d = P.plot("ln(x)", "-1:5", points=61)
    assert d.gaps == int(np.count_nonzero(d.x <= 0))
    assert np.all(np.isnan(d.y[d.x < 0])) and np.all(np.isfinite(d.y[d.x > 0]))
    assert "ln: x > 0" in d.domain_notes


def test_defined_nowhere_on_the_range_is_a_domain_error():
    with pytest.raises(DomainError) as err:
        P.plot("ln(x)", "-5:-1")
    assert err.value.where == "--range" and "ln: x > 0" in err.value.message


@pytest.mark.parametrize("expr, error", [("x*y", BindingError), ("2+3", BindingError), ("ones(2)*x", ShapeError),
                                         ("x+", GradcliError)])
def test_not_a_scalar_function_of_one_variable(expr, error):
    with pytest.raises(error):
        P.plot(expr, "-1:1")


@pytest.mark.parametrize("kw", [{"points": 1}, {"points": 10**6}, {"width": 2}, {"height": 10**5}, {"chars": "ascii"}])
def test_bad_sizes_and_counts(kw):
    with pytest.raises(GradcliError):
        P.plot("x", "-1:1", **kw)


# ----------------------------------------------------------------------------------- terminal plot


@pytest.mark.parametrize("width, height, chars", [(40, 8, "braille"), (73, 5, "braille"), (25, 12, "blocks")])
def test_terminal_plot_has_the_requested_size(width, height, chars):
    d = P.plot("tanh(x)", "-3:3", derivative=True, width=width, height=height, chars=chars)
    text = R.table(d)
    lines = text.splitlines()
    rows = canvas_rows(text, height)
    assert len(rows) == height and all(len(r) == width for r in rows)
    assert lines[1 + height].lstrip().startswith("└") and len(lines[1 + height].split("└")[1]) == width
    panel2 = lines.index(next(line for line in lines if line.startswith("f'(x)")))
    assert panel2 == height + 4  # title, rows, axis, labels, blank line
    second = [line[line.index("┤" if "┤" in line else "│") + 1:] for line in lines[panel2 + 1:panel2 + 1 + height]]
    assert all(len(r) == width for r in second)
    glyphs = set("".join(rows)) - {" "}
    if chars == "braille":
        assert glyphs and all(0x2800 <= ord(c) <= 0x28FF for c in glyphs)
    else:
        assert glyphs and glyphs <= set(R._QUADRANTS)


def test_the_curve_spans_the_canvas_and_rises_for_an_increasing_function():
    width, height = 30, 6
    rows = canvas_rows(R.table(P.plot("x", "0:1", width=width, height=height)), height)
    assert all(rows[r].strip() for r in range(height))  # a diagonal touches every row ...
    assert all(any(rows[r][c] != " " for r in range(height)) for c in range(width))  # ... and every column
    assert rows[0].rstrip().endswith(rows[0].strip()) and rows[0].index(rows[0].strip()[0]) > width // 2
    assert rows[-1][0] != " "  # bottom left: the start


def test_kinks_are_marked_on_the_curve_and_on_the_axis():
    width, height = 41, 9
    d = P.plot("relu(x)", "-1:1", width=width, height=height)
    text = R.table(d)
    lines = text.splitlines()
    rows = canvas_rows(text, height)
    column = round((0 - (-1)) / 2 * (2 * width - 1)) // 2
    assert rows[-1][column] == R.KINK_MARK  # (0, 0) is the bottom row at the kink's column
    axis = lines[1 + height].split("└")[1]
    assert axis[column] == R.AXIS_KINK and axis.count(R.AXIS_KINK) == 1
    assert "relu(x) at 0: f = 0, slope 0 from the left, 1 from the right" in text


def test_no_kinks_says_so_and_gaps_are_reported():
    text = R.table(P.plot("ln(x)", "-1:5", width=30, height=5))
    assert "kinks: none in the range" in text
    assert "gaps: f is not defined at" in text and "ln: x > 0" in text
    assert R.AXIS_KINK not in text and R.KINK_MARK not in text


def test_a_pole_jumping_across_the_canvas_is_not_drawn_as_a_wall():
    height = 8
    rows = canvas_rows(R.table(P.plot("tan(x)", "-3:3", ylim="-5:5", width=60, height=height)), height)
    full = [c for c in range(60) if all(rows[r][c] != " " for r in range(height))]
    assert full == []


def test_canvas_line_sets_every_dot_column():
    canvas = R.Canvas(10, 3)
    canvas.line(0, 0, canvas.dots_x - 1, canvas.dots_y - 1)
    rows = canvas.rows()
    assert len(rows) == 3 and all(len(r) == 10 for r in rows)
    dots = sum(bin(ord(c) - 0x2800).count("1") for r in rows for c in r if c != " ")
    assert dots >= canvas.dots_x


def test_json_has_the_samples_kinks_and_null_gaps():
    d = P.plot("relu(x) + ln(x + 2)", "-3:3", derivative=True, points=31)
    data = json.loads(R.json_text(d))
    assert set(data) >= {"expression", "variable", "range", "points", "x", "y", "derivative", "kinks", "gaps"}
    assert data["range"] == [-3, 3] and len(data["x"]) == len(data["y"]) == data["points"]
    assert data["gaps"] == sum(v is None for v in data["y"]) > 0
    assert data["kinks"] == [{"x": 0.0, "function": "relu", "argument": "x", "value": pytest.approx(math.log(2)),
                              "left": pytest.approx(0.5, rel=1e-8), "right": pytest.approx(1.5, rel=1e-8)}]
    assert data["derivative"]["formula"]


# ------------------------------------------------------------------------------------------ images


@pytest.mark.parametrize("size, derivative", [((640, 480), False), ((901, 333), True)])
def test_png_is_a_valid_png_of_the_requested_size(tmp_path, size, derivative):
    need_module("matplotlib")
    path = tmp_path / "f.png"
    R.write_image(P.plot("relu(x)", "-2:2", derivative=derivative, points=201), path, size)
    assert png_size(path) == size


def test_svg_image(tmp_path):
    need_module("matplotlib")
    path = tmp_path / "f.svg"
    R.write_image(P.plot("sigmoid(x)", "-5:5"), path, (400, 300))
    assert b"<svg" in path.read_bytes()[:1000]


def test_missing_matplotlib_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(GradcliError) as err:
        R.check_image_target(tmp_path / "f.png", "--output")
    assert "gradcli[plot]" in err.value.message and err.value.where == "--output"


def test_image_targets_are_checked(tmp_path):
    for bad in (tmp_path / "f.jpg", tmp_path / "missing" / "f.png", tmp_path):
        with pytest.raises(GradcliError):
            R.check_image_target(bad, "-o")


# --------------------------------------------------------------------------------------------- CLI


def test_cli_terminal_plot_of_relu_and_its_derivative():
    r = invoke("plot", "relu(x)", "--range", "-3:3", "--derivative", "--width", "30", "--height", "6")
    assert r.exit_code == 0, r.output
    assert "f'(x) = step(x)" in r.stdout and R.KINK_MARK in r.stdout and R.AXIS_KINK in r.stdout


def test_cli_json_equals_the_library():
    r = invoke("plot", "sigmoid(x)", "--range=-4:4", "--points", "9", "--derivative", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data == json.loads(R.json_text(P.plot("sigmoid(x)", "-4:4", points=9, derivative=True)))


def test_cli_png(tmp_path):
    need_module("matplotlib")
    path = tmp_path / "relu.png"
    r = invoke("plot", "relu(x)", "-r", "-3:3", "-d", "-o", str(path), "--size", "500x300")
    assert r.exit_code == 0, r.output
    assert png_size(path) == (500, 300)
    assert f"wrote {path}" in r.stdout and "relu(x) at 0" in r.stdout


@pytest.mark.parametrize("args", [["x*y"], ["x", "--range", "2:1"], ["ln(x)", "--range=-3:-1"], ["x", "--points", "1"],
                                  ["x", "--size", "9x9"]])
def test_cli_bad_input_exits_2_with_one_json_error(args):
    r = invoke("plot", *args, "--json")
    assert r.exit_code == 2
    assert set(json.loads(r.stdout)) == {"error"}


def test_cli_latex_is_not_a_plot_format():
    r = invoke("plot", "x", "--format", "latex")
    assert r.exit_code == 2 and "--format latex is not available for plot" in r.stderr


def test_cli_bad_image_name_exits_2_and_writes_nothing(tmp_path):
    r = invoke("plot", "x", "-o", str(tmp_path / "f.gif"))
    assert r.exit_code == 2 and list(tmp_path.iterdir()) == []


def test_train_plot_draws_the_loss_curve(tmp_path):
    need_module("matplotlib")
    spec = tmp_path / "net.yaml"
    spec.write_text("inputs: {x: [1.0, 2.0], y: 0.5}\nparams: {w: [[0.1, -0.2]]}\nforward: {yhat: w @ x}\n"
                    "loss: (yhat - y)^2\ntrain: {lr: 0.05, steps: 50}\n")
    path = tmp_path / "loss.png"
    r = invoke("train", str(spec), "--plot", str(path), "--size", "420x260")
    assert r.exit_code == 0, r.output
    assert png_size(path) == (420, 260)
    bad = invoke("train", str(spec), "--plot", str(tmp_path / "loss.txt"))
    assert bad.exit_code == 2 and not (tmp_path / "loss.txt").exists()
