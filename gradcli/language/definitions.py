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
    cycle = find_cycle(deps)
    if cycle:
        raise DefinitionError(f"the definitions form a cycle: {' -> '.join([*cycle, cycle[0]])}", where=where)
    done: set[str] = set()
    out: list[str] = []
    for root in deps:
        if root in done:
            continue
        done.add(root)
        stack = [(root, iter(deps[root]))]
        while stack:
            name, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                stack.pop()
                out.append(name)
            elif nxt not in done:
                done.add(nxt)
                stack.append((nxt, iter(deps[nxt])))
    return out


def find_cycle(uses: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle [a, b, ...] of the graph name -> the names it uses (iterative depth-first search, names and
    their uses in the order given), or None: a -> b -> a gives [a, b]."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in uses:
        if state.get(start):
            continue
        stack = [(start, iter(uses[start]))]
        trail = [start]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                trail.pop()
                continue
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(uses[nxt])))
                trail.append(nxt)
    return None


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
