"""Run an expression tree (`gradcli.expr`) through the engine: the tree becomes a graph of Tensors.

Names are looked up in `env` (a Tensor is used as is; a number or nested list becomes an 'input' leaf
named by its key, one leaf per name so every use of x feeds one gradient); numbers and pi/e become
'const' leaves; calls dispatch to `OPS` by the function's name. Every Tensor made for a tree node gets
that node's column, and an op's error is re-raised naming that column (with a caret under it when the
expression text is given).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from gradcli.language import expr as E
from gradcli.errors import BindingError, GradcliError, OverflowValueError, ParseError, _caret
from gradcli.numerics.engine import ops
from gradcli.numerics.engine.ops import OPS
from gradcli.numerics.engine.tensor import Tensor

_BINARY = {"+": ops.add, "-": ops.sub, "*": ops.mul, "/": ops.div, "^": ops.pow, "@": ops.matmul}


def leaf(value, name: str | None = None, *, const: bool = False) -> Tensor:
    """A leaf Tensor ('input', or 'const' if asked) from a number, nested list or array (Tensors pass through).

    Shape convention: a number is 0-d, a flat list (or 1-D array) a column (n, 1), a nested list a matrix.
    """
    if isinstance(value, Tensor):
        return value
    what = f"the value of {name!r}" if name is not None else "the value"
    try:
        data = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise BindingError(f"{what} is not a number or a (nested) list of numbers: {value!r}") from None
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.ndim > 2:
        raise BindingError(f"{what} has {data.ndim} axes; values are scalars, vectors or matrices")
    if data.size == 0:
        raise BindingError(f"{what} is empty")
    if not np.all(np.isfinite(data)):
        raise OverflowValueError(f"{what} is not finite (nan or inf)")
    return Tensor(data, "const" if const else "input", name=name)


def evaluate(node: E.Node, env: Mapping[str, object], text: str | None = None) -> Tensor:
    """The Tensor of `node` with the names bound by `env`; errors name the column of the failing node.

    Iterative post-order walk (children before parents), so trees of any depth are fine.
    """
    leaves: dict[str, Tensor] = {}
    done: dict[int, Tensor] = {}
    stack: list[tuple[E.Node, bool]] = [(node, False)]
    while stack:
        n, children_done = stack.pop()
        if id(n) in done:
            continue
        try:
            if isinstance(n, E.Index):
                raise ParseError("subscripts are only allowed in Jacobian entry claims", text or E.to_text(n), n.col)
            if not children_done:
                stack.append((n, True))
                stack.extend((c, False) for c in reversed(E.children(n)))
                continue
            args = [done[id(c)] for c in E.children(n)]
            done[id(n)] = _build(n, args, env, leaves)
        except GradcliError as err:
            raise _located(err, n, text) from None
    return done[id(node)]


def value_of(node: E.Node, env: Mapping[str, object]) -> np.ndarray:
    """The forward value of `node` (an array; 0-d for scalars)."""
    return evaluate(node, env).data


def _build(n: E.Node, args: list[Tensor], env: Mapping[str, object], leaves: dict[str, Tensor]) -> Tensor:
    """The Tensor of one tree node whose children are already built (`args`)."""
    if isinstance(n, E.Num):
        return Tensor(n.value, "const", name=n.text, col=n.col)
    if isinstance(n, E.Const):
        return Tensor(math.pi if n.name == "pi" else math.e, "const", name=n.name, col=n.col)
    if isinstance(n, E.Name):
        if n.id not in leaves:
            if n.id not in env:
                raise BindingError(f"no value for the variable {n.id!r}")
            leaves[n.id] = leaf(env[n.id], n.id)
            if leaves[n.id].col is None and not isinstance(env[n.id], Tensor):
                leaves[n.id].col = n.col
        return leaves[n.id]
    if isinstance(n, E.Unary):
        return args[0] if n.op == "+" else _stamp(ops.neg(args[0]), n.col, args)
    if isinstance(n, E.Binary):
        return _stamp(_BINARY[n.op](*args), n.col, args)
    if isinstance(n, E.Transpose):
        return _stamp(ops.transpose(args[0]), n.col, args)
    if isinstance(n, E.Call):
        if n.func not in OPS:
            raise GradcliError(f"the engine has no function {n.func!r}")
        return _stamp(OPS[n.func](*args), n.col, args)
    raise GradcliError(f"cannot evaluate a {type(n).__name__} node")


def _stamp(result: Tensor, col: int, args: list[Tensor]) -> Tensor:
    """Give `col` to the result and to every node the op made on the way (log(x, b) makes several)."""
    stop = {id(a) for a in args}
    stack = [result]
    while stack:
        t = stack.pop()
        if id(t) in stop or t.col is not None:
            continue
        t.col = col
        stack.extend(t.parents)
    return result


def _located(err: GradcliError, n: E.Node, text: str | None) -> GradcliError:
    """The same error, now saying where: 'column N' and a caret under the node when the text is known."""
    if err.where is not None or isinstance(err, ParseError):
        return err
    detail = _caret(text, n.col) if text is not None else None
    return type(err)(err.message, where=f"column {n.col + 1}", detail=detail)
