"""A network spec's forward pass on many perturbed copies at once (the numeric column's evaluator): the
copies x ± s·e_i of one parameter's entries share everything that does not depend on that parameter, and
a one-hot perturbation stays sparse (OneHot, SliceDelta) through the ops where it can. Shapes follow
`gradcli.numerics.forward` with two leading axes (copies, examples).
"""


from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gradcli.errors import GradcliError, ShapeError
from gradcli.language import expr as E
from gradcli.numerics.examples import (
    loss_shape_error,
    reduce_weight,
    relocated,
    spec_value,
)
from gradcli.numerics.forward import broadcast_pair, scalar_like, shape_text

# ============================================================================================ numeric


@dataclass
class OneHot:
    """C copies of an array that differ from `base` in one entry each: copy c has base.flat[idx[c]] = new[c]."""

    base: np.ndarray  # the point (unbatched)
    idx: np.ndarray  # (C,) flat indices
    new: np.ndarray  # (C,) the entries' perturbed values
    products: dict | None = None  # memo of base @ B and A @ base for unperturbed B, A (the same every call)

    def product(self, other: np.ndarray, left: bool) -> np.ndarray:
        """base @ other (left) or other @ base, remembered across calls for the same other."""
        key = (id(other), left)
        if self.products is not None and key in self.products and self.products[key][0] is other:
            return self.products[key][1]
        base = self.base.reshape((1, 1) + self.base.shape)
        out = _dense_matmul(base, other) if left else _dense_matmul(other, base)
        if self.products is not None:
            self.products[key] = (other, out)
        return out

    @property
    def copies(self) -> int:
        return int(self.idx.size)

    def old(self) -> np.ndarray:
        return self.base.reshape(-1)[self.idx]

    def dense(self) -> np.ndarray:
        """The copies as an array (C, 1, *shape) (the example axis of size 1)."""
        c = self.copies
        out = np.broadcast_to(self.base.reshape(-1), (c, self.base.size)).copy()
        out[np.arange(c), self.idx] = self.new
        return out.reshape((c, 1) + self.base.shape)


@dataclass
class SliceDelta:
    """C copies of a value (1, e, m, p) that differ from `base` in one row (axis -2) or column (axis -1) each.

    Copy c has row pos[c] (or column pos[c]) replaced by new[c] (shape (e, p), or (e, m) for a column). A
    product W @ A with one entry of W perturbed changes one row of the result: element-wise functions
    and products with unperturbed values keep that form, so a copy costs a row, not the whole value.
    """

    base: np.ndarray  # (1, e, m, p)
    axis: int  # -2 (rows) or -1 (columns)
    pos: np.ndarray  # (C,)
    new: np.ndarray  # (C, e, p) for rows, (C, e, m) for columns

    @property
    def copies(self) -> int:
        return int(self.pos.size)

    def old(self) -> np.ndarray:
        """The replaced slices of the base, broadcast like `new`: (C, e, len)."""
        b = self.base[0]
        sliced = b[:, self.pos, :] if self.axis == -2 else b[:, :, self.pos]  # (e, C, p) or (e, m, C)
        return np.moveaxis(sliced, 1 if self.axis == -2 else 2, 0)

    def dense(self) -> np.ndarray:
        c = self.copies
        e = max(self.base.shape[1], self.new.shape[1])
        out = np.broadcast_to(self.base, (c, e) + self.base.shape[2:]).copy()
        if self.axis == -2:
            out[np.arange(c), :, self.pos, :] = self.new
        else:
            out[np.arange(c), :, :, self.pos] = self.new
        return out

    def with_values(self, base: np.ndarray, new: np.ndarray) -> "SliceDelta":
        return SliceDelta(base, self.axis, self.pos, new)

    def slice_of(self, other: np.ndarray) -> np.ndarray:
        """The same slices of a shared (1, e', m, p) or scalar-like (1, e', 1, 1) value: (C, e', len)."""
        if other.shape[2:] == (1, 1):
            return other[0, :, 0, :][None] if self.axis == -2 else other[0, :, :, 0][None]
        return SliceDelta(other, self.axis, self.pos, self.new).old()


class NetForward:
    """The loss L as a batched NumPy function of one wrt name: the numeric column's f (no engine, no SymPy).

    Values carry two leading axes, (copies, examples), each of size 1 when the value does not vary along
    it; the per-example shape follows the network-spec format (`gradcli.forward`'s NumPy forms do the tensor functions).
    `dense(X)` takes X of shape (B, *shape) and returns the B losses; `chunk(start, stop)` gives the
    function of entries start..stop-1 (flat) that `finite_diff.gradient` differentiates, exploiting that
    its copies differ from the point in one entry (OneHot); anything else is evaluated densely.
    Everything that does not depend on the wrt name is computed once and cached.
    """

    def __init__(self, spec, wrt: str):
        self.spec = spec
        self.wrt = wrt
        self.point = np.asarray(spec_value(spec, wrt), dtype=np.float64)
        self.weight = reduce_weight(spec)
        env: dict[str, Any] = {}
        for name, v in {**spec.inputs, **spec.params}.items():
            a = np.asarray(v, dtype=np.float64)
            env[name] = a.reshape((1, 1) + a.shape)
        if spec.data is not None:
            for name, rows in (("x", spec.data.x), ("y", spec.data.y)):
                env[name] = np.stack([np.asarray(r, dtype=np.float64) for r in rows])[None]
        self.env = env
        self.definitions = [(d.name, d.node, d.where) for d in spec.forward] + \
            [("loss", spec.loss.node, spec.loss.where)]
        names = {wrt}
        for name, node, _ in self.definitions:
            if any(isinstance(n, E.Name) and n.id in names for n in E.walk(node)):
                names.add(name)
        self.dependent_names = names
        self._dependent: dict[int, bool] = {}
        for _, node, _ in self.definitions:
            self._mark(node)
        self._cache: dict[int, Any] = {}
        self._defs_cache: dict[str, Any] = {}
        self._products: dict = {}
        self.calls = 0

    # -- public
    def dense(self, X: np.ndarray) -> np.ndarray:
        """L at each of the B points X[b] (shape (B, *shape)) for the wrt name: shape (B,)."""
        X = np.asarray(X, dtype=np.float64)
        return self._losses(X.reshape((X.shape[0], 1) + self.point.shape), X.shape[0])

    def chunk(self, start: int, stop: int) -> Callable[[np.ndarray], np.ndarray]:
        """g(T), T of shape (B, stop-start): L with entries start..stop-1 of the wrt name set to T's rows."""
        flat = self.point.reshape(-1)
        sub = flat[start:stop]

        def g(T: np.ndarray) -> np.ndarray:
            T = np.asarray(T, dtype=np.float64).reshape(-1, sub.size)
            changed = T != sub
            counts = changed.sum(axis=1)
            b = T.shape[0]
            if np.all(counts <= 1):
                j = np.argmax(changed, axis=1)
                return self._losses(OneHot(self.point, start + j, T[np.arange(b), j], self._products), b)
            X = np.broadcast_to(flat, (b, flat.size)).copy()
            X[:, start:stop] = T
            return self.dense(X.reshape((b,) + self.point.shape))

        return g

    def max_live_entries(self) -> int:
        """Per-example entries of the biggest value that changes with the wrt name (sizes the chunks)."""
        return self._max_entries

    # -- evaluation
    def _losses(self, value, copies: int) -> np.ndarray:
        self.calls += 1
        env = dict(self.env)
        env[self.wrt] = value
        with np.errstate(all="ignore"), E.deep_recursion():
            for name, node, where in self.definitions:
                if name not in self.dependent_names:
                    if name not in self._defs_cache:
                        self._defs_cache[name] = self._eval(node, env, where)
                    env[name] = self._defs_cache[name]
                else:
                    env[name] = self._eval(node, env, where)
        loss = env["loss"]
        if isinstance(loss, (OneHot, SliceDelta)):
            loss = loss.dense()
        shape = loss.shape[2:]
        if not (shape == () or shape == (1, 1)):
            raise loss_shape_error(self.spec, shape)
        per_example = loss.reshape(loss.shape[:2])
        total = self.weight * per_example.sum(axis=1)
        return np.broadcast_to(total, (copies,)).copy()

    def _mark(self, node) -> bool:
        """Whether the subtree depends on the wrt name (memoised by node identity)."""
        key = id(node)
        if key not in self._dependent:
            if isinstance(node, E.Name):
                self._dependent[key] = node.id in self.dependent_names
            else:
                kids = [self._mark(k) for k in E.children(node)]
                self._dependent[key] = any(kids)
        return self._dependent[key]

    def _eval(self, node, env: dict, where: str):
        if not self._dependent.get(id(node), True):
            key = id(node)
            if key not in self._cache:
                self._cache[key] = self._apply(node, env, where)
            return self._cache[key]
        return self._apply(node, env, where)

    def _apply(self, node, env: dict, where: str):
        try:
            if isinstance(node, E.Num):
                return np.full((1, 1), node.value)
            if isinstance(node, E.Const):
                return np.full((1, 1), math.pi if node.name == "pi" else math.e)
            if isinstance(node, E.Name):
                return env[node.id]
            args = [self._eval(k, env, where) for k in E.children(node)]
            if isinstance(node, E.Unary):
                return _neg(args[0]) if node.op == "-" else args[0]
            if isinstance(node, E.Transpose):
                return _transpose(args[0])
            if isinstance(node, E.Binary):
                return _matmul(*args) if node.op == "@" else _binary(node.op, *args)
            if isinstance(node, E.Call):
                return _call(node.func, args)
        except ShapeError as err:
            raise relocated(type(err)(err.message, where=f"column {node.col + 1}"), where) from None
        raise GradcliError(f"cannot evaluate a {type(node).__name__} node", where=where)

    @property
    def _max_entries(self) -> int:
        if not hasattr(self, "_max_cache"):
            env = dict(self.env)
            env[self.wrt] = self.point.reshape((1, 1) + self.point.shape)
            biggest = 1
            with np.errstate(all="ignore"), E.deep_recursion():
                for name, node, where in self.definitions:
                    for n in E.walk(node):
                        if self._dependent.get(id(n)) and not isinstance(n, E.Name):
                            v = self._apply(n, env, where)
                            if not isinstance(v, OneHot):
                                biggest = max(biggest, int(np.prod(v.shape[2:], dtype=np.int64)) * v.shape[1])
                    env[name] = self._apply(node, env, where)
            if not _wrt_only_in_products(self.definitions, self.wrt):
                biggest = max(biggest, self.point.size)
            self._max_cache = biggest
        return self._max_cache


def _wrt_only_in_products(definitions, wrt: str) -> bool:
    """Whether every use of `wrt` is an operand of @ (maybe through .T), where a OneHot stays cheap."""
    for _, node, _ in definitions:
        for n in E.walk(node):
            for k in E.children(n):
                if isinstance(k, E.Name) and k.id == wrt:
                    if isinstance(n, E.Transpose) or (isinstance(n, E.Binary) and n.op == "@"):
                        continue
                    return False
    return True


def _ps(a: np.ndarray) -> tuple[int, ...]:
    """The per-example shape (after the copies and examples axes)."""
    return a.shape[2:]


_ELEMENTWISE = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}


def _shared(a) -> bool:
    return isinstance(a, np.ndarray) and a.shape[:2] == (1, 1)


def _binary(op: str, a, b):
    fn = _ELEMENTWISE[op]
    if isinstance(a, SliceDelta) or isinstance(b, SliceDelta):
        hot, other, hot_left = (a, b, True) if isinstance(a, SliceDelta) else (b, a, False)
        if isinstance(other, np.ndarray) and other.shape[0] == 1 and \
                (_ps(other) == _ps(hot.base) or _ps(other) == (1, 1)):
            part = hot.slice_of(other)
            if hot_left:
                return hot.with_values(fn(hot.base, other), fn(hot.new, part))
            return hot.with_values(fn(other, hot.base), fn(part, hot.new))
        a = a.dense() if isinstance(a, (SliceDelta, OneHot)) else a
        b = b.dense() if isinstance(b, (SliceDelta, OneHot)) else b
    if isinstance(a, OneHot) and isinstance(b, OneHot):
        if a.idx is b.idx and a.base.shape == b.base.shape:
            return OneHot(fn(a.base, b.base), a.idx, fn(a.new, b.new))
        return _binary(op, a.dense(), b.dense())
    if isinstance(a, OneHot) or isinstance(b, OneHot):
        hot, other, hot_left = (a, b, True) if isinstance(a, OneHot) else (b, a, False)
        so = _ps(other)
        if _shared(other) and (so == hot.base.shape or (scalar_like(so) and len(hot.base.shape) >= len(so))):
            o = other[0, 0]
            if so == hot.base.shape:
                at = o.reshape(-1)[hot.idx]
            else:
                o = o.reshape(())
                at = o
            if hot_left:
                return OneHot(fn(hot.base, o), hot.idx, fn(hot.new, at))
            return OneHot(fn(o, hot.base), hot.idx, fn(at, hot.new))
        a = a.dense() if isinstance(a, OneHot) else a
        b = b.dense() if isinstance(b, OneHot) else b
    a, b = broadcast_pair(a, b, f"'{op}'", batch_axes=2)
    return fn(a, b)


def _neg(a):
    if isinstance(a, SliceDelta):
        return a.with_values(-a.base, -a.new)
    if isinstance(a, OneHot):
        return OneHot(-a.base, a.idx, -a.new)
    return -a


def _transpose(a):
    if isinstance(a, SliceDelta):
        return SliceDelta(np.swapaxes(a.base, -1, -2), -1 if a.axis == -2 else -2, a.pos, a.new)
    if isinstance(a, OneHot):
        if a.base.ndim == 0:
            return a
        m, n = a.base.shape
        i, j = np.divmod(a.idx, n)
        return OneHot(a.base.T.copy(), j * m + i, a.new)
    s = _ps(a)
    if len(s) == 0:
        return a
    if len(s) != 2:
        raise ShapeError(f"transpose needs a scalar or a 2-D tensor; got {shape_text(s)}")
    return np.swapaxes(a, -1, -2)


def _check_matmul(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    if len(sa) != 2 or len(sb) != 2:
        raise ShapeError(f"'@' needs two 2-D operands (use * to scale by a scalar); got {shape_text(sa)} @ "
                         f"{shape_text(sb)}")
    if sa[1] != sb[0]:
        raise ShapeError(f"'@' needs the inner sizes to match; got {shape_text(sa)} @ {shape_text(sb)}")


def _matmul(a, b):
    """A @ B per copy and example. A OneHot operand costs one shared product plus one scaled row/column per copy."""
    if isinstance(a, OneHot) and a.base.ndim == 2 and isinstance(b, np.ndarray) and b.shape[0] == 1:
        _check_matmul(a.base.shape, _ps(b))
        shared = a.product(b, left=True)
        i, j = np.divmod(a.idx, a.base.shape[1])
        delta = a.new - a.old()
        rows = np.moveaxis(b[0][:, j, :], 1, 0)  # (C, e, p): row j of B for each copy
        row_i = np.moveaxis(shared[0][:, i, :], 1, 0)  # (C, e, p): row i of the product
        return SliceDelta(shared, -2, i, row_i + delta[:, None, None] * rows)
    if isinstance(b, OneHot) and b.base.ndim == 2 and isinstance(a, np.ndarray) and a.shape[0] == 1:
        _check_matmul(_ps(a), b.base.shape)
        shared = b.product(a, left=False)
        i, j = np.divmod(b.idx, b.base.shape[1])
        delta = b.new - b.old()
        cols = np.moveaxis(a[0][:, :, i], 2, 0)  # (C, e, m): column i of A for each copy
        col_j = np.moveaxis(shared[0][:, :, j], 2, 0)  # (C, e, m): column j of the product
        return SliceDelta(shared, -1, j, col_j + delta[:, None, None] * cols)
    if isinstance(a, np.ndarray) and a.shape[0] == 1 and isinstance(b, SliceDelta) and b.axis == -2:
        _check_matmul(_ps(a), _ps(b.base))
        shared = _dense_matmul(a, b.base)  # (1, e, m2, p)
        col = np.moveaxis(a[0][:, :, b.pos], 2, 0)  # (C, eA, m2): the column of A that meets the changed row
        delta = b.new - b.old()  # (C, e, p)
        return shared + col[:, :, :, None] * delta[:, :, None, :]
    if isinstance(a, SliceDelta) and a.axis == -2 and isinstance(b, np.ndarray) and b.shape[0] == 1:
        _check_matmul(_ps(a.base), _ps(b))
        shared = _dense_matmul(a.base, b)
        new = np.einsum("cep,epq->ceq", a.new, np.broadcast_to(b[0], (a.new.shape[1],) + b.shape[2:])) \
            if b.shape[1] == a.new.shape[1] or b.shape[1] == 1 else None
        if new is not None:
            return SliceDelta(shared, -2, a.pos, new)
    a = a.dense() if isinstance(a, (OneHot, SliceDelta)) else a
    b = b.dense() if isinstance(b, (OneHot, SliceDelta)) else b
    _check_matmul(_ps(a), _ps(b))
    return _dense_matmul(a, b)


def _dense_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched A @ B; a shared operand makes it one big matrix product (BLAS) instead of many small ones."""
    if a.shape[:2] == (1, 1):
        out = np.tensordot(b, a[0, 0], axes=([2], [1]))  # (c, e, p, m)
        return np.swapaxes(out, -1, -2)
    if b.shape[:2] == (1, 1):
        m, n = a.shape[2:]
        return (a.reshape(-1, n) @ b[0, 0]).reshape(a.shape[:2] + (m, b.shape[3]))
    return np.matmul(a, b)


def _merged(fn: Callable, args: list[np.ndarray]) -> np.ndarray:
    """A `gradcli.forward` NumPy form (one batch axis) applied over our two leading axes."""
    lead = np.broadcast_shapes(*(a.shape[:2] for a in args))
    flat = [np.broadcast_to(a, lead + a.shape[2:]).reshape((lead[0] * lead[1],) + a.shape[2:]) for a in args]
    out = fn(*flat)
    return out.reshape(lead + out.shape[1:])


def _call(func: str, args: list):
    from gradcli.language.functions import BY_NAME, ELEMENTWISE
    from gradcli.numerics import forward

    if BY_NAME[func].kind == ELEMENTWISE and len(args) == 1:
        fn = forward.NUMPY[func]
        a = args[0]
        if isinstance(a, OneHot):
            return OneHot(fn(a.base), a.idx, fn(a.new))
        if isinstance(a, SliceDelta):
            return a.with_values(fn(a.base), fn(a.new))
        return fn(a)
    if func == "log":
        return _binary("/", _call("ln", [args[0]]), _call("ln", [args[1]]))
    if func in ("sum", "mean") and isinstance(args[0], OneHot):
        a = args[0]
        total = a.base.sum() + (a.new - a.old())
        if func == "mean":
            total = total / a.base.size
        return total.reshape(-1, 1)
    if func in ("sum", "mean") and isinstance(args[0], SliceDelta):
        a = args[0]
        total = a.base.reshape(a.base.shape[:2] + (-1,)).sum(axis=2) + (a.new - a.old()).sum(axis=2)  # (C, e)
        if func == "mean":
            total = total / (a.base.shape[2] * a.base.shape[3])
        return total
    dense = [a.dense() if isinstance(a, (OneHot, SliceDelta)) else a for a in args]
    return _merged(forward.NUMPY[func], dense)
