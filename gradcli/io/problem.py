"""A problem file's YAML -> ProblemFile: its definitions (`where:`), functions and claims, each claim's
settings completed and checked, with the YAML path and line of every mistake (the problem-file format).
"""


from __future__ import annotations

from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from gradcli.errors import ParseError, SpecError
from gradcli.io.yaml_source import Path, YamlDoc, format_path
from gradcli.language.expr import parse

if TYPE_CHECKING:
    import numpy as np

from gradcli.io.models import (
    BEHAVIOURS,
    CLAIM_KINDS,
    EXPECTS,
    MAX_CLAIM_AXES,
    Claim,
    Definition,
    ProblemFile,
    TrainSpec,
)
from gradcli.io.names import check_name, did_you_mean, kind_of, names_in, shown_value
from gradcli.io.net import build_net
from gradcli.io.schemas import (
    SETTINGS_MODELS,
    FunctionTrain,
    Positive,
    ProblemKeys,
    Strict,
    as_number,
    validated,
)
from gradcli.io.values import declared_shape, literal_array, size_of, value_array
from gradcli.language.definitions import find_cycle

# ------------------------------------------------------------------------------------ problem files


def build_problem(doc: YamlDoc) -> ProblemFile:
    data = doc.data
    keys = validated(ProblemKeys, data, doc, ())
    if data.get("function") is not None and data.get("net") is not None:
        raise doc.error(("net",), f"give either function: (line {doc.line(('function',))}) or net:, not both")
    net = build_net(doc, ("net",), data["net"]) if data.get("net") is not None else None
    where_defs = _where_definitions(doc, data.get("where"))
    function = None
    if data.get("function") is not None:
        function = _free_definition(doc, ("function",), "function", data["function"])
    constants = {}
    if data.get("constants") is not None:
        if not isinstance(data["constants"], dict):
            raise doc.error(("constants",), f"constants: must map names to values, found {kind_of(data['constants'])}")
        for name, value in data["constants"].items():
            check_name(doc, ("constants", name), name)
            constants[name] = value_array(doc, ("constants", name), value, name=name)
    shapes = {}
    if data.get("shapes") is not None:
        if not isinstance(data["shapes"], dict):
            raise doc.error(("shapes",), f"shapes: must map names to shapes, found {kind_of(data['shapes'])}")
        for name, shape in data["shapes"].items():
            check_name(doc, ("shapes", name), name)
            shapes[name] = declared_shape(doc, ("shapes", name), shape)
    problem = ProblemFile(path=doc.file, title=keys.title if keys.title is not None else FsPath(doc.file).stem,
                          source=keys.source, function=function, net=net, where=where_defs, claims=[],
                          constants=constants, shapes=shapes, notes=keys.notes,
                          source_yaml_lines={format_path(p): loc.line for p, loc in doc.locs.items()
                                             if len(p) <= 4})
    claims = data["claims"]
    if not isinstance(claims, list) or not claims:
        raise doc.error(("claims",), "claims: must be a non-empty list of claims (- id: ..., <kind>: {...}, "
                                     "claim: ...)")
    seen: dict[str, int | None] = {}
    for i, item in enumerate(claims):
        claim = _build_claim(doc, problem, i, item)
        if claim.id in seen:
            raise SpecError(f"the claim id {claim.id!r} is used twice (first on line {seen[claim.id]}); ids are "
                            "unique in a file", where=claim.where)
        seen[claim.id] = claim.line
        problem.claims.append(claim)
    return problem


def _free_definition(doc: YamlDoc, path: Path, name: str, value: Any) -> Definition:
    """A formula whose free names are variables (function:, where: entries)."""
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise doc.error(path, f"expected an expression, found {kind_of(value)}")
    text = value if isinstance(value, str) else (doc.source_text(path) or repr(value))
    where = doc.where(path)
    try:
        node = parse(text)
    except ParseError as exc:
        raise SpecError(f"{exc.message} (column {exc.column + 1})", where=where, detail=exc.detail) from None
    return Definition(name, node, text, doc.line(path), format_path(path), where)


def _where_definitions(doc: YamlDoc, where: Any) -> dict[str, Definition]:
    """`where: {a: (w+x+y)^2, ...}`: intermediate definitions, any order, no cycles."""
    if where is None:
        return {}
    if not isinstance(where, dict):
        raise doc.error(("where",), f"where: must map names to expressions, found {kind_of(where)}")
    defs = {}
    for name, text in where.items():
        check_name(doc, ("where", name), name)
        defs[name] = _free_definition(doc, ("where", name), name, text)
    uses = {name: [n for n in names_in(d.node) if n in defs] for name, d in defs.items()}
    cycle = find_cycle(uses)
    if cycle:
        shown = " -> ".join([*cycle, cycle[0]])
        raise doc.error(("where", cycle[0]), f"the where: definitions form a cycle: {shown}")
    return defs


_CLAIM_KEYS = ("id", *CLAIM_KINDS, "claim", "claim_shape", "claim_entry", "expect", "tol", "note")


def _build_claim(doc: YamlDoc, problem: ProblemFile, i: int, item: Any) -> Claim:
    path: Path = ("claims", i)
    if not isinstance(item, dict):
        raise doc.error(path, f"a claim is a mapping (- id: ..., derivative: {{wrt: x}}, claim: ...), "
                              f"found {kind_of(item)}")
    if item.get("id") is None:
        raise doc.error(path, "the claim has no id: (every claim needs one, unique in the file)")
    raw_id = item["id"]
    if isinstance(raw_id, (dict, list, bool)):
        raise doc.error((*path, "id"), f"a claim id is text, found {shown_value(raw_id)}")
    claim_id = raw_id if isinstance(raw_id, str) else (doc.source_text((*path, "id")) or str(raw_id))
    doc.labels[path] = f"claims[{i}] {claim_id!r}"
    line = doc.line(path)
    where = doc.where(path)

    def fail(message: str, key: str | None = None) -> SpecError:
        return doc.error((*path, key) if key else path, message)

    kinds = [k for k in CLAIM_KINDS if k in item]
    unknown = [k for k in item if k not in _CLAIM_KEYS]
    if unknown:
        key = unknown[0]
        if not kinds and isinstance(item[key], dict):
            raise fail(f"unknown claim kind {key!r}{did_you_mean(key, CLAIM_KINDS)}; the kinds are "
                       f"{', '.join(CLAIM_KINDS)}", key)
        raise fail(f"unknown key {key!r}{did_you_mean(key, _CLAIM_KEYS)}; a claim has id, one kind "
                   f"({', '.join(CLAIM_KINDS)}), claim, expect and optionally tol, note", key)
    if not kinds:
        raise fail(f"the claim has no kind: add one of {', '.join(CLAIM_KINDS)}")
    if len(kinds) > 1:
        raise fail(f"the claim has {len(kinds)} kinds ({', '.join(kinds)}); give exactly one per claim", kinds[1])
    kind = kinds[0]
    raw_settings = item[kind]
    if not isinstance(raw_settings, dict):
        raise fail(f"{kind}: takes a mapping such as {_settings_example(kind)}, found {shown_value(raw_settings)}", kind)
    settings = validated(SETTINGS_MODELS[kind], raw_settings, doc, (*path, kind))
    if item.get("tol") is not None:
        if settings.tol is not None:
            raise fail(f"tol is given twice: in {kind}: and next to it", "tol")
        settings.tol = validated(_TolOnly, {"tol": item["tol"]}, doc, path).tol
    _complete_settings(doc, problem, (*path, kind), kind, settings, fail)

    expect = item.get("expect", "correct")
    if expect not in EXPECTS:
        raise fail(f"expect: must be correct or wrong, found {shown_value(expect)}", "expect")
    claim_shape = claim_entry = None
    if kind != "jacobian":
        for key in ("claim_shape", "claim_entry"):
            if key in item:
                raise fail(f"{key} belongs to jacobian claims; this is a {kind} claim", key)
    else:
        if item.get("claim_shape") is not None:
            shape = item["claim_shape"]
            sizes = [size_of(n) for n in shape] if isinstance(shape, list) else [None]
            if not sizes or len(sizes) > MAX_CLAIM_AXES or None in sizes:
                raise fail(f"claim_shape must be a list of 1 to {MAX_CLAIM_AXES} positive sizes such as [3, 2, 2, 4],"
                           f" found {shown_value(shape)}", "claim_shape")
            claim_shape = tuple(sizes)
        if item.get("claim_entry") is not None:
            entry = item["claim_entry"]
            if isinstance(entry, (bool, dict, list)):
                raise fail(f"claim_entry must be a formula, found {shown_value(entry)}", "claim_entry")
            claim_entry = entry if isinstance(entry, str) else doc.source_text((*path, "claim_entry"))

    claim_value = as_number(item.get("claim"))
    if claim_value is None:
        if kind != "jacobian":
            raise fail("missing claim: (the formula, number or behaviour the sheet states)")
        if claim_shape is None and claim_entry is None:
            raise fail("a jacobian claim needs claim_shape, claim_entry or claim")
    elif isinstance(claim_value, (bool, dict)) or (isinstance(claim_value, list) and kind != "value"):
        raise fail(f"claim: must be a formula or a number, found {shown_value(claim_value)}", "claim")
    elif isinstance(claim_value, list):
        literal_array(doc, (*path, "claim"), claim_value)
    if kind == "behaviour" and claim_value not in BEHAVIOURS:
        raise fail(f"a behaviour claim is one of {', '.join(BEHAVIOURS)}, found {shown_value(claim_value)}", "claim")

    note = item.get("note")
    if note is not None and not isinstance(note, str):
        raise fail(f"note: must be text, found {shown_value(note)}", "note")
    lines = {key: doc.line((*path, key)) for key in item}
    for key in raw_settings:
        lines[f"{kind}.{key}"] = doc.line((*path, kind, key))
        lines.setdefault(key, lines[f"{kind}.{key}"])
    return Claim(id=claim_id, kind=kind, settings=settings, claim=claim_value,
                 claim_text_line=doc.line((*path, "claim")) if "claim" in item else line,
                 expect=expect, line=line, index=i,
                 claim_source=doc.source_text((*path, "claim")) if claim_value is not None else None,
                 claim_shape=claim_shape, claim_entry=claim_entry, note=note, where=where, lines=lines)


class _TolOnly(Strict):
    tol: Positive


def _complete_settings(doc: YamlDoc, problem: ProblemFile, path: Path, kind: str, settings: Any, fail: Any) -> None:
    """Checks that need the problem (function or net present) and conversion of values to arrays."""
    has_function, has_net = problem.function is not None, problem.net is not None
    if kind in ("derivative", "value") and settings.of is None and not (has_function or has_net):
        raise fail(f"this {kind} claim has no of: and the problem has no function: or net:", kind)
    if kind == "gradient" and not has_net:
        raise fail("a gradient claim needs a net: in the problem", kind)
    if kind == "update" and not (has_function or has_net):
        raise fail("an update claim needs a function: or a net: in the problem", kind)
    if kind == "update" and doc.source_text((*path, "lr")) is not None:
        settings.lr = doc.source_text((*path, "lr"))
    if kind == "value":
        settings.at = _named_values(doc, (*path, "at"), settings.at)
    if kind == "jacobian":
        for name in settings.shapes:
            check_name(doc, (*path, "shapes", name), name)
        settings.shapes = {name: tuple(s) for name, s in settings.shapes.items()}
    if kind == "behaviour":
        if not (has_function or has_net):
            raise fail("a behaviour claim needs a function: or a net: to train", kind)
        t = validated(FunctionTrain, settings.train, doc, (*path, "train"))
        if has_net and (t.params is not None or t.constants is not None):
            key = "params" if t.params is not None else "constants"
            raise doc.error((*path, "train", key), f"train.{key} is for a function: problem; a net trains its own "
                                                   "params (set their start values in net.params)")
        if has_function and t.params is None:
            raise doc.error((*path, "train"), "train: needs params: {name: start value} saying which names of "
                                              "the function are trained")
        groups = {key: None if getattr(t, key) is None else _named_values(doc, (*path, "train", key), getattr(t, key))
                  for key in ("params", "constants")}
        if has_function:
            _check_training_names(doc, problem, (*path, "train"), groups["params"], groups["constants"] or {})
        settings.train = TrainSpec(lr=t.lr, steps=t.steps, params=groups["params"], constants=groups["constants"])


def _named_values(doc: YamlDoc, path: Path, mapping: dict[str, Any]) -> dict[str, "np.ndarray"]:
    """{name: number or list} -> {name: array}, each name checked."""
    out = {}
    for name, value in mapping.items():
        check_name(doc, (*path, name), name)
        out[name] = value_array(doc, (*path, name), value, name=name, allow_init=False)
    return out


def _check_training_names(doc: YamlDoc, problem: ProblemFile, path: Path, params: dict, constants: dict) -> None:
    """Trained names and constants cover the function's inputs (free names through where:), no more."""
    inputs = _function_inputs(problem)
    for key, group in (("params", params), ("constants", constants)):
        for name in group:
            if key == "constants" and name in params:
                raise doc.error((*path, key, name), f"{name!r} is both trained (params) and a constant")
            if name not in inputs:
                raise doc.error((*path, key, name), f"{name!r} is not a variable of the function "
                                                    f"(its variables: {', '.join(sorted(inputs))})")
    missing = sorted(set(inputs) - set(params) - set(constants) - set(problem.constants))
    if missing:
        raise doc.error(path, f"the function's {', '.join(map(repr, missing))} is neither in params: nor in "
                              "constants:")


def _function_inputs(problem: ProblemFile) -> set[str]:
    seen: set[str] = set()
    todo = [problem.function.node] if problem.function else []
    done: set[str] = set()
    while todo:
        for name in names_in(todo.pop()):
            if name in problem.where:
                if name not in done:
                    done.add(name)
                    todo.append(problem.where[name].node)
            else:
                seen.add(name)
    return seen


def _settings_example(kind: str) -> str:
    return {"derivative": "{wrt: x}", "value": "{at: {x: 1}}", "gradient": "{wrt: W1}",
            "jacobian": "{of: X @ w, wrt: w, shapes: {X: [3, 4], w: [4]}}", "update": "{wrt: w, lr: eta}",
            "behaviour": "{train: {lr: 0.1, steps: 200}}"}[kind]
