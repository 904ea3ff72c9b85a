"""The expression language (the expression language): text -> a tree of our own nodes, through a whitelist parser.

Grammar, Python precedence (lowest first)::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/' | '@') unary)*
    unary   := ('-' | '+') unary | power
    power   := postfix (('^' | '**') unary)?          # right-associative: 2^3^2 = 2^9, -x^2 = -(x^2)
    postfix := atom ('(' args ')' | '.T' | '[' index ']')*
    atom    := NUMBER | NAME | '(' expr ')'

Nothing here evaluates user text: the tree is interpreted by `symbolic` (SymPy), `engine` (backprop)
and `forward` (NumPy), each of which walks it. Limits (length, depth, constant powers, literal size)
come from `gradcli.functions` and are refused with a ParseError that carries the column.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Union

from gradcli.language import functions as F
from gradcli.errors import ParseError

# ---------------------------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class Num:
    value: float
    text: str
    col: int


@dataclass(frozen=True)
class Const:
    name: str  # 'pi' or 'e'
    col: int


@dataclass(frozen=True)
class Name:
    id: str
    col: int


@dataclass(frozen=True)
class Unary:
    op: str  # '-' or '+'
    operand: "Node"
    col: int


@dataclass(frozen=True)
class Binary:
    op: str  # '+', '-', '*', '/', '^', '@'
    left: "Node"
    right: "Node"
    col: int


@dataclass(frozen=True)
class Call:
    func: str  # canonical name from gradcli.language.functions
    args: tuple["Node", ...]
    col: int


@dataclass(frozen=True)
class Transpose:
    operand: "Node"
    col: int


@dataclass(frozen=True)
class Index:
    """`X[i, l]`: an entry of a named tensor; only in Jacobian entry claims (`allow_index=True`)."""

    base: Name
    indices: tuple["Node", ...]
    col: int


Node = Union[Num, Const, Name, Unary, Binary, Call, Transpose, Index]

# ------------------------------------------------------------------------------------------ tokenizer

# Unicode forms accepted as the ASCII they stand for (the expression language).
_UNICODE = {
    "−": "-", "–": "-", "·": "*", "×": "*", "⋅": "*", "∗": "*", "÷": "/",
    "²": "^2", "³": "^3", "¹": "^1", "⁴": "^4",
    "σ": "sigmoid", "π": "pi", "√": "sqrt", "ᵀ": ".T",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "λ": "lambda_", "μ": "mu", "ν": "nu", "ξ": "xi", "ρ": "rho",
    "τ": "tau", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^@(),.\[\]])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # 'num', 'name', 'op', 'end'
    text: str
    col: int  # column in the ORIGINAL text


def _normalise(text: str) -> tuple[str, list[int]]:
    """Replace Unicode forms by ASCII; return the new text and, per new char, its original column."""
    out: list[str] = []
    cols: list[int] = []
    for i, ch in enumerate(text):
        rep = _UNICODE.get(ch, ch)
        if rep != ch and rep[0].isalpha() and out and (out[-1].isalnum() or out[-1] == "_"):
            rep = " " + rep  # 'xσ' must not glue into one name
        out.append(rep)
        cols.extend([i] * len(rep))
    return "".join(out), cols


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; any character outside the language is a ParseError at its column."""
    norm, cols = _normalise(text)
    tokens: list[Token] = []
    pos = 0
    while pos < len(norm):
        m = _TOKEN.match(norm, pos)
        if m is None:
            col = cols[pos]
            ch = text[col]
            if ch in "'\"":
                raise ParseError("strings are not part of the expression language", text, col)
            if ch == "=":
                raise ParseError("'=' is not an operator here (keyword arguments and assignments are refused)", text, col)
            if ch in "{}:;!<>|&~%$#?`\\":
                raise ParseError(f"unexpected character {ch!r}", text, col,
                                 hint="allowed: numbers, names, + - * / ^ ** @ ( ) , .T")
            raise ParseError(f"unexpected character {ch!r} (U+{ord(ch):04X})", text, col,
                             hint="allowed: numbers, names, + - * / ^ ** @ ( ) , .T and − · × σ η ρ ² ³")
        kind = m.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, m.group(), cols[pos]))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------- parser


def parse(text: str, *, allow_index: bool = False, what: str = "expression") -> Node:
    """Parse `text` into a tree; raise ParseError (with column and hint) for anything else."""
    if not isinstance(text, str):
        raise ParseError(f"the {what} must be text", str(text), 0)
    _raw_depth_check(text, what)
    if len(text) > F.MAX_LENGTH:
        raise ParseError(f"the {what} is {len(text):,} characters long; the limit is {F.MAX_LENGTH:,}", text[:200], 0)
    if not text.strip():
        raise ParseError(f"the {what} is empty", text, 0, hint="write a formula such as ln(x)+exp(y)*z")
    tokens = tokenize(text)
    _check_bracket_depth(text, tokens)
    with deep_recursion():
        node = _Parser(text, tokens, allow_index).parse()
    depth = tree_depth(node)
    if depth > F.MAX_DEPTH:
        raise ParseError(f"the {what} nests {depth} levels deep; the limit is {F.MAX_DEPTH}", text, 0)
    return node


def _raw_depth_check(text: str, what: str) -> None:
    """Absurd nesting is named as such even in text that is also too long (5,000 parentheses)."""
    depth = 0
    for i, ch in enumerate(text[:100_000]):
        if ch in "([":
            depth += 1
            if depth > F.MAX_DEPTH:
                raise ParseError(f"brackets nest deeper than {F.MAX_DEPTH} levels in the {what}", text, i)
        elif ch in ")]":
            depth -= 1


@contextmanager
def deep_recursion(limit: int = 20_000) -> Iterator[None]:
    """Allow the recursion a tree of MAX_DEPTH levels needs (about 6 frames per level when parsing)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _check_bracket_depth(text: str, tokens: list[Token]) -> None:
    """Refuse absurd nesting before any recursion: brackets deeper than MAX_DEPTH, unbalanced ones."""
    stack: list[Token] = []
    for tok in tokens:
        if tok.text in ("(", "["):
            stack.append(tok)
            if len(stack) > F.MAX_DEPTH:
                raise ParseError(f"brackets nest deeper than {F.MAX_DEPTH} levels", text, tok.col)
        elif tok.text in (")", "]"):
            if not stack:
                raise ParseError(f"unmatched {tok.text!r}", text, tok.col)
            opener = stack.pop()
            if (opener.text, tok.text) not in (("(", ")"), ("[", "]")):
                raise ParseError(f"{tok.text!r} does not close {opener.text!r} at column {opener.col + 1}", text, tok.col)
    if stack:
        raise ParseError(f"{stack[-1].text!r} is never closed", text, stack[-1].col,
                         hint=f"add {')' if stack[-1].text == '(' else ']'} at the end")


class _Parser:
    def __init__(self, text: str, tokens: list[Token], allow_index: bool):
        self.text = text
        self.toks = tokens
        self.i = 0
        self.allow_index = allow_index

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, col: int | None = None, hint: str | None = None) -> ParseError:
        return ParseError(message, self.text, self.tok.col if col is None else col, hint)

    def expect(self, text: str, what: str) -> Token:
        if self.tok.text != text:
            raise self.error(f"expected {what}, found {_describe(self.tok)}")
        return self.advance()

    # -- grammar
    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise self._trailing_error(node)
        return node

    def _trailing_error(self, node: Node) -> ParseError:
        tok = self.tok
        prev = self.toks[self.i - 1]
        if tok.kind in ("num", "name") or tok.text == "(":
            left = self.text[prev.col:prev.col + len(prev.text)] if prev.kind != "op" else ""
            if tok.text == "(" and prev.kind == "num":
                return self.error("a number cannot be called", hint=f"did you mean {prev.text}*(...)? "
                                  "Multiplication is always written with *")
            hint = "multiplication is always written with *"
            if left and tok.kind != "op":
                hint = f"did you mean {left}*{tok.text}? " + hint
            return self.error(f"expected an operator, found {_describe(tok)}", hint=hint)
        if tok.text == ",":
            return self.error("unexpected ',' outside a function call")
        return self.error(f"unexpected {_describe(tok)}")

    def expr(self) -> Node:
        terms, ops = [self.term()], []
        while self.tok.text in ("+", "-"):
            ops.append(self.advance())
            terms.append(self.term())
        if len(terms) > BALANCE_CHAIN:
            signed = [terms[0]] + [t if o.text == "+" else Unary("-", t, o.col) for o, t in zip(ops, terms[1:])]
            return _balanced(signed, [o if o.text == "+" else Token("op", "+", o.col) for o in ops])
        return _left_deep(terms, ops)

    def term(self) -> Node:
        factors, ops = [self.unary()], []
        while self.tok.text in ("*", "/", "@"):
            ops.append(self.advance())
            factors.append(self.unary())
        if len(factors) > BALANCE_CHAIN and all(o.text == ops[0].text != "/" for o in ops):
            return _balanced(factors, ops)
        return _left_deep(factors, ops)

    def unary(self) -> Node:
        ops: list[Token] = []
        while self.tok.text in ("-", "+"):
            ops.append(self.advance())
            if len(ops) > F.MAX_DEPTH:
                raise self.error(f"more than {F.MAX_DEPTH} signs in a row")
        node = self.power()
        for op in reversed(ops):
            node = Unary(op.text, node, op.col)
        return node

    def power(self) -> Node:
        base = self.postfix()
        if self.tok.text in ("^", "**"):
            op = self.advance()
            if self.tok.kind == "end":
                raise self.error("expected an exponent after the power operator")
            exponent = self.unary()
            _check_power(self.text, exponent, op.col)
            return Binary("^", base, exponent, op.col)
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while True:
            tok = self.tok
            if tok.text == "(":
                raise self._call_of_non_function(node)
            if tok.text == ".":
                attr = self.peek()
                if attr.kind == "name" and attr.text == "T":
                    self.advance()
                    self.advance()
                    node = Transpose(node, tok.col)
                    continue
                raise self.error("attribute access is refused; only .T (transpose) is allowed", col=tok.col)
            if tok.text == "[":
                if not (self.allow_index and isinstance(node, Name)):
                    raise self.error("subscripts are refused here; they are allowed only in Jacobian entry claims",
                                     col=tok.col)
                self.advance()
                indices = [self.expr()]
                while self.tok.text == ",":
                    self.advance()
                    indices.append(self.expr())
                self.expect("]", "']' to close the subscript")
                node = Index(node, tuple(indices), tok.col)
                continue
            return node

    def _call_of_non_function(self, node: Node) -> ParseError:
        col = self.tok.col
        close = matching_paren(self.text, col)
        inside = self.text[col:close + 1] if close is not None else self.text[col:]
        if isinstance(node, Name):
            return self.error(f"{node.id!r} is not a function", col=node.col,
                              hint=f"did you mean {node.id}*{inside}? Multiplication is always written with *")
        if isinstance(node, Num):
            return self.error("a number cannot be called", col=col,
                              hint=f"did you mean {node.text}*{inside}? Multiplication is always written with *")
        return self.error("only function names can be called", col=col,
                          hint="multiplication is always written with *")

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            return _number(self.text, tok)
        if tok.kind == "name":
            return self.name()
        if tok.text == "(":
            self.advance()
            if self.tok.text == ")":
                raise self.error("empty parentheses")
            node = self.expr()
            if self.tok.text == ",":
                raise self.error("unexpected ',': tuples are not part of the language")
            self.expect(")", "')'")
            return node
        if tok.kind == "end":
            raise self.error("unexpected end of the expression: expected a number, a name or '('")
        raise self.error(f"expected a number, a name or '(', found {_describe(tok)}")

    def name(self) -> Node:
        tok = self.advance()
        ident = tok.text
        is_call = self.tok.text == "("
        func = F.lookup(ident)
        if func is not None:
            if not is_call:
                raise self.error(f"{ident!r} is a function: call it as {func.name}(...)", col=tok.col)
            return self.call(func, tok)
        if ident in F.CONSTANTS:
            if is_call:
                raise self.error(f"{ident!r} is a constant, not a function", col=tok.col,
                                 hint=f"did you mean {ident}*(...)? Multiplication is always written with *")
            return Const(ident, tok.col)
        if ident.startswith("__"):
            raise self.error(f"names starting with '__' are refused: {ident!r}", col=tok.col)
        if is_call:
            close = matching_paren(self.text, self.tok.col)
            inside = self.text[self.tok.col:close + 1] if close is not None else "(...)"
            close_matches = difflib.get_close_matches(ident, [n for n in F.known_names() if n not in F.CONSTANTS],
                                                      n=1, cutoff=0.6)
            if close_matches:
                hint = f"did you mean {close_matches[0]}{inside}?"
            else:
                hint = f"did you mean {ident}*{inside}? Multiplication is always written with *"
            raise self.error(f"unknown function {ident!r}", col=tok.col, hint=hint)
        return Name(ident, tok.col)

    def call(self, func: F.Function, tok: Token) -> Node:
        open_tok = self.advance()
        args: list[Node] = []
        if self.tok.text != ")":
            args.append(self.argument())
            while self.tok.text == ",":
                self.advance()
                args.append(self.argument())
        self.expect(")", f"')' or ',' in the call of {func.name}")
        if len(args) not in func.arity:
            want = " or ".join(str(a) for a in func.arity)
            raise self.error(f"{func.name} takes {want} argument{'s' if func.arity != (1,) else ''}, "
                             f"got {len(args)}", col=tok.col)
        if func.kind == F.CONSTRUCTOR:
            for arg in args:
                if not (isinstance(arg, Num) and float(arg.value).is_integer() and 0 < arg.value):
                    raise self.error(f"{func.name} takes positive whole sizes", col=_col(arg))
            size = math.prod(int(a.value) for a in args) * (int(args[0].value) if func.name == "eye" else 1)
            if size > F.MAX_TENSOR_ENTRIES:
                raise self.error(f"{func.name}{tuple(int(a.value) for a in args)} has {size:,} entries; "
                                 f"the limit is {F.MAX_TENSOR_ENTRIES:,}", col=tok.col)
        del open_tok
        return Call(func.name, tuple(args), tok.col)

    def argument(self) -> Node:
        if self.tok.kind == "name" and self.peek().text == "=":
            raise self.error("keyword arguments are refused", col=self.tok.col)
        return self.expr()


# --------------------------------------------------------------------------------------------- checks

BALANCE_CHAIN = 32  # a longer chain of + (or of one associative product) becomes a balanced tree


def _left_deep(items: list[Node], ops: list[Token]) -> Node:
    """a - b - c as ((a - b) - c): Python's left associativity."""
    node = items[0]
    for op, item in zip(ops, items[1:]):
        node = Binary(op.text, node, item, op.col)
    return node


def _balanced(items: list[Node], ops: list[Token]) -> Node:
    """A long chain of one associative operator as a balanced tree, so its depth is log2 of its length.

    x1 + x2 + ... + x400 is mathematically the same sum; only the order of float additions changes,
    and every column (symbolic, backprop, numeric) reads the same tree.
    """
    level = list(zip(items, [None, *ops]))
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            (left, lop), (right, rop) = level[i], level[i + 1]
            nxt.append((Binary(rop.text, left, right, rop.col), lop))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0][0]


def _number(text: str, tok: Token) -> Num:
    try:
        value = float(tok.text)
    except ValueError:
        raise ParseError(f"malformed number {tok.text!r}", text, tok.col) from None
    if not math.isfinite(value) or abs(value) > F.MAX_CONSTANT:
        raise ParseError(f"the number {tok.text} is too large for float64 (limit {F.MAX_CONSTANT:g})", text, tok.col)
    return Num(value, tok.text, tok.col)


def constant_value(node: Node) -> float | None:
    """The float value of a subtree made only of numbers and constants, or None (inf on overflow)."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Const):
        return math.pi if node.name == "pi" else math.e
    if isinstance(node, Unary):
        v = constant_value(node.operand)
        return None if v is None else (-v if node.op == "-" else v)
    if isinstance(node, Binary) and node.op in "+-*/^":
        a, b = constant_value(node.left), constant_value(node.right)
        if a is None or b is None:
            return None
        try:
            if node.op == "+":
                return a + b
            if node.op == "-":
                return a - b
            if node.op == "*":
                return a * b
            if node.op == "/":
                return a / b if b != 0 else math.inf
            r = a ** b
            return math.inf if isinstance(r, complex) else float(r)
        except (OverflowError, ZeroDivisionError):
            return math.inf
    return None


def _check_power(text: str, exponent: Node, col: int) -> None:
    """A constant exponent must be finite and at most MAX_INT_POWER in size (no towers of powers)."""
    value = constant_value(exponent)
    if value is None:
        return
    if not math.isfinite(value) or abs(value) > F.MAX_INT_POWER:
        shown = "too large to represent" if not math.isfinite(value) else f"{value:g}"
        raise ParseError(f"the exponent is {shown}; constant powers are limited to |{F.MAX_INT_POWER}|", text, col)


def tree_depth(node: Node) -> int:
    """Height of the tree, computed without recursion (deep chains like x+x+...+x are long)."""
    best = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best


def matching_paren(text: str, col: int) -> int | None:
    """The column of the ")" that closes the "(" at `col` (None when it is never closed)."""
    depth = 0
    for j in range(col, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the expression"
    if tok.kind == "num":
        return f"the number {tok.text}"
    if tok.kind == "name":
        return f"the name {tok.text!r}"
    return f"{tok.text!r}"


def _col(node: Node) -> int:
    if isinstance(node, (Binary, Unary)) and not isinstance(node, Unary):
        return _col(node.left)
    return node.col


# ------------------------------------------------------------------------------------------- walking


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary) or isinstance(node, Transpose):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Index):
        return (node.base, *node.indices)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children (iterative)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def free_names(node: Node) -> list[str]:
    """The variable names used in the tree, sorted alphabetically (the order `--at 1,3,2` binds)."""
    return sorted({n.id for n in walk(node) if isinstance(n, Name)})


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "u": 3, "^": 4}


def to_text(node: Node) -> str:
    """Canonical ASCII text of the tree, with only the parentheses precedence needs."""
    return _text(node, 0)


def _text(node: Node, parent: int) -> str:
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Const):
        return node.name
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_text(a, 0) for a in node.args)})"
    if isinstance(node, Transpose):
        return f"{_text(node.operand, 5)}.T"
    if isinstance(node, Index):
        return f"{node.base.id}[{', '.join(_text(a, 0) for a in node.indices)}]"
    if isinstance(node, Unary):
        s = f"{node.op}{_text(node.operand, 3)}"
        return f"({s})" if parent > 3 else s
    prec = _PREC[node.op]
    if node.op == "^":
        s = f"{_text(node.left, prec + 1)}^{_text(node.right, prec)}"
    else:
        s = f"{_text(node.left, prec)}{node.op}{_text(node.right, prec + 1)}"
    return f"({s})" if prec < parent else s
