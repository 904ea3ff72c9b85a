"""The `derive` command as users run it: exit codes, one JSON object, stderr messages, no tracebacks."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gradcli.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def test_derive_json_is_one_object_with_spec_keys():
    r = invoke("derive", "ln(x)+exp(y)*z", "--at", "1,3,2", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) >= {"expression", "at", "value", "gradient", "graph", "verdict"}
    assert data["at"] == {"x": 1.0, "y": 3.0, "z": 2.0}
    assert data["verdict"] == "agree"
    g = data["gradient"]["x"]
    assert set(g) >= {"formula", "symbolic", "backprop", "numeric", "rel_error", "verdict"}
    assert g["formula"] == "1/x" and g["symbolic"] == 1.0
    assert data["graph"][0] == {**data["graph"][0], "node": "h1", "op": "ln", "inputs": ["x"], "value": 0.0,
                                "upstream": 1.0}


def test_format_json_equals_json_flag():
    a = invoke("derive", "x*y", "--at", "x=2,y=3", "--json")
    b = invoke("derive", "x*y", "--at", "x=2,y=3", "--format", "json")
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_table_output_names_binding_and_values():
    r = invoke("derive", "ln(x)+exp(y)*z", "--at", "1,3,2")
    assert r.exit_code == 0
    out = r.stdout
    assert "alphabetical order: x=1, y=3, z=2" in out
    assert "h3" in out and "h2 * z" in out and "40.1710738" in out
    assert "verdict: agree" in out
    assert "\x1b[" not in out  # NO_COLOR: no escape codes


def test_where_json_has_chain_rule():
    r = invoke("derive", "c*(a-b)^2", "--where", "a=(w+x+y)^2", "--where", "b=(x-y-z)^2",
               "--at", "c=1,w=2,x=3,y=4,z=5", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    chain = {c["wrt"]: c for c in data["chain_rule"]}
    assert [t["via"] for t in chain["x"]["terms"]] == ["a", "b"]
    assert chain["x"]["total"] == pytest.approx(2700.0)
    assert chain["x"]["chain_formula"] == "4*c*(a - b)*(w + 2*y + z)"


def test_user_text_is_not_rich_markup():
    r = invoke("derive", "x*y", "--at", "x=[bold]1,y=2")
    assert r.exit_code == 2


def test_disagreement_exits_1(monkeypatch):
    import gradcli.numerics.engine.ops as ops

    real = ops.OPS["sin"]

    def broken_sin(x):
        out = real(x)
        vjp = out.vjp
        out.vjp = lambda g: tuple(2 * v for v in vjp(g))
        return out

    monkeypatch.setitem(ops.OPS, "sin", broken_sin)
    r = invoke("derive", "sin(x)", "--at", "0.3", "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 1, r.output
    assert data["verdict"] == "disagree"
    assert data["gradient"]["x"]["odd_one_out"] == "backprop"


BAD = [
    (["derive", "ln(x)", "--at", "0"], "ln"),
    (["derive", "sqrt(x)", "--at", "-1"], "sqrt"),
    (["derive", "1/x", "--at", "0"], "division"),
    (["derive", "exp(x)", "--at", "1000"], "overflow"),
    (["derive", "x", "--at", "nan"], "finite"),
    (["derive", "x^y^z^w", "--at", "1e10,1e10,1e10,1e10"], "overflow"),
    (["derive", "2^2^2^2^2^2*x", "--at", "1"], "exponent"),
    (["derive", "(" * 5000 + "x" + ")" * 5000, "--at", "1"], "nest"),
    (["derive", "", "--at", "1"], "empty"),
    (["derive", "__import__('os').system('echo pwned')", "--at", "1"], "strings"),
    (["derive", "__import__", "--at", "1"], "'__'"),
    (["derive", "x.__class__", "--at", "1"], "only .T"),
    (["derive", "sigmod(x)", "--at", "1"], "did you mean sigmoid(x)?"),
    (["derive", "c(a-b)", "--at", "1,2,3"], "did you mean c*(a-b)?"),
    (["derive", "x+y", "--at", "1"], "2 variables"),
    (["derive", "x"], "values are needed"),
    (["derive", "x", "--at", "1", "--where", "a=a+1"], "cycle"),
    (["derive", "x", "--at", "1", "--bogus"], "No such option"),
]


@pytest.mark.parametrize("args, fragment", BAD)
def test_bad_input_exits_2_with_one_message_and_no_traceback(args, fragment):
    proc = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stdout == ""
    assert proc.stderr.startswith("gradcli: ")


@pytest.mark.parametrize("args, fragment", BAD[:4] + BAD[-2:])
def test_bad_input_under_json_is_one_error_object(args, fragment):
    proc = subprocess.run([sys.executable, "-m", "gradcli", *args, "--json"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert set(data) == {"error"} and fragment in data["error"]["message"] + (data["error"]["where"] or "")
    assert proc.stderr.startswith("gradcli: ")


def test_help_does_not_import_sympy_or_numpy():
    code = ("import sys; sys.argv=['gradcli','--help']\n"
            "from gradcli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('SYMPY' if 'sympy' in sys.modules else '', 'NUMPY' if 'numpy' in sys.modules else '')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "derive" in proc.stdout
    assert "SYMPY" not in proc.stdout and "NUMPY" not in proc.stdout


def test_help_states_threshold_and_limits():
    r = invoke("--help")
    assert "1e-300" in r.stdout and "1e-6" in r.stdout and "nesting depth" in r.stdout
    r = invoke("derive", "--help")
    assert "Example:" in r.stdout and "1e-300" in r.stdout


def test_piped_output_has_no_colour_even_without_no_color():
    proc = subprocess.run([sys.executable, "-m", "gradcli", "derive", "x^2", "--at", "3"], capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    assert proc.returncode == 0 and "\x1b[" not in proc.stdout and "verdict: agree" in proc.stdout
