"""Jacobians by the sheets' convention, three ways, and index formulas such as X[i,l]*delta(j,k).

Shape convention (the problem-file format): the Jacobian of f with respect to V has shape (output shape) × (input shape),
where a scalar (or a 1×1 value) counts as (1), a column (n, 1) as (n) and a matrix (m, n) as (m, n):
∂‖w‖²/∂w is 1×d, ∂(Xw)/∂w is n×d, ∂(XWᵀ)/∂W is (n, k, k, d). J[o..., v...] = ∂f[o...]/∂V[v...].

Index formulas name the Jacobian's axes with the letters i, j, k, l, m, ... (output axes first, then the
input axes); inside them, and only there, a tensor may be subscripted (`X[i,l]`, `w[j]`, indices from 0)
and `delta(a, b)` is the Kronecker delta (1 when a = b, else 0).

`gradcli jacobian` (`jacobian(...)`) computes the entries at given or seeded random values three
independent ways: SymPy (the entries differentiated symbolically, then evaluated), the engine (one
backward pass per output entry with a one-hot seed: each pass is a vector-Jacobian product and gives one
row), and central differences over the NumPy forward (one column per input entry).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from gradcli.errors import BindingError, GradcliError, ParseError, ShapeError
from gradcli.language.expr import Index, Node, free_names, matching_paren, parse, walk

INDEX_LETTERS = "ijklmnop"
MAX_ENTRIES = 4096  # entries of a Jacobian checked entry by entry (index formulas, claim_entry)
MAX_SHOWN = 64  # entries whose formulas a result keeps for display

_DELTA = re.compile(r"(?<![A-Za-z0-9_])(delta|δ)\s*\(")
_SUBSCRIPT = re.compile(r"(?<![A-Za-z0-9_\]])([A-Za-z_][A-Za-z0-9_]*)\[(\d+)(?:,\s*(\d+))?\]")


# ============================================================================ the shape convention


def axes(shape: Sequence[int]) -> tuple[int, ...]:
    """The axes an array shape contributes to a Jacobian: () and (1, 1) -> (1), (n, 1) -> (n), (m, n) -> (m, n)."""
    shape = tuple(shape)
    if shape in ((), (1, 1)):
        return (1,)
    if len(shape) == 1:
        return shape
    return (shape[0],) if shape[1] == 1 else shape


def jacobian_shape(out_shape: Sequence[int], in_shape: Sequence[int]) -> tuple[int, ...]:
    """(output axes) + (input axes)."""
    return axes(out_shape) + axes(in_shape)


def describe_shape(shape: Sequence[int]) -> str:
    """'a scalar', 'a vector of 4 (a column 4×1)', 'a 3×4 matrix'."""
    shape = tuple(shape)
    if shape in ((), (1, 1)):
        return "a scalar" if shape == () else "1×1 (a scalar)"
    if len(shape) == 1 or shape[1] == 1:
        return f"a vector of {shape[0]} (a column {shape[0]}×1)"
    if shape[0] == 1:
        return f"a row 1×{shape[1]}"
    return f"a {shape[0]}×{shape[1]} matrix"


def shape_reason(of: str, out_shape: Sequence[int], wrt: str, in_shape: Sequence[int]) -> str:
    """Why the Jacobian has its shape: 'output X @ W.T is a 3×2 matrix -> (3, 2); input W is ... -> (2, 4)'."""
    out_axes, in_axes = axes(out_shape), axes(in_shape)
    total = out_axes + in_axes
    note = " (a scalar output counts as (1))" if tuple(out_shape) in ((), (1, 1)) else ""
    return (f"(output shape) × (input shape): {of} is {describe_shape(out_shape)} -> {_tuple(out_axes)}{note}; "
            f"{wrt} is {describe_shape(in_shape)} -> {_tuple(in_axes)}; so {_tuple(total)}")


def _tuple(t: Sequence[int]) -> str:
    return "(" + ", ".join(str(n) for n in t) + ")"


def parse_shape(text: str, name: str = "") -> tuple[int, ...]:
    """'3x4' / '3×4' / '3,4' / '[3, 4]' -> (3, 4); '4' -> the column (4, 1); '' or 'scalar' -> ()."""
    from gradcli.language import functions as F

    raw = text.strip().lower()
    where = f"--shape {name}" if name else "--shape"
    if raw in ("", "scalar", "()", "[]"):
        return ()
    raw = raw.strip("[]()")
    parts = [p for p in re.split(r"\s*(?:x|×|,|\*)\s*", raw)]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise BindingError(f"{text!r} is not a shape: write sizes like 3x4 (a matrix), 4 (a column vector) or "
                           "scalar", where=where)
    sizes = tuple(int(p) for p in parts)
    if len(sizes) > 2:
        raise BindingError(f"{text!r} has {len(sizes)} axes; values are scalars, vectors or matrices", where=where)
    if math.prod(sizes) > F.MAX_TENSOR_ENTRIES:
        raise BindingError(f"{text!r} has {math.prod(sizes):,} entries; the limit is {F.MAX_TENSOR_ENTRIES:,}",
                           where=where)
    return (sizes[0], 1) if len(sizes) == 1 else sizes


def array_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """A declared shape as the array holds it: (n,) -> (n, 1); () and (m, n) unchanged."""
    shape = tuple(int(s) for s in shape)
    return (shape[0], 1) if len(shape) == 1 else shape


# ============================================================================ index formulas


def index_letters(count: int) -> list[str]:
    """The letters of a Jacobian's axes: i, j, k, l, ... (at most len(INDEX_LETTERS))."""
    if count > len(INDEX_LETTERS):
        raise ShapeError(f"a Jacobian with {count} axes has more axes than index letters ({INDEX_LETTERS})")
    return list(INDEX_LETTERS[:count])


def rewrite_delta(text: str) -> str:
    """`delta(j, k)` -> `delta[j, k]` (the parser's subscript form), keeping every column in place."""
    out = list(text)
    for match in _DELTA.finditer(text):
        open_at = match.end() - 1
        close_at = matching_paren(text, open_at)
        if close_at is not None:
            out[open_at], out[close_at] = "[", "]"
    rewritten = "".join(out)
    return rewritten.replace("δ[", "delta[")


def parse_entry(text: str, what: str = "claim_entry") -> Node:
    """Parse an index formula (subscripts and delta allowed)."""
    return parse(rewrite_delta(text), allow_index=True, what=what)


def check_entry_names(node: Node, letters: Sequence[str], shapes: Mapping[str, Any]) -> None:
    """Every subscripted name has a shape, delta takes two indices, index letters are not variables."""
    if "delta" in shapes:
        raise ShapeError("'delta' is the Kronecker delta in entry formulas; rename the variable called delta")
    clash = sorted(set(letters) & set(shapes))
    if clash:
        raise ShapeError(f"the index letter{'s' if len(clash) > 1 else ''} {', '.join(clash)} "
                         f"{'are' if len(clash) > 1 else 'is'} also a variable; the axes are named "
                         f"{', '.join(letters)} (rename the variable)")
    for n in walk(node):
        if isinstance(n, Index):
            if n.base.id == "delta":
                if len(n.indices) != 2:
                    raise ShapeError(f"delta takes two indices, as in delta(j, k); found {len(n.indices)}",
                                     where=f"column {n.col + 1}")
            elif n.base.id not in shapes:
                raise BindingError(f"{n.base.id!r} is subscripted but has no shape", where=f"column {n.col + 1}")
    unknown = [name for name in free_names(node) if name not in shapes and name not in letters and name != "delta"]
    if unknown:
        extra = len(letters)
        hint = (f"; this Jacobian has {extra} axes, named {', '.join(letters)}"
                if any(len(u) == 1 and u in INDEX_LETTERS for u in unknown) else "")
        raise BindingError(f"unknown name{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in the "
                           f"entry formula{hint}")


def entry_array(node: Node, env: Mapping[str, Any], shape: Sequence[int], letters: Sequence[str]):
    """The entries of an index formula over every index of `shape`, as a SymPy N-dim array.

    `env` binds the tensors (SymPy values); each letter is bound to its axis' index (from 0) and
    delta to an identity matrix big enough for every axis.
    """
    import sympy



    from gradcli.symbolic import convert as SC

    shape = tuple(shape)
    size = math.prod(shape)
    if size > MAX_ENTRIES:
        raise ShapeError(f"the Jacobian has {size:,} entries; entry formulas are checked up to {MAX_ENTRIES:,}")
    base = dict(env)
    base["delta"] = sympy.ImmutableMatrix(sympy.eye(max(shape)))
    values = []
    for idx in itertools.product(*(range(n) for n in shape)):
        local = dict(base)
        local.update({letter: sympy.Integer(v) for letter, v in zip(letters, idx)})
        v = SC.as_scalar(SC.to_sympy(node, local))
        if isinstance(v, sympy.MatrixBase):
            raise ShapeError(f"the entry formula gives a {v.shape[0]}×{v.shape[1]} value at "
                             f"{_index_text(letters, idx)}; an entry is a number")
        values.append(v)
    return sympy.ImmutableDenseNDimArray(values, shape)


def _index_text(letters: Sequence[str], idx: Sequence[int]) -> str:
    return ", ".join(f"{a}={v}" for a, v in zip(letters, idx))


def first_mismatch(truth, claimed, syms: Sequence, points: Sequence[Mapping[str, float]],
                   rtol: float = 1e-8) -> dict | None:
    """The first index (row-major) where two entry arrays differ at some sample point, or None.

    Entries are compared numerically: |a - b| <= rtol·max(|a|, |b|) + 1e-12·(the array's largest entry), so
    float rounding around zero entries never counts. Returns {"index", "at", "right", "claimed"}.
    """
    import numpy as np


    from gradcli.symbolic import compile as SN


    shape = tuple(truth.shape)
    flat_t, flat_c = flat_entries(truth), flat_entries(claimed)
    n = len(flat_t)
    syms = list(syms)
    fn = SN.compile_numeric([_column(flat_t), _column(flat_c)], syms)
    bad_at: dict[int, tuple] = {}
    for point in points:
        values = [float(point[str(s)]) for s in syms]
        a, b = (np.asarray(v, dtype=float).reshape(n) for v in fn(*values))
        finite = np.isfinite(a) & np.isfinite(b)
        if not finite.any():
            continue
        scale = max(1.0, float(np.max(np.abs(np.where(finite, a, 0.0)))))
        with np.errstate(all="ignore"):
            off = finite & (np.abs(a - b) > rtol * np.maximum(np.abs(a), np.abs(b)) + 1e-12 * scale)
        for k in np.flatnonzero(off):
            k = int(k)
            if k not in bad_at:
                bad_at[k] = (values, float(a[k]), float(b[k]))
    if not bad_at:
        return None
    k = min(bad_at)
    values, a, b = bad_at[k]
    idx = tuple(int(i) for i in np.unravel_index(k, shape))
    return {"index": list(idx), "at": {str(s): v for s, v in zip(syms, values)}, "right": a, "claimed": b}


def flat_entries(array) -> list:
    """The entries of a SymPy N-dim array in row-major order."""
    return [array[idx] for idx in itertools.product(*(range(n) for n in array.shape))]


def _column(entries: list):
    import sympy

    return sympy.ImmutableMatrix(len(entries), 1, entries) if entries else sympy.ImmutableMatrix(1, 1, [0])


def find_index_formula(J, env: Mapping[str, Any], letters: Sequence[str], syms: Sequence,
                       point: Mapping[str, float]) -> str | None:
    """An index formula for the Jacobian J (a SymPy N-dim array), or None when none is found.

    The generic entries (no two index values equal) give a template: the entry's formula with each
    subscript number replaced by the letter whose index has that value. Entries where it fails get
    `delta(a, b)*(...)` terms for the equal pair a, b, built the same way from the residual. The result
    is verified against every entry (numerically at `point`).
    """
    import sympy

    shape = tuple(J.shape)
    if math.prod(shape) > MAX_ENTRIES:
        return None
    entries = {idx: J[idx] for idx in itertools.product(*(range(n) for n in shape))}
    if all(e == 0 for e in entries.values()):
        return "0"
    pairs = [(a, b) for a, b in itertools.combinations(range(len(letters)), 2)]

    def pattern(idx):
        return frozenset(p for p in pairs if idx[p[0]] == idx[p[1]])

    groups: dict[frozenset, list[tuple]] = {}
    for idx in entries:
        groups.setdefault(pattern(idx), []).append(idx)
    generic = min(groups, key=len)
    terms: list[tuple[tuple[int, int] | None, str]] = []
    base = _template(entries[_representative(groups[generic])], _representative(groups[generic]), letters, env)
    if base is None:
        return None
    if base != "0":
        terms.append((None, base))
    text = _join(terms, letters)
    mismatched = _mismatches(text, entries, env, letters, shape, syms, point)
    if mismatched is None:
        return None
    for _ in range(3):  # at most three delta terms
        if not mismatched:
            return text
        common = set.intersection(*(set(pattern(idx)) for idx in mismatched))
        candidates = sorted(common) or sorted({p for idx in mismatched for p in pattern(idx)})
        best = None
        for pair in candidates:
            todo = [idx for idx in mismatched if pair in pattern(idx)]
            fewest = min(len(pattern(idx)) for idx in todo)
            rep = _representative([idx for idx in todo if len(pattern(idx)) == fewest])
            current = _evaluate_text(text, env, letters, rep)
            if current is None:
                continue
            residual = entries[rep] - current
            if _small(residual):
                residual = sympy.simplify(residual)
            tpl = _template(residual, rep, letters, env, prefer=pair)
            if tpl is None or tpl == "0":
                continue
            candidate = _join([*terms, (pair, tpl)], letters)
            left = _mismatches(candidate, entries, env, letters, shape, syms, point)
            if left is None:
                continue
            if best is None or len(left) < len(best[2]):
                best = (pair, tpl, left, candidate)
            if not left:
                break
        if best is None or len(best[2]) >= len(mismatched):
            return None
        terms.append((best[0], best[1]))
        mismatched, text = best[2], best[3]
    return text if not mismatched else None


def _small(expr) -> bool:
    import sympy

    return sympy.count_ops(expr) < 60


def _representative(idxs: list[tuple]) -> tuple:
    """The index with the most distinct values (so subscript numbers map to letters unambiguously)."""
    return max(idxs, key=lambda idx: (len(set(idx)), [-v for v in idx]))


def _template(expr, idx: tuple, letters: Sequence[str], env: Mapping[str, Any],
              prefer: tuple[int, int] | None = None) -> str | None:
    """expr's text with every subscript number replaced by the letter whose index value it is."""
    from gradcli.symbolic import printing as SP
    text = SP.to_text(expr)
    text = _fold_logsumexp(text, env)
    by_value: dict[int, list[str]] = {}
    for pos, (letter, v) in enumerate(zip(letters, idx)):
        by_value.setdefault(v, []).append(letter)

    def letter_for(number: str) -> str:
        choices = by_value.get(int(number))
        if not choices:
            return number
        if prefer is not None and letters[prefer[0]] in choices:
            return letters[prefer[0]]
        return choices[0]

    def sub(match: re.Match) -> str:
        name, a, b = match.group(1), match.group(2), match.group(3)
        if name not in env:
            return match.group(0)
        if b is None:
            return f"{name}[{letter_for(a)}]"
        return f"{name}[{letter_for(a)},{letter_for(b)}]"

    out = _SUBSCRIPT.sub(sub, text)
    try:
        parse_entry(out, "index formula")
    except ParseError:
        return None
    return out


def _fold_logsumexp(text: str, env: Mapping[str, Any]) -> str:
    """`logsumexp(z[0], z[1], z[2])` (a whole tensor, in order) -> `logsumexp(z)`."""
    import sympy

    for name, value in env.items():
        if isinstance(value, sympy.MatrixBase):
            listed = ", ".join(str(s) for s in value)
            text = text.replace(f"logsumexp({listed})", f"logsumexp({name})")
    return text


def _join(terms: list[tuple[tuple[int, int] | None, str]], letters: Sequence[str]) -> str:
    if not terms:
        return "0"
    parts = []
    for pair, tpl in terms:
        if pair is None:
            parts.append(tpl)
            continue
        delta = f"delta({letters[pair[0]]},{letters[pair[1]]})"
        if tpl == "1":
            parts.append(delta)
        elif re.fullmatch(r"[A-Za-z0-9_\[\],.]+", tpl) or _is_product(tpl):
            parts.append(f"{tpl}*{delta}")
        else:
            parts.append(f"({tpl})*{delta}")
    text = parts[0]
    for p in parts[1:]:
        text += f" - {p[1:]}" if p.startswith("-") and not p.startswith("-(") else f" + {p}"
    return text


def _is_product(tpl: str) -> bool:
    """No top-level + or - (so `tpl*delta(...)` needs no parentheses)."""
    depth = 0
    for pos, ch in enumerate(tpl):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch in "+-" and depth == 0 and pos > 0 and tpl[pos - 1] not in "e*/^(":
            return False
    return True


def _evaluate_text(text: str, env: Mapping[str, Any], letters: Sequence[str], idx: tuple):
    import sympy



    from gradcli.symbolic import convert as SC

    try:
        node = parse_entry(text, "index formula")
        local = dict(env)
        local["delta"] = sympy.ImmutableMatrix(sympy.eye(max(idx) + 1))
        local.update({a: sympy.Integer(v) for a, v in zip(letters, idx)})
        return SC.as_scalar(SC.to_sympy(node, local))
    except GradcliError:
        return None


def _mismatches(text: str, entries: dict, env, letters, shape, syms, point) -> list[tuple] | None:
    """The indices where the formula differs from the entries (numerically at `point`), or None if it fails."""
    import numpy as np


    from gradcli.symbolic import compile as SN


    try:
        node = parse_entry(text, "index formula")
        claimed = entry_array(node, env, shape, letters)
    except GradcliError:
        return None
    keys = list(entries)
    syms = list(syms)
    fn = SN.compile_numeric([_column([entries[k] for k in keys]), _column(flat_entries(claimed))], syms)
    a, b = (np.asarray(v, dtype=float).reshape(-1) for v in fn(*[float(point[str(s)]) for s in syms]))
    scale = max(1.0, float(np.nanmax(np.abs(a))) if a.size else 1.0)
    with np.errstate(all="ignore"):
        off = ~(np.abs(a - b) <= 1e-9 * np.maximum(np.abs(a), np.abs(b)) + 1e-12 * scale)
    return [keys[k] for k in np.flatnonzero(off)]


# ============================================================================ `gradcli jacobian`


@dataclass
class JacobianResult:
    """The Jacobian of `expression` with respect to `wrt` at `at`, three ways, and its verdict."""

    expression: str
    wrt: str
    shapes: dict[str, tuple[int, ...]]  # every variable's array shape (scalars: ())
    at: dict[str, Any]  # the values used (numbers or nested lists)
    random: list[str]  # names that got seeded random values
    seed: int
    output_shape: tuple[int, ...]
    input_shape: tuple[int, ...]
    shape: tuple[int, ...]
    shape_reason: str
    letters: list[str]
    index_formula: str | None
    formulas: list[str] | None  # the symbolic entries in row-major order (None when too many to keep)
    symbolic: list | None  # nested lists of the Jacobian's shape
    backprop: list
    numeric: list
    numeric_error: list
    verdict: str  # agree | disagree | kink
    rel_error: float
    odd_one_out: str | None
    reason: str
    worst_index: list[int] | None
    defaults: list[str] = field(default_factory=list)  # names taken as scalars because no --shape was given
    symbolic_note: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "disagree" else 0


def parse_values(items: Sequence[str]) -> dict[str, Any]:
    """`--at` items: 'x=1,c=2', 'w=[1, 2, 3]', 'X=[[1,2],[3,4]]' (repeatable) -> {name: number or nested list}."""
    from gradcli.io.bindings import constant, split_top_level

    out: dict[str, Any] = {}
    for item in items:
        for part in split_top_level(item):
            if not part:
                continue
            name, sep, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not sep or not name:
                raise BindingError(f"expected NAME=VALUE, got {part!r}", where="--at")
            if name in out:
                raise BindingError(f"{name!r} is given twice", where="--at")
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise BindingError(f"{name}: {text!r} is not a list of numbers such as [1, 2] or "
                                       "[[1, 2], [3, 4]]", where="--at") from None
                out[name] = _checked_list(name, value)
            else:
                out[name] = constant(text, name)
    return out


def _checked_list(name: str, value: Any) -> Any:
    import numpy as np

    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise BindingError(f"{name}: the value must be a rectangular list of numbers", where="--at") from None
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise BindingError(f"{name}: give a flat list (a column vector) or a list of rows (a matrix)", where="--at")
    if not np.all(np.isfinite(arr)):
        raise BindingError(f"{name}: values must be finite", where="--at")
    return value


def jacobian(expression: str, wrt: str, shapes: Mapping[str, str | Sequence[int]] | None = None,
             at: Mapping[str, Any] | Sequence[str] | None = None, *, seed: int = 0,
             simplify_seconds: float = 1.0) -> JacobianResult:
    """The Jacobian of `expression` with respect to the variable `wrt`, by the problem-file format's shape convention.

    `shapes` maps names to shapes ('3x4', '4', (3, 4)); a name without one is a scalar. `at` gives values
    (numbers or nested lists, or `--at` items); the others get seeded random values in ±[0.2, 2].
    """
    import numpy as np

    from gradcli.symbolic import calculus as S

    from gradcli.symbolic import compile as SN

    from gradcli.symbolic import convert as SC

    from gradcli.symbolic import printing as SP
    node = parse(expression)
    names = free_names(node)
    declared = {}
    for name, shape in (shapes or {}).items():
        declared[name] = parse_shape(shape, name) if isinstance(shape, str) else array_shape(shape)
    values_in = parse_values(at) if isinstance(at, (list, tuple)) else dict(at or {})
    for name in [*declared, *values_in]:
        if name not in names and name != wrt:
            raise BindingError(f"{name!r} is not a variable of the expression (variables: {', '.join(names) or 'none'})",
                               where="--shape" if name in declared else "--at")
    if wrt not in names and wrt not in declared:
        raise BindingError(f"{wrt!r} is not a variable of the expression (variables: {', '.join(names) or 'none'}); "
                           "to differentiate a constant with respect to a vector, give its --shape", where="--wrt")
    variables = sorted(set(names) | {wrt})
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    random: list[str] = []
    for name in variables:
        if name in values_in:
            arr = np.array(values_in[name], dtype=np.float64)
            if arr.ndim == 1:
                arr = arr.reshape(-1, 1)
            if name in declared and arr.shape != declared[name] and not (declared[name] == () and arr.size == 1):
                raise BindingError(f"{name} has --shape {_tuple(declared[name])} but its value has shape "
                                   f"{_tuple(arr.shape)}", where="--at")
            values[name] = arr.reshape(declared.get(name, arr.shape))
        else:
            shape = declared.get(name, ())
            draw = rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
            values[name] = np.round(np.asarray(draw, dtype=np.float64), 2)
            random.append(name)
    all_shapes = {name: tuple(values[name].shape) for name in variables}
    defaults = [n for n in variables if n not in declared and n not in values_in]

    # symbolic column
    env = {name: SC.entry_symbols(name, shape) for name, shape in all_shapes.items()}
    try:
        out_sym = SC.to_sympy(node, env)
    except ShapeError as err:
        if not defaults:
            raise
        note = (f" ({', '.join(defaults)} {'have' if len(defaults) > 1 else 'has'} no --shape, so "
                f"{'they are scalars' if len(defaults) > 1 else 'it is a scalar'})")
        raise ShapeError(err.message + note, where=err.where, detail=err.detail) from None
    out_shape = SC.shape_of(SC.as_scalar(out_sym)) if SC.shape_of(out_sym) == (1, 1) else SC.shape_of(out_sym)
    in_shape = all_shapes[wrt]
    J = S.jacobian_entries(out_sym, env[wrt])
    shape = tuple(int(n) for n in J.shape)
    syms = [s for name in variables for s in SC.flat_symbols(env[name])]
    point = {str(s): float(v) for name in variables for s, v in zip(SC.flat_symbols(env[name]), values[name].ravel())}
    fn = SN.compile_numeric([_column(flat_entries(J))], syms)
    symbolic = np.asarray(fn(*[point[str(s)] for s in syms])[0], dtype=float).reshape(shape)
    letters = index_letters(len(shape))
    from gradcli.timebound import bounded

    note = None
    formula = bounded(simplify_seconds * 4, find_index_formula, J, env, letters, syms, point, fallback=None,
                      catch=(GradcliError, ValueError, TypeError))
    entries = flat_entries(J)
    formulas = None
    if len(entries) <= MAX_SHOWN:
        budget = simplify_seconds / max(1, len(entries))
        formulas = [_fold_logsumexp(SP.to_text(S.simplified(e, budget)), env) for e in entries]

    backprop = _engine_rows(node, values, wrt, shape)
    numeric, error = _numeric_columns(node, values, wrt, shape)

    from gradcli.numerics.compare import judge_array

    v = judge_array(symbolic, backprop, numeric, error)
    label = expression if len(expression) <= 40 else "the output"
    return JacobianResult(
        expression=expression, wrt=wrt, shapes=all_shapes, at={n: _listed(values[n]) for n in variables},
        random=random, seed=seed, output_shape=tuple(out_shape), input_shape=tuple(in_shape), shape=shape,
        shape_reason=shape_reason(label, out_shape, wrt, in_shape), letters=letters, index_formula=formula,
        formulas=formulas, symbolic=symbolic.tolist(), backprop=backprop.tolist(), numeric=numeric.tolist(),
        numeric_error=error.tolist(), verdict=v.verdict, rel_error=float(v.rel_error), odd_one_out=v.odd_one_out,
        reason=v.reason, worst_index=list(v.worst_index) if v.worst_index is not None else None,
        defaults=defaults, symbolic_note=note)


def _listed(value) -> Any:
    """A value as the network-spec format reports it: a number, a flat list for a column vector, rows for a matrix."""
    if value.ndim == 0:
        return float(value)
    if value.ndim == 2 and value.shape[1] == 1:
        return value.reshape(-1).tolist()
    return value.tolist()


def _engine_rows(node: Node, values: Mapping[str, Any], wrt: str, shape: tuple[int, ...]):
    """The engine column, one row per output entry: backward with a one-hot seed is a vector-Jacobian product."""
    import numpy as np

    from gradcli.numerics import engine

    leaves = {name: engine.leaf(v, name) for name, v in values.items()}
    out = engine.evaluate(node, leaves)
    n_out = out.data.size
    n_in = int(np.asarray(values[wrt]).size)
    rows = np.zeros((n_out, n_in))
    for o in range(n_out):
        seed = np.zeros(out.data.shape)
        seed.flat[o] = 1.0
        grads = engine.backward(out, seed)
        if wrt in grads:
            rows[o] = np.asarray(grads[wrt]).reshape(-1)
    return rows.reshape(shape)


def _numeric_columns(node: Node, values: Mapping[str, Any], wrt: str, shape: tuple[int, ...]):
    """Central differences over the NumPy forward: every output entry's gradient with respect to wrt."""
    import numpy as np

    from gradcli.numerics import finite_diff, forward

    x = np.asarray(values[wrt], dtype=np.float64)
    fixed = {name: np.asarray(v, dtype=np.float64)[None] for name, v in values.items() if name != wrt}
    cache: dict[bytes, np.ndarray] = {}

    def outputs(X: np.ndarray) -> np.ndarray:
        key = X.tobytes() + str(X.shape).encode()
        if key not in cache:
            cache.clear()
            out = forward.evaluate(node, {**fixed, wrt: X}, batch=True)
            flat = out.reshape(out.shape[0], -1)
            cache[key] = np.broadcast_to(flat, (X.shape[0], flat.shape[1]))
        return cache[key]

    n_out = outputs(x[None]).shape[1]
    cols = np.zeros((n_out, x.size))
    errs = np.zeros((n_out, x.size))
    for o in range(n_out):
        res = finite_diff.gradient(lambda X, o=o: outputs(X)[:, o], x)
        cols[o] = res.value.reshape(-1)
        errs[o] = res.error.reshape(-1)
    return cols.reshape(shape), errs.reshape(shape)
