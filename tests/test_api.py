"""The Python API: `import gradcli` stays light, the functions return the results the CLI renders (the
same numbers as its JSON), and names that are also submodules stay both callable and modules."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import gradcli
from gradcli.cli import app
from gradcli.errors import BindingError, ParseError

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def cli_json(*args):
    r = runner.invoke(app, [*args, "--json"], env={"NO_COLOR": "1"})
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


def timeless(v):
    """The JSON without wall-clock fields (seconds, timings), which differ between two runs."""
    if isinstance(v, dict):
        return {k: timeless(x) for k, x in v.items() if k not in ("seconds", "timings")}
    if isinstance(v, list):
        return [timeless(x) for x in v]
    return v


def test_import_gradcli_loads_neither_numpy_nor_sympy():
    code = ("import sys, gradcli; heavy = [m for m in ('numpy', 'sympy', 'matplotlib') if m in sys.modules]; "
            "print(heavy, sorted(gradcli.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("[] ")
    for name in ("check", "check_grad", "check_problems", "derive", "jacobian"):
        assert f"'{name}'" in out


def test_derive_returns_what_the_cli_prints():
    r = gradcli.derive("ln(x)+exp(y)*z", at={"x": 1, "y": 3, "z": 2})
    assert type(r).__name__ == "DeriveResult" and r.verdict == "agree"
    assert r.partials["z"].symbolic == pytest.approx(np.exp(3))
    assert gradcli.to_dict(r) == cli_json("derive", "ln(x)+exp(y)*z", "--at", "x=1,y=3,z=2")


def test_derive_with_where_as_a_mapping():
    r = gradcli.derive("c*(a-b)^2", at="c=1,w=2,x=3,y=4,z=5", where={"a": "(w+x+y)^2", "b": "(x-y-z)^2"})
    cli = cli_json("derive", "c*(a-b)^2", "--at", "c=1,w=2,x=3,y=4,z=5", "--where", "a=(w+x+y)^2",
                   "--where", "b=(x-y-z)^2")
    assert gradcli.to_dict(r) == cli


def test_jacobian_returns_what_the_cli_prints():
    r = gradcli.jacobian("X @ W.T", "W", {"X": "3x4", "W": "2x4"})
    assert type(r).__name__ == "JacobianResult"
    assert gradcli.to_dict(r) == cli_json("jacobian", "X @ W.T", "--wrt", "W", "--shape", "X=3x4", "--shape", "W=2x4")


def test_check_of_a_network_spec_returns_what_the_cli_prints():
    path = EXAMPLES / "sheet003_one_hidden_layer.yaml"
    r = gradcli.check(path)
    assert type(r).__name__ == "NetCheckResult"
    assert timeless(gradcli.to_dict(r)) == timeless(cli_json("check", str(path)))


@pytest.fixture
def problem(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "title: API check\nfunction: ln(x)+exp(y)*z\nclaims:\n"
        "  - id: df/dx\n    derivative: {wrt: x}\n    claim: 1/x\n"
        "  - id: df/dy wrong\n    derivative: {wrt: y}\n    claim: exp(y)\n    expect: wrong\n"
        "  - id: f(1,3,2)\n    value: {at: {x: 1, y: 3, z: 2}}\n    claim: 40.171\n")
    return path


def test_check_problems_returns_what_the_cli_prints(problem):
    r = gradcli.check_problems(problem)
    assert type(r).__name__ == "BankResult" and r.ok
    data = gradcli.to_dict(r)
    assert [c["verdict"] for c in data["files"][0]["claims"]] == ["correct", "wrong", "correct"]
    assert timeless(data) == timeless(cli_json("check", str(problem)))
    assert timeless(gradcli.to_dict(gradcli.check(problem))) == timeless(data)


def test_descent_and_plot_return_what_the_cli_prints():
    d = gradcli.descent("0.5*(a*w1^2 + b*w2^2)", {"w1": 1, "w2": -1}, {"a": 10, "b": 1}, lr=0.19, steps=200)
    cli = cli_json("descent", "0.5*(a*w1^2 + b*w2^2)", "--start", "w1=1,w2=-1", "--at", "a=10,b=1", "--lr", "0.19",
                   "--steps", "200")
    assert gradcli.to_dict(d) == cli and cli["actual_steps"] == 197
    p = gradcli.plot("relu(x)", (-2, 2), derivative=True, points=41)
    assert gradcli.to_dict(p) == cli_json("plot", "relu(x)", "--range=-2:2", "--derivative", "--points", "41")


def test_train_returns_what_the_cli_prints():
    path = EXAMPLES / "sheet003_one_hidden_layer.yaml"
    if "train:" not in path.read_text():
        path = EXAMPLES / "sheet001_xor_random_init.yaml"
    r = gradcli.train(path)
    assert gradcli.to_dict(r) == cli_json("train", str(path))


def test_check_grad_is_exported():
    r = gradcli.check_grad(lambda x: float(np.sum(x ** 3)), lambda x: 3 * x ** 2, np.array([1.0, -2.0]))
    assert r.ok and isinstance(r, gradcli.CheckGradResult)
    assert gradcli.to_dict(r)["verdict"] == "agree"


def test_bad_input_raises_the_gradcli_error_the_cli_reports():
    with pytest.raises(ParseError):
        gradcli.derive("x +", at={"x": 1})
    with pytest.raises(BindingError):
        gradcli.derive("x*y", at={"x": 1})


def test_api_names_are_plain_functions_with_their_signatures():
    """help(gradcli.check_grad) shows its parameters, not (*args, **kwargs); importing the modules
    behind the functions does not replace them."""
    import inspect

    import gradcli.checks.derive  # noqa: F401
    import gradcli.training.train  # noqa: F401

    for name in ("derive", "check", "jacobian", "check_problems", "check_grad", "train", "descent", "plot",
                 "to_dict"):
        fn = getattr(gradcli, name)
        assert inspect.isfunction(fn), name
        params = inspect.signature(fn).parameters
        assert not any(p.kind in (p.VAR_KEYWORD,) for p in params.values()), name
        assert fn.__doc__ and fn.__doc__.strip(), name
    assert list(inspect.signature(gradcli.check_grad).parameters)[:3] == ["f", "grad_f", "x"]
    assert list(inspect.signature(gradcli.derive).parameters)[:3] == ["expression", "at", "where"]
    assert module_result_type() is type(gradcli.derive("x^2", at="x=3"))


def module_result_type():
    from gradcli.checks.derive import DeriveResult

    return DeriveResult


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        gradcli.no_such_thing  # noqa: B018
