"""Values for variables from the command line: `--at 1,3,2` (alphabetical) or `--at x=1,y=3,z=2`.

A value may be any constant expression of the language (`pi/2`, `-1e-3`, `2^0.5`); it must be finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradcli.errors import BindingError, ParseError
from gradcli.language.expr import Name, constant_value, parse, walk
from gradcli.text import number


@dataclass(frozen=True)
class Binding:
    values: dict[str, float]
    positional: bool  # bound by alphabetical order: the output says so

    def note(self) -> str | None:
        if not self.positional:
            return None
        shown = ", ".join(f"{k}={number(v, 6)}" for k, v in self.values.items())
        return f"positional values bind in alphabetical order: {shown}"


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside parentheses: 'x=log(8, 2),y=1' -> ['x=log(8, 2)', 'y=1']."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def constant(text: str, what: str) -> float:
    """A finite float from a constant expression, or BindingError naming `what`."""
    if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise BindingError(f"{what}: {text.strip()!r} is not a finite number (nan and inf are refused)", where="--at")
    try:
        node = parse(text, what="value")
    except ParseError as err:
        raise BindingError(f"{what}: {err.message}", where=f"--at {what}", detail=err.detail) from None
    if any(isinstance(n, Name) for n in walk(node)):
        raise BindingError(f"{what}: {text!r} is not a number (values may not use variables)", where="--at")
    value = constant_value(node)
    if value is None:
        from gradcli.numerics.forward import evaluate

        result = evaluate(node, {})
        if getattr(result, "size", 1) != 1:
            raise BindingError(f"{what}: {text!r} is not a scalar", where="--at")
        value = float(result.reshape(())) if hasattr(result, "reshape") else float(result)
    if not math.isfinite(value):
        raise BindingError(f"{what}: {text!r} is not a finite number (nan and inf are refused)", where="--at")
    return float(value)


def bind(at: str | None, names: list[str], option: str = "--at") -> Binding:
    """Bind `names` (sorted) from `--at` text; missing, extra, duplicate or non-finite values are exit 2."""
    if not names and not (at or "").strip():
        return Binding({}, False)
    if at is None or not at.strip():
        raise BindingError(f"values are needed for {', '.join(names)}: add {option} "
                           f"{','.join(f'{n}=...' for n in names)}", where=option)
    parts = split_top_level(at)
    if "" in parts:
        raise BindingError(f"value {parts.index('') + 1} of {len(parts)} is empty in {at!r}", where=option)
    named = [p for p in parts if "=" in p]
    if named and len(named) != len(parts):
        raise BindingError("mix of positional and named values; write all as NAME=VALUE or none", where=option)
    if not named:
        if len(parts) != len(names):
            raise BindingError(
                f"{len(parts)} value{'s' if len(parts) != 1 else ''} for {len(names)} variable"
                f"{'s' if len(names) != 1 else ''} ({', '.join(names)}, in alphabetical order)", where=option)
        return Binding({n: constant(p, n) for n, p in zip(names, parts)}, positional=len(names) > 1)
    values: dict[str, float] = {}
    for part in parts:
        key, _, text = part.partition("=")
        key = key.strip()
        if key in values:
            raise BindingError(f"{key!r} is given twice", where=option)
        if key not in names:
            raise BindingError(f"{key!r} is not a variable of the expression (variables: {', '.join(names) or 'none'})",
                               where=option)
        values[key] = constant(text, key)
    missing = [n for n in names if n not in values]
    if missing:
        raise BindingError(f"no value for {', '.join(missing)}", where=option)
    return Binding({n: values[n] for n in names}, positional=False)
