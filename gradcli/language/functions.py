"""THE table of functions gradcli knows: one row per function, read by every other module.

A row says how the function is written (name, aliases, arity), what it is (element-wise scalar
function, tensor function or constructor), where it is defined (domain) and where it is not smooth
(kinks), and how it prints in LaTeX. The forms in the other worlds live beside their consumers but are
keyed by the row's name: SymPy in `gradcli.symbolic`, the engine op in `gradcli.numerics.engine.ops`, the NumPy
forward in `gradcli.forward`; `tests/test_functions.py` checks that every row has all of them.

This module imports nothing heavy: the CLI reads it to print `--help` without loading NumPy or SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ELEMENTWISE = "elementwise"  # R -> R applied entry by entry to tensors
TENSOR = "tensor"  # takes tensors, returns a tensor or a scalar
CONSTRUCTOR = "constructor"  # builds a constant tensor from integer sizes


@dataclass(frozen=True)
class Function:
    name: str
    arity: tuple[int, ...]
    kind: str
    math: str  # the definition, as the docs and --help state it
    latex: str  # LaTeX command or name used for the function head
    aliases: tuple[str, ...] = ()
    domain: str | None = None  # human description of where the function is defined (None: everywhere)
    kinks: tuple[float, ...] = field(default_factory=tuple)  # points where it is not differentiable


FUNCTIONS: tuple[Function, ...] = (
    Function("exp", (1,), ELEMENTWISE, "e^x", r"\exp"),
    Function("ln", (1,), ELEMENTWISE, "natural logarithm", r"\ln", domain="x > 0"),
    Function("log", (1, 2), ELEMENTWISE, "log(x) = ln x; log(x, b) = ln x / ln b", r"\log", domain="x > 0, b > 0, b != 1"),
    Function("log10", (1,), ELEMENTWISE, "ln x / ln 10", r"\log_{10}", domain="x > 0"),
    Function("sqrt", (1,), ELEMENTWISE, "x^(1/2)", r"\sqrt", aliases=("√",), domain="x > 0 (x = 0 has no derivative)"),
    Function("abs", (1,), ELEMENTWISE, "|x|", r"\left|", kinks=(0.0,)),
    Function("sin", (1,), ELEMENTWISE, "sine", r"\sin"),
    Function("cos", (1,), ELEMENTWISE, "cosine", r"\cos"),
    Function("tan", (1,), ELEMENTWISE, "tangent", r"\tan", domain="cos x != 0"),
    Function("asin", (1,), ELEMENTWISE, "arcsine", r"\arcsin", domain="-1 < x < 1"),
    Function("acos", (1,), ELEMENTWISE, "arccosine", r"\arccos", domain="-1 < x < 1"),
    Function("atan", (1,), ELEMENTWISE, "arctangent", r"\arctan"),
    Function("sinh", (1,), ELEMENTWISE, "hyperbolic sine", r"\sinh"),
    Function("cosh", (1,), ELEMENTWISE, "hyperbolic cosine", r"\cosh"),
    Function("tanh", (1,), ELEMENTWISE, "hyperbolic tangent", r"\tanh"),
    Function("sigmoid", (1,), ELEMENTWISE, "1 / (1 + e^-x)", r"\sigma", aliases=("σ",)),
    Function("relu", (1,), ELEMENTWISE, "max(0, x)", r"\operatorname{ReLU}", aliases=("ReLU",), kinks=(0.0,)),
    Function("softplus", (1,), ELEMENTWISE, "ln(1 + e^x)", r"\operatorname{softplus}"),
    Function("step", (1,), ELEMENTWISE, "1 for x > 0, else 0: relu's derivative (a jump at 0)", r"\operatorname{step}",
             kinks=(0.0,)),
    Function("sign", (1,), ELEMENTWISE, "-1, 0 or 1: abs's derivative (a jump at 0)", r"\operatorname{sign}",
             kinks=(0.0,)),
    Function("sum", (1,), TENSOR, "sum of all entries (a scalar)", r"\sum"),
    Function("mean", (1,), TENSOR, "mean of all entries (a scalar)", r"\operatorname{mean}"),
    Function("dot", (2,), TENSOR, "sum of a*b over entries of equal-shaped a, b (a scalar)", r"\operatorname{dot}"),
    Function("norm", (1,), TENSOR, "Euclidean / Frobenius norm sqrt(sum(v^2)) (a scalar)", r"\left\|"),
    Function("outer", (2,), TENSOR, "a @ b.T for vectors a (m), b (n): an m x n matrix", r"\operatorname{outer}"),
    Function("diag", (1,), TENSOR, "vector (n) -> n x n diagonal matrix", r"\operatorname{diag}"),
    Function("softmax", (1,), TENSOR, "exp(v) / sum(exp(v)), computed stably", r"\operatorname{softmax}"),
    Function("logsumexp", (1,), TENSOR, "ln(sum(exp(v))), computed stably (a scalar)", r"\operatorname{logsumexp}"),
    Function("transpose", (1,), TENSOR, "A.T", r"\top"),
    Function("eye", (1,), CONSTRUCTOR, "n x n identity matrix", r"I"),
    Function("ones", (1, 2), CONSTRUCTOR, "ones(n): column of n ones; ones(m, n): m x n", r"\mathbf{1}"),
    Function("zeros", (1, 2), CONSTRUCTOR, "zeros(n): column of n zeros; zeros(m, n): m x n", r"\mathbf{0}"),
)

BY_NAME: dict[str, Function] = {f.name: f for f in FUNCTIONS}
ALIASES: dict[str, str] = {alias: f.name for f in FUNCTIONS for alias in f.aliases}
CONSTANTS: dict[str, str] = {"pi": "π", "e": "e"}
CONSTANT_ALIASES: dict[str, str] = {"π": "pi"}

# Limits of the expression language, stated in --help and enforced by the parser.
MAX_LENGTH = 10_000  # characters of one expression
MAX_DEPTH = 200  # nesting of parentheses, calls and operators
MAX_INT_POWER = 1_000  # |n| of a constant exponent; bigger powers are refused before SymPy sees them
MAX_CONSTANT = 1e300  # a literal bigger than this is refused (it would overflow on first use)
MAX_TENSOR_ENTRIES = 10_000_000  # entries of one tensor built by ones/zeros/eye or declared by a shape


def lookup(name: str) -> Function | None:
    """The row for `name` or one of its aliases, or None."""
    return BY_NAME.get(ALIASES.get(name, name))


def known_names() -> list[str]:
    """Every callable name and constant, for did-you-mean suggestions."""
    return sorted([*BY_NAME, *ALIASES, *CONSTANTS])


def limits_text() -> str:
    """The parser's limits as one sentence, for --help."""
    return (
        f"Limits: {MAX_LENGTH:,} characters, nesting depth {MAX_DEPTH}, constant powers up to "
        f"|{MAX_INT_POWER}|, literals up to {MAX_CONSTANT:g}."
    )
