"""The backward pass of a network spec written the way the sheets write it, derived from its `forward:`.

Walk the definitions in reverse (the loss first) and push each one's upstream gradient G = ∂L/∂name
through its expression tree, one rule per op (vector-Jacobian products in the spec's own language):

    L = ‖e‖²            ∂L/∂e = 2·e                   (norm(v)^2 is read as v·v)
    y = A @ B           ∂L/∂A = G @ B.T,  ∂L/∂B = A.T @ G
    y = f(Z)            ∂L/∂Z = G * f'(Z)             (σ' = u*(1 - u), tanh' = 1 - u^2, relu' = u/Z, ...)
    y = a + b, a - b    G (summed with sum(G) onto a scalar operand), -G
    y = a * b, a / b    G * b and G * a;  G / b and -G*a/b^2
    y = sum(v), mean(v) G * ones(n), G/n * ones(n);  softmax: s * (G - dot(G, s));  logsumexp: G * softmax(v)

A name used in several places gets the sum of its contributions. Each equation carries a `formula` over
the forward names and the upstream gradients `dL_d<name>`, and its `expanded` form with those
substituted (`2*(yhat - y) @ u.T`) when short enough. Every equation is CHECKED: evaluated with the
NumPy forward (`gradcli.forward`, never the engine) on each example and compared with the engine's
gradient of that node or parameter for the example's loss ℓ (with `data:` the parameters' L is the
mean or sum of these).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from gradcli.errors import GradcliError
from gradcli.language import expr as E

MAX_EXPANDED = 160  # characters of an expanded formula worth printing
MAX_CHECKED_EXAMPLES = 16
ANALYTIC_TOL = 1e-9
ABSOLUTE_FLOOR = 1e-12  # times max(1, max |gradient|): cancellation noise next to exact zeros


@dataclass
class BackwardEquation:
    target: str  # the name whose gradient this is
    kind: str  # 'intermediate' | 'param' | 'input'
    rule: str  # the sheets' notation: ∂L/∂W2 = ∂L/∂yhat @ uᵀ
    formula: str  # gradcli's language: dL_dyhat @ u.T
    expanded: str | None  # upstream gradients substituted: 2*(yhat - y) @ u.T
    max_rel_error: float = 0.0
    verdict: str = "agree"  # agree | disagree | kink
    shape: tuple[int, ...] = ()


@dataclass
class BackwardReport:
    loss: str
    equations: list[BackwardEquation] = field(default_factory=list)
    examples_checked: int = 0
    reduce: str | None = None  # with data: the params' gradients are this over the examples' equations
    note: str | None = None  # why no equations could be derived

    @property
    def verdict(self) -> str:
        verdicts = {e.verdict for e in self.equations}
        return "disagree" if "disagree" in verdicts else ("kink" if "kink" in verdicts else "agree")


def grad_name(name: str) -> str:
    """The name of ∂L/∂name inside formulas."""
    return f"dL_d{name}"


# ============================================================================================ trees

_ONE = Fraction(1)
LABELS: dict[int, str] = {}  # id(tree) -> how the sheets write it (σ′(Z)); kept alive by _LABELLED
_LABELLED: list[E.Node] = []


def labelled(tree: E.Node, label: str) -> E.Node:
    """Mark a local derivative with its textbook name, shown in the rule (σ′(Z)) instead of the formula."""
    LABELS[id(tree)] = label
    _LABELLED.append(tree)
    return tree


def _num(c: Fraction) -> E.Node:
    if c < 0:
        return E.Unary("-", _num(-c), 0)
    if c.denominator == 1:
        return E.Num(float(c.numerator), str(c.numerator), 0)
    return E.Binary("/", _num(Fraction(c.numerator)), _num(Fraction(c.denominator)), 0)


def _split(t: E.Node) -> tuple[Fraction, E.Node | None]:
    """t = c * rest with c a rational coefficient (rest None when t is a number)."""
    if isinstance(t, E.Num) and math.isfinite(t.value):
        try:
            return Fraction(t.text), None
        except (ValueError, ZeroDivisionError):
            return _ONE, t
    if isinstance(t, E.Unary) and t.op == "-":
        c, rest = _split(t.operand)
        return -c, rest
    if isinstance(t, E.Binary) and t.op == "/" and isinstance(t.left, E.Num) and isinstance(t.right, E.Num) \
            and float(t.left.value).is_integer() and float(t.right.value).is_integer() and t.right.value != 0:
        return Fraction(int(t.left.value), int(t.right.value)), None
    if isinstance(t, E.Binary) and t.op == "*":
        c, rest = _split(t.left)
        if rest is None:
            c2, rest2 = _split(t.right)
            return c * c2, rest2
    return _ONE, t


def _build(c: Fraction, rest: E.Node | None) -> E.Node:
    if rest is None:
        return _num(c)
    if c == 1:
        return rest
    if c == -1:
        return E.Unary("-", rest, 0)
    if c == 0:
        return _num(Fraction(0))
    return E.Binary("*", _num(c), rest, 0)


def _is_ones(t: E.Node | None) -> bool:
    return isinstance(t, E.Call) and t.func == "ones"


def mul(a: E.Node, b: E.Node, shape_b: tuple[int, ...] | None = None) -> E.Node:
    """a * b with rational coefficients folded; `s * ones(...)` times a value of that shape drops the ones."""
    ca, ra = _split(a)
    cb, rb = _split(b)
    if ra is not None and isinstance(ra, E.Binary) and ra.op == "*" and _is_ones(ra.right) and rb is not None:
        ra = ra.left
    if _is_ones(ra) and rb is not None:
        ra = None
    if ra is None:
        return _build(ca * cb, rb)
    if rb is None:
        return _build(ca * cb, ra)
    if isinstance(rb, E.Binary) and rb.op == "*" and id(rb) not in LABELS:  # a*(b*c) -> a*b*c
        return _build(ca * cb, E.Binary("*", E.Binary("*", ra, rb.left, 0), rb.right, 0))
    return _build(ca * cb, E.Binary("*", ra, rb, 0))


def neg(a: E.Node) -> E.Node:
    c, rest = _split(a)
    return _build(-c, rest)


def binary(op: str, a: E.Node, b: E.Node) -> E.Node:
    return E.Binary(op, a, b, 0)


def call(func: str, *args: E.Node) -> E.Node:
    return E.Call(func, tuple(args), 0)


def transpose(a: E.Node) -> E.Node:
    if isinstance(a, E.Transpose):
        return a.operand
    return E.Transpose(a, 0)


def ones(shape: tuple[int, ...]) -> E.Node | None:
    """ones(n) for a column (n, 1), ones(m, n) for a matrix, None for a scalar."""
    if shape == ():
        return None
    m, n = shape
    return call("ones", _num(Fraction(m))) if n == 1 else call("ones", _num(Fraction(m)), _num(Fraction(n)))


def broadcast(a: E.Node, shape: tuple[int, ...]) -> E.Node:
    """A scalar gradient spread over every entry of a value of `shape`: a * ones(shape)."""
    o = ones(shape)
    if o is None:
        return a
    c, rest = _split(a)
    if rest is None:
        return _build(c, o)
    return _build(c, E.Binary("*", rest, o, 0))


# ============================================================================================ printing

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "^": 4}


def text(node: E.Node, parent: int = 0, right: bool = False, sheet: bool = False) -> str:
    """gradcli's language with spaces around + - @ (as the sheets' formulas read); parses back to the tree.

    sheet=True gives the sheets' notation instead: ∂L/∂W for dL_dW, ᵀ, ⊙ for the element-wise product,
    2(ŷ - y) for a number times a value, and textbook names of local derivatives (σ′(Z)).
    """
    if sheet and id(node) in LABELS:
        return LABELS[id(node)]
    if isinstance(node, E.Num):
        return node.text
    if isinstance(node, E.Const):
        return node.name
    if isinstance(node, E.Name):
        if sheet and node.id.startswith("dL_d"):
            return f"∂L/∂{node.id[4:]}"
        return node.id
    if isinstance(node, E.Call):
        return f"{node.func}({', '.join(text(a, sheet=sheet) for a in node.args)})"
    if isinstance(node, E.Transpose):
        inner = text(node.operand, 5, sheet=sheet)
        return f"{inner}ᵀ" if sheet else f"{inner}.T"
    if isinstance(node, E.Unary):
        out = f"-{text(node.operand, 3, sheet=sheet)}"
        return f"({out})" if parent >= 2 else out
    if isinstance(node, E.Binary):
        p = _PREC[node.op]
        if node.op == "^":
            out = f"{text(node.left, p + 1, sheet=sheet)}^{text(node.right, p, True, sheet=sheet)}"
        else:
            sep = f" {node.op} " if node.op in "+-@" else node.op
            if sheet and node.op == "*":
                sep = "" if _split(node.left)[1] is None else " ⊙ "
            left = text(node.left, p, sheet=sheet)
            coefficient = isinstance(node.left, E.Binary) and node.left.op == "*" and \
                _split(node.left.left)[1] is None
            if isinstance(node.left, E.Binary) and node.left.op != node.op and _PREC[node.left.op] == p \
                    and not left.startswith("(") and not coefficient:
                left = f"({left})"
            out = f"{left}{sep}{text(node.right, p + 1, True, sheet=sheet)}"
        return f"({out})" if p < parent or (p == parent and right) else out
    raise GradcliError(f"cannot print a {type(node).__name__} node")


# ============================================================================================ derivation


class _Deriver:
    """Reverse-mode derivation over the spec's trees: contributions[name] = list of gradient trees."""

    def __init__(self, spec, env0: dict[str, np.ndarray]):
        self.spec = spec
        self.env0 = env0  # example 0: inputs, params, x, y and every forward value
        self.contributions: dict[str, list[E.Node]] = {}
        self._shapes: dict[int, tuple[int, ...]] = {}

    def shape(self, node: E.Node) -> tuple[int, ...]:
        from gradcli.numerics import forward

        key = id(node)
        if key not in self._shapes:
            self._shapes[key] = tuple(forward.evaluate(node, self.env0).shape)
        return self._shapes[key]

    def fit(self, g: E.Node, child: E.Node, out_shape: tuple[int, ...]) -> E.Node:
        """The gradient g (shape of the op's output) as it reaches an operand broadcast as a scalar."""
        cs = self.shape(child)
        if cs == out_shape or cs not in ((), (1, 1)):
            return g
        return call("sum", g)

    def push(self, node: E.Node, g: E.Node, out_name: str | None = None) -> None:
        """Add g = ∂L/∂node's contributions to the names below it; out_name names node's value if it has one."""
        if isinstance(node, E.Name):
            self.contributions.setdefault(node.id, []).append(g)
            return
        if isinstance(node, (E.Num, E.Const)):
            return
        if isinstance(node, E.Unary):
            self.push(node.operand, neg(g) if node.op == "-" else g)
            return
        if isinstance(node, E.Transpose):
            self.push(node.operand, transpose(g))
            return
        out = E.Name(out_name, 0) if out_name else node
        if isinstance(node, E.Binary):
            self._binary(node, g, out)
            return
        if isinstance(node, E.Call):
            self._call(node, g, out)
            return
        raise GradcliError(f"no backward rule for a {type(node).__name__} node")

    def _binary(self, node: E.Binary, g: E.Node, out: E.Node) -> None:
        a, b, s = node.left, node.right, self.shape(node)
        if node.op == "+":
            self.push(a, self.fit(g, a, s))
            self.push(b, self.fit(g, b, s))
        elif node.op == "-":
            self.push(a, self.fit(g, a, s))
            self.push(b, self.fit(neg(g), b, s))
        elif node.op == "*":
            self.push(a, self.fit(mul(g, b), a, s))
            self.push(b, self.fit(mul(g, a), b, s))
        elif node.op == "/":
            self.push(a, self.fit(binary("/", g, b), a, s))
            self.push(b, self.fit(neg(binary("/", mul(g, a), binary("^", b, _num(Fraction(2))))), b, s))
        elif node.op == "@":
            self.push(a, binary("@", g, transpose(b)))
            self.push(b, binary("@", transpose(a), g))
        elif node.op == "^":
            c = E.constant_value(b)
            if c is not None:
                frac = Fraction(c).limit_denominator(1000) if math.isfinite(c) else None
                if isinstance(a, E.Call) and a.func == "norm" and c == 2:
                    v = a.args[0]  # ‖v‖² = v·v: ∂/∂v = 2v
                    self.push(v, mul(g, mul(_num(Fraction(2)), v)))
                    return
                if frac is not None and float(frac) == c:
                    power = a if frac - 1 == 1 else (None if frac == 1 else binary("^", a, _num(frac - 1)))
                    local = _num(frac) if power is None else mul(_num(frac), power)
                    self.push(a, self.fit(mul(g, local), a, s))
                    return
                self.push(a, self.fit(mul(g, mul(b, binary("^", a, binary("-", b, _num(_ONE))))), a, s))
                return
            self.push(a, self.fit(mul(g, mul(b, binary("^", a, binary("-", b, _num(_ONE))))), a, s))
            self.push(b, self.fit(mul(g, mul(call("ln", a), out)), b, s))

    def _call(self, node: E.Call, g: E.Node, out: E.Node) -> None:
        f, args = node.func, node.args
        x = args[0] if args else None
        two = _num(Fraction(2))
        local = {
            "exp": lambda: out,
            "sigmoid": lambda: mul(out, binary("-", _num(_ONE), out)),
            "tanh": lambda: binary("-", _num(_ONE), binary("^", out, two)),
            "relu": lambda: call("step", x),
            "abs": lambda: call("sign", x),
            "softplus": lambda: call("sigmoid", x),
            "sin": lambda: call("cos", x),
            "cos": lambda: neg(call("sin", x)),
            "sinh": lambda: call("cosh", x),
            "cosh": lambda: call("sinh", x),
        }
        quotient = {
            "ln": lambda: x,
            "sqrt": lambda: mul(two, out),
            "log10": lambda: mul(x, call("ln", _num(Fraction(10)))),
            "tan": lambda: binary("^", call("cos", x), two),
            "asin": lambda: call("sqrt", binary("-", _num(_ONE), binary("^", x, two))),
            "atan": lambda: binary("+", _num(_ONE), binary("^", x, two)),
        }
        if f in local:
            symbol = {"sigmoid": "σ", "relu": "relu", "tanh": "tanh"}.get(f)
            d = local[f]()
            if symbol is not None:
                d = labelled(d, f"{symbol}′({text(x, sheet=True)})")
            self.push(x, mul(g, d))
        elif f == "log" and len(args) == 1:
            self.push(x, binary("/", g, x))
        elif f in quotient:
            self.push(x, binary("/", g, quotient[f]()))
        elif f == "acos":
            self.push(x, neg(binary("/", g, quotient["asin"]())))
        elif f == "log":
            base = args[1]
            self.push(x, binary("/", g, mul(x, call("ln", base))))
            self.push(base, neg(binary("/", mul(g, call("ln", x)), mul(base, binary("^", call("ln", base), two)))))
        elif f == "sum":
            self.push(x, broadcast(g, self.shape(x)))
        elif f == "mean":
            n = int(np.prod(self.shape(x), dtype=np.int64))
            self.push(x, broadcast(mul(_num(Fraction(1, n)), g), self.shape(x)))
        elif f == "dot":
            self.push(args[0], mul(g, args[1]))
            self.push(args[1], mul(g, args[0]))
        elif f == "norm":
            self.push(x, binary("/", mul(g, x), out))
        elif f == "outer":
            self.push(args[0], binary("@", g, args[1]))
            self.push(args[1], binary("@", transpose(g), args[0]))
        elif f == "diag":
            n = self.shape(x)[0]
            self.push(x, binary("@", mul(g, call("eye", _num(Fraction(n)))), ones((n, 1))))
        elif f == "softmax":
            self.push(x, mul(out, binary("-", g, call("dot", g, out))))
        elif f == "logsumexp":
            self.push(x, mul(g, call("softmax", x)))
        elif f == "transpose":
            self.push(x, transpose(g))
        elif f in ("eye", "ones", "zeros"):
            return
        else:
            raise GradcliError(f"no backward rule for {f}")


def _total(parts: list[E.Node]) -> E.Node:
    out = parts[0]
    for p in parts[1:]:
        out = binary("+", out, p)
    return out


def _substitute(node: E.Node, values: dict[str, E.Node]) -> E.Node:
    """The tree with the names in `values` replaced by their trees."""
    if isinstance(node, E.Name):
        return values.get(node.id, node)
    if isinstance(node, E.Unary):
        return E.Unary(node.op, _substitute(node.operand, values), node.col)
    if isinstance(node, E.Transpose):
        return E.Transpose(_substitute(node.operand, values), node.col)
    if isinstance(node, E.Binary):
        return E.Binary(node.op, _substitute(node.left, values), _substitute(node.right, values), node.col)
    if isinstance(node, E.Call):
        return E.Call(node.func, tuple(_substitute(a, values) for a in node.args), node.col)
    return node


# ============================================================================================ public


def backward_equations(spec) -> BackwardReport:
    """Derive ∂L/∂(every forward name, param and wrt input) from the spec's forward and loss, and check each."""
    from gradcli.numerics import forward
    from gradcli.numerics.examples import example_envs

    report = BackwardReport(loss=spec.loss.text, reduce=spec.data.reduce if spec.data is not None else None)
    envs = example_envs(spec)
    try:
        env0 = _forward_env(spec, envs[0])
        deriver = _Deriver(spec, env0)
        trees: list[tuple[str, str, E.Node]] = []  # (target, kind, formula tree)
        with E.deep_recursion():
            deriver.push(spec.loss.node, _num(_ONE))
            for d in reversed(spec.forward):
                parts = deriver.contributions.get(d.name)
                if not parts:
                    continue
                trees.append((d.name, "intermediate", _total(parts)))
                deriver.push(d.node, E.Name(grad_name(d.name), 0), out_name=d.name)
            for name in [*spec.params, *spec.inputs]:
                if name in deriver.contributions and (name in spec.params or name in spec.wrt):
                    trees.append((name, "param" if name in spec.params else "input",
                                  _total(deriver.contributions[name])))
    except GradcliError as err:
        report.note = f"the backward pass could not be derived: {err.message}"
        return report

    expanded: dict[str, E.Node] = {}
    for target, kind, tree in trees:
        full = _substitute(tree, expanded)
        expanded[grad_name(target)] = full
        formula = text(tree)
        long = text(full)
        shape = tuple(np.shape(env0[target]))
        report.equations.append(BackwardEquation(
            target, kind, f"∂L/∂{target} = {text(tree, sheet=True)}", formula,
            long if long != formula and len(long) <= MAX_EXPANDED else None, shape=shape))
    _check(spec, report, trees, envs[:MAX_CHECKED_EXAMPLES], forward)
    return report


def _at_kink(tree: E.Node, env: dict) -> bool:
    """Whether the formula evaluates a kinked function (step, sign, relu, abs) exactly at its kink."""
    from gradcli.language.functions import lookup
    from gradcli.numerics import forward

    for n in E.walk(tree):
        row = lookup(n.func) if isinstance(n, E.Call) else None
        if row is not None and row.kinks:
            with np.errstate(all="ignore"):
                arg = np.asarray(forward.evaluate(n.args[0], env), dtype=np.float64)
            if any(np.any(arg == k) for k in row.kinks):
                return True
    return False


def _forward_env(spec, values: dict[str, Any]) -> dict[str, np.ndarray]:
    from gradcli.numerics import forward

    env = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    for d in spec.forward:
        env[d.name] = forward.evaluate(d.node, env)
    return env


def _check(spec, report: BackwardReport, trees, envs, forward) -> None:
    """Evaluate every formula (NumPy forward) per example and compare with the engine's gradient there."""
    from gradcli.numerics import engine
    from gradcli.numerics.compare import rel_error

    worst = {e.target: 0.0 for e in report.equations}
    bad = {e.target: False for e in report.equations}
    nan_at_kink = {e.target: False for e in report.equations}
    for values in envs:
        leaves = {k: engine.leaf(v, k) for k, v in values.items()}  # every name gets a gradient
        env_t: dict[str, Any] = dict(leaves)
        for d in spec.forward:
            env_t[d.name] = engine.evaluate(d.node, env_t, text=d.text)
        out = engine.evaluate(spec.loss.node, env_t, text=spec.loss.text)
        engine.backward(out)
        kink = any(t.kink for t in engine.topo_order(out))
        env = _forward_env(spec, values)
        for target, _, tree in trees:
            with np.errstate(all="ignore"):
                got = np.asarray(forward.evaluate(tree, env), dtype=np.float64)
            env[grad_name(target)] = got
            t = env_t[target]
            want = t.grad if t.grad is not None else np.zeros_like(t.data)
            if got.size != want.size:
                bad[target] = True
                worst[target] = math.inf
                continue
            got, want = got.reshape(want.shape), np.asarray(want, dtype=np.float64)
            nan = ~np.isfinite(got)
            if kink and (nan.any() or _at_kink(tree, env)):
                nan_at_kink[target] = True
            scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
            with np.errstate(all="ignore"):
                ok = np.abs(got - want) <= ANALYTIC_TOL * np.maximum(np.abs(got), np.abs(want)) + ABSOLUTE_FLOOR * scale
            ok |= nan & kink
            rel = rel_error(got, want)
            finite_rel = np.where(np.isfinite(got), rel, 0.0 if kink else math.inf)
            worst[target] = max(worst[target], float(np.max(finite_rel)) if finite_rel.size else 0.0)
            bad[target] |= not bool(np.all(ok))
    for eq in report.equations:
        eq.max_rel_error = worst[eq.target]
        eq.verdict = "disagree" if bad[eq.target] else ("kink" if nan_at_kink[eq.target] else "agree")
    report.examples_checked = len(envs)
