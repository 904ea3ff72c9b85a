"""Named intermediate definitions (`--where a=...`, a problem's `where:`): order them, find the inputs.

A system {a: (w+x+y)^2, b: (x-y-z)^2} with output c*(a-b)^2 is evaluated in dependency order; the inputs
are the free names that no definition defines, sorted alphabetically.
"""

from __future__ import annotations

from typing import Mapping

from gradcli.language import functions as F
from gradcli.errors import DefinitionError
from gradcli.language.expr import Node, free_names, parse
from gradcli.errors import ParseError

_IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def parse_definitions(items: list[str]) -> dict[str, tuple[Node, str]]:
    """`["a=(w+x+y)^2", ...]` -> {name: (tree, text)}; a bad name, a redefinition or bad text is exit 2."""
    defs: dict[str, tuple[Node, str]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise DefinitionError(f"expected NAME=EXPR, got {item!r}", where="--where")
        check_name(name, where="--where")
        if name in defs:
            raise DefinitionError(f"{name!r} is defined twice (every intermediate is defined once)",
                                  where=f"--where {name}")
        try:
            defs[name] = (parse(text), text)
        except ParseError as err:
            err.where = f"--where {name}, {err.where}"
            raise
    return defs


def check_name(name: str, where: str) -> None:
    """A definable name: an identifier that is not a function or a constant."""
    if not name or name[0].isdigit() or not set(name) <= _IDENT_CHARS:
        raise DefinitionError(f"{name!r} is not a valid name (letters, digits, _; not starting with a digit)", where=where)
    if F.lookup(name) is not None or name in F.CONSTANTS:
        raise DefinitionError(f"{name!r} is a built-in function or constant and cannot be redefined", where=where)


def order(defs: Mapping[str, Node], where: str = "--where") -> list[str]:
    """The definitions in an order where each comes after those it uses (depth-first, no recursion).

    A cycle raises DefinitionError naming it, e.g. 'a -> b -> a'.
    """
    deps = {name: [n for n in free_names(node) if n in defs] for name, node in defs.items()}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    out: list[str] = []
    for root in defs:
        if state.get(root) == 2:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            name, i = stack.pop()
            if i == 0:
                state[name] = 1
                path.append(name)
            if i < len(deps[name]):
                stack.append((name, i + 1))
                nxt = deps[name][i]
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt):] + [nxt]
                    raise DefinitionError(f"the definitions form a cycle: {' -> '.join(cycle)}", where=where)
                if state.get(nxt) is None:
                    stack.append((nxt, 0))
            else:
                state[name] = 2
                path.pop()
                out.append(name)
    return out


def inputs(output: Node, defs: Mapping[str, Node]) -> list[str]:
    """Free names of the output and the definitions that are not themselves defined, sorted."""
    names = set(free_names(output))
    for node in defs.values():
        names |= set(free_names(node))
    return sorted(names - set(defs))


def used(output: Node, defs: Mapping[str, Node]) -> list[str]:
    """The definitions the output depends on (directly or through others), in dependency order."""
    need = {n for n in free_names(output) if n in defs}
    frontier = list(need)
    while frontier:
        for n in free_names(defs[frontier.pop()]):
            if n in defs and n not in need:
                need.add(n)
                frontier.append(n)
    return [n for n in order(defs) if n in need]
