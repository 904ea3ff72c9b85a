"""gradcli: derive, explain and check gradients three ways (symbolic, backprop, finite differences).

The Python API lives in `gradcli.api` and is loaded lazily (PEP 562): `import gradcli` imports neither
NumPy nor SymPy until a function is called.

    gradcli.derive(expression, at, where)              -> DeriveResult     (gradcli derive)
    gradcli.check(path)                                -> NetCheckResult | BankResult  (gradcli check)
    gradcli.jacobian(expression, wrt, shapes, at)      -> JacobianResult   (gradcli jacobian)
    gradcli.check_problems(path)                       -> BankResult       (problem files)
    gradcli.check_grad(f, grad_f, x)                   -> CheckGradResult  (your own NumPy f and gradient)
    gradcli.train(path), gradcli.descent(...), gradcli.plot(...), gradcli.to_dict(result)

The package's folders are its layers (lowest first): `language` (the function table, the parser),
`numerics` and `symbolic` (two of the three columns; neither imports the other), `io` (YAML files and
their models), `training`, `checks`, `render`, `cli`.
"""

import importlib

__version__ = "0.1.0"

_API = ("check", "check_grad", "check_problems", "derive", "descent", "jacobian", "plot", "to_dict",
        "train")
_ELSEWHERE = {"CheckGradResult": "gradcli.checks.check_grad"}

__all__ = sorted([*_API, *_ELSEWHERE, "__version__"])


def __getattr__(name: str):
    """PEP 562: the API functions, imported on first use."""
    if name in _API or name in _ELSEWHERE:
        value = getattr(importlib.import_module(_ELSEWHERE.get(name, "gradcli.api")), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
