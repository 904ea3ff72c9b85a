"""A problem as SymPy formulas: its intermediates (where: / a net's forward: and loss), output and
variables, with entry symbols for tensors ('W[1,0]'); and the SymPy helpers the claim kinds share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import sympy

from gradcli.checks.claims.outcome import with_where
from gradcli.errors import GradcliError, SpecError
from gradcli.io.models import NetSpec, ProblemFile
from gradcli.language import definitions as D
from gradcli.language.expr import Node, free_names
from gradcli.symbolic import convert as SC
@dataclass
class Definition:
    node: Node
    text: str
    where: str


class Model:
    """The problem as formulas: intermediates (where: / a net's forward: and loss), the output, the variables.

    For a net, the variables are its inputs, params and (with `data:`) the per-example x and y; their
    shapes come from the values. For a function, variables are scalars unless `shapes:` says otherwise;
    `constants:` are substituted by their (exact decimal) values.
    """

    def __init__(self, problem: ProblemFile):
        self.problem = problem
        self.net: NetSpec | None = problem.net
        self.defs: dict[str, Definition] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.constants = dict(problem.constants)
        self.point: dict[str, np.ndarray] | None = None
        net = self.net
        if net is not None:
            values = {**net.inputs, **net.params}
            if net.data is not None:
                values["x"], values["y"] = net.data.x[0], net.data.y[0]
            self.point = values
            self.shapes = {name: tuple(np.shape(v)) for name, v in values.items()}
            for d in net.forward:
                self.defs[d.name] = Definition(d.node, d.text, d.where)
            self.defs["loss"] = Definition(net.loss.node, net.loss.text, net.loss.where)
            self.output: Node | None = net.loss.node
            self.output_label = "the loss"
        else:
            self.output = problem.function.node if problem.function is not None else None
            self.output_label = "the function"
        for name, d in problem.where.items():
            self.defs[name] = Definition(d.node, d.text, d.where)
        for name, shape in problem.shapes.items():
            self.shapes.setdefault(name, tuple(shape))
        self.order = D.order({n: d.node for n, d in self.defs.items()}, where=problem.path)
        self._cache: dict[tuple, dict] = {}

    # -- names
    def variables(self, *nodes: Node | None) -> list[str]:
        """The free names of the output, every definition and `nodes` that are not defined or constant."""
        names: set[str] = set()
        for node in (self.output, *(d.node for d in self.defs.values()), *nodes):
            if node is not None:
                names |= set(free_names(node))
        if self.net is not None:
            names |= set(self.shapes)
        return sorted(names - set(self.defs) - set(self.constants))

    def shape(self, name: str) -> tuple[int, ...]:
        return self.shapes.get(name, ())

    # -- symbolic environments
    def env(self, variables: Sequence[str], fresh: str | None = None,
            extra: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Any, Any]:
        """{name: SymPy value} for variables (symbols), constants (exact values) and every definition.

        With `fresh` (an intermediate), its value is replaced by fresh symbols and everything after it is
        recomputed from them; returns (env, fresh symbols, fresh's own value)."""
        key = (tuple(variables), fresh, tuple(sorted((extra or {}).items(), key=lambda kv: kv[0])))
        if key in self._cache:
            return self._cache[key]
        env: dict[str, Any] = {name: SC.entry_symbols(name, self.shape(name)) for name in variables}
        for name, value in self.constants.items():
            env.setdefault(name, exact(value))
        env.update(extra or {})
        fresh_symbols = fresh_value = None
        for name in self.order:
            value = self.build(name, env)
            if name == fresh:
                fresh_value = value
                value = fresh_symbols = stand_in(name, value)
            env[name] = value
        result = (env, fresh_symbols, fresh_value)
        self._cache[key] = result
        return result

    def build(self, name: str, env: Mapping[str, Any]) -> Any:
        """The SymPy value of the intermediate `name` in `env` (a SpecError at its line if it cannot be built)."""
        d = self.defs[name]
        missing = [n for n in free_names(d.node) if n not in env]
        if missing:
            raise SpecError(f"{name} uses {', '.join(map(repr, missing))}, which has no value or shape here",
                            where=d.where)
        try:
            return SC.to_sympy(d.node, env)
        except GradcliError as err:
            raise SpecError(with_where(err), where=d.where, detail=err.detail) from None

    def flat_point(self, values: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Values by entry symbol name ('W0[1,0]', 'x[2]', 'c')."""
        out = {}
        for name, value in values.items():
            arr = np.asarray(value, dtype=float)
            syms = SC.flat_symbols(SC.entry_symbols(name, arr.shape)) if arr.ndim else [SC.symbol(name)]
            for s, v in zip(syms, arr.reshape(-1)):
                out[str(s)] = float(v)
        return out


def exact(value: np.ndarray) -> Any:
    """A constant as an exact SymPy value: 0.19 -> 19/100 (matrices entry by entry)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return sympy.Rational(repr(float(arr)))
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return sympy.ImmutableMatrix(arr.shape[0], arr.shape[1], [sympy.Rational(repr(float(v))) for v in arr.reshape(-1)])


def stand_in(name: str, value: Any) -> Any:
    """Fresh symbols standing for an intermediate: a scalar (also for 1x1) or entry symbols of its shape."""
    value = SC.as_scalar(value)
    return SC.entry_symbols(name, SC.shape_of(value)) if isinstance(value, sympy.MatrixBase) else SC.symbol(name)


def symbols_of(*values: Any) -> list:
    """The free symbols of SymPy values, sorted by name (the argument order of compiled formulas)."""
    syms: set = set()
    for v in values:
        if isinstance(v, (sympy.Basic, sympy.MatrixBase)):
            syms |= v.free_symbols
    return sorted(syms, key=str)


def substitute(value: Any, fresh: Any, original: Any) -> Any:
    """Replace fresh symbols by the values they stand for (entry by entry for tensors)."""
    if isinstance(fresh, sympy.MatrixBase):
        original = SC.as_scalar(original)
        mapping = dict(zip(list(fresh), list(original) if isinstance(original, sympy.MatrixBase) else [original]))
    else:
        mapping = {fresh: SC.as_scalar(original)}
    if isinstance(value, sympy.MatrixBase):
        return value.applyfunc(lambda e: e.xreplace(mapping))
    return value.xreplace(mapping) if isinstance(value, sympy.Basic) else value

