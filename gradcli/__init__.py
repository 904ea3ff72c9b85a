"""gradcli: derive, explain and check gradients three ways (symbolic, backprop, finite differences).

The Python API (`gradcli.api`), loaded lazily (PEP 562): `import gradcli` imports neither NumPy nor SymPy
until a function is called.

    gradcli.derive(expression, at, where)              -> DeriveResult     (gradcli derive)
    gradcli.check(path)                                -> NetCheckResult | BankResult  (gradcli check)
    gradcli.jacobian(expression, wrt, shapes, at)      -> JacobianResult   (gradcli jacobian)
    gradcli.check_problems(path)                       -> BankResult       (problem files)
    gradcli.check_grad(f, grad_f, x)                   -> CheckGradResult  (your own NumPy f and gradient)
    gradcli.train(path), gradcli.descent(...), gradcli.plot(...), gradcli.to_dict(result)

Several of these names are also modules of the package (gradcli/derive.py, jacobian.py, check_grad.py,
train.py, descent.py, plot.py), and importing a submodule binds it as an attribute of the package, which
would hide a function of the same name. So those attributes are data descriptors on the package's
module class: they always give the submodule, made callable — calling `gradcli.derive(...)` calls
`gradcli.api.derive(...)` — while everything else about the module stays as it was
(`from gradcli.derive import DeriveResult`, `from gradcli import train as T; T.TrainResult`).
"""

import importlib
import sys
import types

__version__ = "0.1.0"

_CALLABLE_MODULES = ("check_grad", "derive", "descent", "jacobian", "plot", "train")
_FUNCTIONS = {"check": "gradcli.api", "check_problems": "gradcli.api", "to_dict": "gradcli.api",
              "CheckGradResult": "gradcli.check_grad"}

__all__ = sorted([*_CALLABLE_MODULES, *_FUNCTIONS, "__version__"])


class _CallableModule(types.ModuleType):
    """A submodule that is also an API function: calling it calls gradcli.api.<its name>."""

    def __call__(self, *args, **kwargs):
        api = importlib.import_module(f"{__name__}.api")
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Submodule:
    """Data descriptor for a package attribute that is both a submodule and an API function."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, package, owner=None):
        if package is None:
            return self
        module = importlib.import_module(f"{package.__name__}.{self.name}")
        if type(module) is types.ModuleType:
            module.__class__ = _CallableModule
        return module

    def __set__(self, package, value):  # the import system binding the submodule: keep it, as usual
        package.__dict__[self.name] = value

    def __delete__(self, package):
        package.__dict__.pop(self.name, None)


class _Package(types.ModuleType):
    """gradcli's own module class: it carries the descriptors above."""


for _name in _CALLABLE_MODULES:
    setattr(_Package, _name, _Submodule(_name))
del _name

sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    """PEP 562: the API functions, imported on first use."""
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(_FUNCTIONS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
