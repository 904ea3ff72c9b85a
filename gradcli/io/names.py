"""Checks on the names a YAML file uses, and how messages show what they found: known names, valid
identifiers, 'did you mean', a value's kind.
"""


from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from gradcli.errors import ParseError, SpecError
from gradcli.io.yaml_source import Path, YamlDoc
from gradcli.language import functions as F
from gradcli.language.expr import Name, Node, walk

if TYPE_CHECKING:
    pass

from gradcli.io.models import IDENTIFIER

# -------------------------------------------------------------------------------------------- helpers


def names_in(node: Node) -> list[str]:
    return [n.id for n in walk(node) if isinstance(n, Name)]


def check_known(node: Node, text: str, known: list[str], where: str, later: dict[str, int]) -> None:
    """Every name in a forward/loss expression must be defined above it."""
    known_set = set(known)
    for n in walk(node):
        if isinstance(n, Name) and n.id not in known_set:
            if n.id in later:
                hint = f"{n.id!r} is defined later in forward (line {later[n.id]}); definitions come before use"
            else:
                suggestion = difflib.get_close_matches(n.id, known, n=1, cutoff=0.6)
                hint = (f"did you mean {suggestion[0]}? " if suggestion else "") + \
                    "names must be inputs, params or earlier forward definitions"
            detail = ParseError("", text, n.col, hint).detail
            raise SpecError(f"unknown name {n.id!r} (column {n.col + 1})", where=where, detail=detail)


def check_name(doc: YamlDoc, path: Path, name: str) -> None:
    if not IDENTIFIER.match(name):
        raise doc.error(path, f"{name!r} is not a name: use letters, digits and _ (such as W0 or yhat)")
    if name.startswith("__"):
        raise doc.error(path, f"names starting with '__' are refused: {name!r}")
    if name in F.CONSTANTS:
        raise doc.error(path, f"{name!r} is a constant of the expression language; choose another name")
    if F.lookup(name) is not None:
        raise doc.error(path, f"{name!r} is a function of the expression language; choose another name")


def did_you_mean(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return f"the value {value!r}"


def shown_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def scalar_text(value: Any) -> str:
    return repr(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def shape_words(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else "(" + ", ".join(str(n) for n in shape) + ")"
