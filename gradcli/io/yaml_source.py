"""YAML text -> plain Python values that remember where each one was written (file, YAML path, line).

Only what `yaml.safe_load` would build is built: null, booleans, numbers, strings, lists and mappings
(scalars go through PyYAML's SafeConstructor; any other tag is refused). Before anything is built the
document is measured, so hostile files fail fast with a SpecError instead of eating memory or time:

- files larger than MAX_FILE_BYTES are refused before they are read;
- collections nested deeper than MAX_NESTING are refused while scanning events (before composing);
- aliases are counted, not followed: the size and depth of the fully expanded document are computed
  on the composed graph (each anchored node once), and a document that would expand to more than
  MAX_NODES nodes ("billion laughs") or nest deeper than MAX_NESTING is refused before it is built.

Mapping keys are kept as the text written in the file (`1:` is the key "1", `on:` the key "on"), and a
key written twice in one mapping is an error (safe_load would silently keep the last one).
A YAML path is a tuple of keys and list indices, printed as `params.W0.shape` or `claims[3].claim`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Union

from gradcli.errors import SpecError

MAX_FILE_BYTES = 2 * 1024 * 1024  # a spec or problem file is a page of text, not a data set
MAX_NODES = 1_000_000  # nodes of the document after every alias is expanded
MAX_NESTING = 100  # depth of nested lists / mappings

Path = tuple[Union[str, int], ...]

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", _STR,
}
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp"}  # kept as the text written (a date is not a number here)


class Loc(NamedTuple):
    """Where a value was written: 1-based line and column, and for a scalar its exact source text."""

    line: int
    column: int
    text: str | None = None


@dataclass
class YamlDoc:
    """A loaded YAML document: `data` (plain values) and the location of every path in it."""

    file: str
    data: Any
    locs: dict[Path, Loc] = field(default_factory=dict)
    labels: dict[Path, str] = field(default_factory=dict)  # printed instead of a path prefix, e.g.
    # ('claims', 3) -> "claims[3] 'dv/dx'", so every message inside a claim names its id

    def loc(self, path: Path) -> Loc | None:
        """The location of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            found = self.locs.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]

    def line(self, path: Path) -> int | None:
        found = self.loc(path)
        return found.line if found else None

    def source_text(self, path: Path) -> str | None:
        """The scalar at `path` exactly as written (`40.10` stays '40.10'), or None for a collection."""
        found = self.locs.get(tuple(path))
        return found.text if found else None

    def where(self, path: Path, label: str | None = None) -> str:
        """'FILE: yaml.path (line N)'; `label` replaces the printed path (e.g. "claims[3] 'dv/dx'")."""
        shown = label if label is not None else self.label(path)
        line = self.line(path)
        head = f"{self.file}: {shown}" if shown else self.file
        return f"{head} (line {line})" if line is not None else head

    def label(self, path: Path) -> str:
        """The printed form of `path`: its longest labelled prefix, then the rest as a YAML path."""
        path = tuple(path)
        for k in range(len(path), 0, -1):
            if path[:k] in self.labels:
                rest = format_path(path[k:])
                return self.labels[path[:k]] + (f" {rest}" if rest else "")
        return format_path(path)

    def error(self, path: Path, message: str, detail: str | None = None, label: str | None = None) -> SpecError:
        return SpecError(message, where=self.where(path, label), detail=detail)


def format_path(path: Iterable[str | int]) -> str:
    """('params', 'W0', 'shape') -> 'params.W0.shape'; ('claims', 3, 'id') -> 'claims[3].id'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


# ------------------------------------------------------------------------------------------ loading


def read_file(path: str | os.PathLike) -> YamlDoc:
    """Read and load one YAML file; every failure (missing, too big, not UTF-8, bad YAML) is a SpecError."""
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
    except FileNotFoundError:
        raise SpecError("no such file", where=name) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", where=name) from None
    if os.path.isdir(name):
        raise SpecError("is a directory, not a YAML file", where=name)
    if size > MAX_FILE_BYTES:
        raise SpecError(f"the file is {size:,} bytes; the limit for a spec or problem file is {MAX_FILE_BYTES:,}",
                        where=name)
    try:
        with open(name, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", where=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"the file is larger than the limit of {MAX_FILE_BYTES:,} bytes", where=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise SpecError(f"the file is not UTF-8 text (byte {exc.start})", where=f"{name} (line {line})") from None
    return load_text(text, name)


def load_text(text: str, file: str = "<string>") -> YamlDoc:
    """Load YAML `text` (named `file` in messages) into a YamlDoc, with all the limits of this module."""
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise SpecError(f"the text is larger than the limit of {MAX_FILE_BYTES:,} bytes", where=file)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_nesting(yaml, text, loader, file)
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", where=file) from None
    if root is None:
        raise SpecError("the file is empty", where=file)
    _measure(root, file)
    doc = YamlDoc(file, None)
    doc.data = _Builder(doc).build(root, ())
    return doc


def _check_nesting(yaml: Any, text: str, loader: Any, file: str) -> None:
    """Refuse nesting deeper than MAX_NESTING with our message, whatever the PyYAML version.

    libyaml (PyYAML's C loader, 6.0.4 and later) stops at its own depth limit of 1000 while it scans
    ahead for simple keys, before our event check sees level 101. Its refusal is then replaced by ours:
    the pure-Python parser, which has no such limit and never recurses, finds where level 101 opens.
    """
    try:
        _check_event_nesting(yaml, text, loader, file)
    except yaml.YAMLError as exc:
        if loader is yaml.SafeLoader or "nesting depth" not in str(exc):
            raise
        _check_event_nesting(yaml, text, yaml.SafeLoader, file)
        raise


def _check_event_nesting(yaml: Any, text: str, loader: Any, file: str) -> None:
    """Refuse deep nesting from the event stream (no recursion), before the recursive composer runs."""
    levels: list[list[Any]] = []  # per open collection: [is_mapping, events seen, last key]
    for event in yaml.parse(text, Loader=loader):
        starts = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if starts or isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            if levels:
                level = levels[-1]
                if level[0] and level[1] % 2 == 0:
                    level[2] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                level[1] += 1
        if starts:
            levels.append([isinstance(event, yaml.MappingStartEvent), 0, None])
            if len(levels) > MAX_NESTING:
                path = tuple(lv[2] if lv[0] else lv[1] - 1 for lv in levels[:-1])
                raise SpecError(f"the document nests deeper than {MAX_NESTING} levels",
                                where=_short_where(file, path, event.start_mark.line + 1))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            levels.pop()


def _short_where(file: str, path: Path, line: int) -> str:
    """'FILE: a.b.c... (line N)', the path cut after four parts (deep nesting makes long paths)."""
    shown = format_path(path[:4]) + ("..." if len(path) > 4 else "")
    return f"{file}: {shown} (line {line})" if shown else f"{file} (line {line})"


def _path_to(root: Any, target: Any) -> Path:
    """The first YAML path (breadth-first) at which the composed node `target` appears."""
    import yaml

    seen = {id(root)}
    queue: list[tuple[Any, Path]] = [(root, ())]
    for node, path in queue:
        if node is target:
            return path
        if isinstance(node, yaml.MappingNode):
            children = [(v, (*path, k.value)) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            children = [(v, (*path, i)) for i, v in enumerate(node.value)]
        else:
            children = []
        for child, sub in children:
            if id(child) not in seen:
                seen.add(id(child))
                queue.append((child, sub))
    return ()


def _syntax_error(exc: Any, text: str, file: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return SpecError(f"invalid YAML: {problem}", where=file)
    line, column = mark.line + 1, mark.column + 1
    lines = text.splitlines()
    detail = None
    if 0 <= mark.line < len(lines):
        shown = lines[mark.line].replace("\t", " ")
        if len(shown) <= 120:
            detail = f"  {shown}\n  {' ' * mark.column}^"
    if exc.context and exc.problem and exc.problem.startswith("but found"):
        problem = f"{exc.context}, {exc.problem}"  # 'expected a single document in the stream, but found ...'
    elif exc.context and exc.problem:
        problem = f"{exc.problem} ({exc.context})"
    return SpecError(f"invalid YAML: {problem}", where=f"{file} (line {line}, column {column})", detail=detail)


def _collection_children(node: Any, scalar_type: type, mapping_type: type) -> tuple[list[Any], int]:
    """The child collections of a sequence or mapping node (keys included), and its number of scalars."""
    items = [part for pair in node.value for part in pair] if isinstance(node, mapping_type) else node.value
    kids = [k for k in items if type(k) is not scalar_type]
    return kids, len(items) - len(kids)


def _measure(root: Any, file: str) -> None:
    """Size and depth of the document with every alias expanded, computed once per composed node.

    Iterative post-order walk with memo: a billion-laughs document has a few dozen composed nodes
    but 10^9 expanded ones; this counts them in microseconds and refuses before anything is built.
    A recursive alias (`&a [*a]`) would expand forever: refused too.
    """
    import yaml

    scalar_type = yaml.ScalarNode
    if type(root) is scalar_type:
        return

    def where(node: Any) -> str:
        return _short_where(file, _path_to(root, node), node.start_mark.line + 1)

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids, scalars = _collection_children(node, scalar_type, yaml.MappingNode)
        if done:
            total = 1 + scalars + sum(size[id(k)] for k in kids)
            deepest = 1 + max([depth[id(k)] for k in kids] + [1 if scalars else 0])
            size[key], depth[key] = min(total, MAX_NODES + 1), deepest
            on_path.discard(key)
            if total > MAX_NODES:
                raise SpecError(f"the document expands to more than {MAX_NODES:,} values through its aliases "
                                "(a 'billion laughs' file?)", where=where(node))
            if deepest > MAX_NESTING + 1:
                raise SpecError(f"the document nests deeper than {MAX_NESTING} levels through its aliases",
                                where=where(node))
            continue
        if key in size:
            continue
        if key in on_path:
            raise SpecError("an alias refers to a collection that contains it (a recursive alias)",
                            where=where(node))
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)


class _Builder:
    """Composed nodes -> plain values, recording a Loc per path (depth is bounded by `_measure`)."""

    def __init__(self, doc: YamlDoc):
        import yaml

        self.yaml = yaml
        self.doc = doc
        self.constructor = yaml.constructor.SafeConstructor()
        self.node_locs: dict[int, Loc] = {}  # an aliased node is built many times: its Loc and
        self.scalars: dict[int, Any] = {}  # scalar value are made once

    def error(self, node: Any, message: str) -> SpecError:
        return SpecError(message, where=f"{self.doc.file} (line {node.start_mark.line + 1})")

    def build(self, node: Any, path: Path) -> Any:
        key = id(node)
        if path not in self.doc.locs:
            loc = self.node_locs.get(key)
            if loc is None:
                text = node.value if isinstance(node, self.yaml.ScalarNode) else None
                loc = self.node_locs[key] = Loc(node.start_mark.line + 1, node.start_mark.column + 1, text)
            self.doc.locs[path] = loc
        if key in self.scalars:
            return self.scalars[key]
        if isinstance(node, self.yaml.ScalarNode):
            value = self.scalars[key] = self.scalar(node, path)
            return value
        if isinstance(node, self.yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.doc.error(path, f"the YAML tag {node.tag!r} is not allowed (only plain lists)")
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag != _MAP:
            raise self.doc.error(path, f"the YAML tag {node.tag!r} is not allowed (only plain mappings)")
        return self.mapping(node, path)

    def scalar(self, node: Any, path: Path) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise self.doc.error(path, f"the YAML tag {node.tag!r} is not allowed here")
        try:
            value = self.constructor.yaml_constructors[node.tag](self.constructor, node)
        except (ValueError, OverflowError):
            raise self.doc.error(path, f"the number {node.value[:40]!r} cannot be read") from None
        except self.yaml.YAMLError as exc:
            raise self.doc.error(path, f"invalid value: {getattr(exc, 'problem', exc)}") from None
        if isinstance(value, float) and math.isinf(value) and node.tag == "tag:yaml.org,2002:int":
            raise self.doc.error(path, "the number is too large")
        return value

    def mapping(self, node: Any, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node, explicit in self.pairs(node, path):
            key = key_node.value
            sub = (*path, key)
            if key in out:
                if not explicit:
                    continue  # a merged key never overrides one written in the mapping itself
                first = self.doc.locs[sub].line
                raise SpecError(f"the key {key!r} appears twice (first on line {first})",
                                where=f"{self.doc.file}: {format_path(sub)} (line {key_node.start_mark.line + 1})")
            text = value_node.value if isinstance(value_node, self.yaml.ScalarNode) else None
            self.doc.locs[sub] = Loc(key_node.start_mark.line + 1, key_node.start_mark.column + 1, text)
            out[key] = self.build(value_node, sub)
        return out

    def pairs(self, node: Any, path: Path) -> list[tuple[Any, Any, bool]]:
        """The mapping's (key, value, written-here) pairs: its own first, then those merged by `<<`."""
        own: list[tuple[Any, Any, bool]] = []
        merged: list[tuple[Any, Any, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, self.yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, self.yaml.MappingNode):
                        raise self.error(source, f"'<<' in {format_path(path) or 'the top level'} must merge "
                                                 "mappings")
                    merged.extend((k, v, False) for k, v, _ in self.pairs(source, path))
                continue
            if not isinstance(key_node, self.yaml.ScalarNode):
                raise self.error(key_node, f"a key in {format_path(path) or 'the top level'} is a list or "
                                           "mapping; keys must be plain names")
            own.append((key_node, value_node, True))
        return own + merged
