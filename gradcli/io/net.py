"""A network spec's YAML -> NetSpec: `layers:` expanded to forward definitions, params and inputs with their
shapes and initial values, `data:` and `train:` (the network-spec format).
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
    LOSS_KEYWORDS,
    Batch,
    Definition,
    DenseLayer,
    NetSpec,
    TrainSpec,
)
from gradcli.io.names import (
    check_known,
    check_name,
    did_you_mean,
    kind_of,
    shape_words,
    shown_value,
)
from gradcli.io.schemas import DataKeys, DenseKeys, NetKeys, NetTrainKeys, validated
from gradcli.io.values import init_array, literal_array, value_array

# ---------------------------------------------------------------------------------------- networks


def build_net(doc: YamlDoc, base: Path, data: Any) -> NetSpec:
    """The network spec written at `base` (() for a spec file, ('net',) inline in a problem file)."""
    if not isinstance(data, dict):
        raise doc.error(base, f"a network spec must be a mapping (inputs:, params:, forward:, loss:), "
                              f"found {kind_of(data)}")
    keys = validated(NetKeys, data, doc, base)
    seed = keys.seed
    ctx = _NetBuild(doc, base, seed)

    inputs = ctx.values("inputs", data.get("inputs"))
    params = ctx.values("params", data.get("params"))
    for name in params:
        if name in inputs:
            raise ctx.error(("params", name), f"{name!r} is both an input (line {ctx.line(('inputs', name))}) "
                                              "and a param")
    batch = ctx.batch(data.get("data"), inputs) if data.get("data") is not None else None
    if "data" in data and data["data"] is None:
        raise ctx.error(("data",), "data: is empty; give {x: [...], y: [...]} or remove it")

    layers: list[DenseLayer] = []
    if data.get("layers") is not None:
        if data.get("forward") is not None:
            raise ctx.error(("forward",), "give either layers: or forward:, not both "
                                          f"(layers: is on line {ctx.line(('layers',))})")
        forward, layers = ctx.layers(data["layers"], inputs, params, batch)
    else:
        known = [*inputs, *(("x", "y") if batch else ()), *params]
        forward = ctx.forward(data.get("forward"), known)

    defined = [*inputs, *(("x", "y") if batch else ()), *params, *(d.name for d in forward)]
    loss = ctx.loss(data, defined, forward)
    wrt = ctx.wrt(keys.wrt, inputs, params, forward, batch)
    train = None
    if data.get("train") is not None:
        t = validated(NetTrainKeys, data["train"], doc, (*base, "train"))
        train = TrainSpec(lr=t.lr, steps=t.steps)
    lines = {format_path(p[len(base):]): loc.line for p, loc in doc.locs.items()
             if p[:len(base)] == base and len(p) - len(base) <= 3}
    lines.update(ctx.extra_lines)
    name = keys.name if keys.name is not None else FsPath(doc.file).stem
    return NetSpec(name=name, inputs=inputs, params=params, forward=forward, loss=loss, wrt=wrt, data=batch,
                   train=train, seed=seed, expanded_from_layers=bool(layers), source_yaml_lines=lines,
                   file=doc.file, yaml_prefix=format_path(base) + "." if base else "", layers=layers)


class _NetBuild:
    """The pieces of one network spec, each validated with its YAML path (relative to `base`)."""

    def __init__(self, doc: YamlDoc, base: Path, seed: int):
        self.doc = doc
        self.base = base
        self.seed = seed
        self.extra_lines: dict[str, int] = {}

    def path(self, rel: Path) -> Path:
        return (*self.base, *rel)

    def error(self, rel: Path, message: str, detail: str | None = None) -> SpecError:
        return self.doc.error(self.path(rel), message, detail)

    def line(self, rel: Path) -> int | None:
        return self.doc.line(self.path(rel))

    def where(self, rel: Path) -> str:
        return self.doc.where(self.path(rel))

    # -- values
    def values(self, section: str, mapping: Any) -> dict[str, "np.ndarray"]:
        if mapping is None:
            return {}
        if not isinstance(mapping, dict):
            raise self.error((section,), f"{section}: must map names to values, found {kind_of(mapping)}")
        out = {}
        for name, value in mapping.items():
            check_name(self.doc, self.path((section, name)), name)
            out[name] = value_array(self.doc, self.path((section, name)), value, name=name, seed=self.seed)
        return out

    def batch(self, data: Any, inputs: dict) -> Batch:
        keys = validated(DataKeys, data, self.doc, self.path(("data",)))
        for name in ("x", "y"):
            if name in inputs:
                raise self.error(("data", name), f"{name!r} is given both in inputs: (line "
                                                 f"{self.line(('inputs', name))}) and in data:")
        columns = {}
        for name in ("x", "y"):
            rows = getattr(keys, name)
            if not rows:
                raise self.error(("data", name), f"data.{name} has no rows")
            arrays = [value_array(self.doc, self.path(("data", name, i)), row, name=name, seed=self.seed,
                                  allow_init=False) for i, row in enumerate(rows)]
            for i, arr in enumerate(arrays):
                if arr.shape != arrays[0].shape:
                    raise self.error(("data", name, i), f"row {i} of data.{name} has shape {shape_words(arr.shape)}"
                                                        f" but row 0 has {shape_words(arrays[0].shape)}")
            columns[name] = arrays
        if len(columns["x"]) != len(columns["y"]):
            raise self.error(("data", "y"), f"data.x has {len(columns['x'])} rows but data.y has "
                                            f"{len(columns['y'])}; each row is one example")
        return Batch(x=columns["x"], y=columns["y"], reduce=keys.reduce)

    # -- definitions
    def definition(self, rel: Path, name: str, value: Any, known: list[str],
                   later: dict[str, int] | None = None) -> Definition:
        path = self.path(rel)
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
            raise self.doc.error(path, f"expected an expression, found {kind_of(value)}")
        text = value if isinstance(value, str) else (self.doc.source_text(path) or repr(value))
        where = self.doc.where(path)
        try:
            node = parse(text)
        except ParseError as exc:
            raise SpecError(f"{exc.message} (column {exc.column + 1})", where=where, detail=exc.detail) from None
        check_known(node, text, known, where, later or {})
        return Definition(name, node, text, self.doc.line(path), format_path(rel), where)

    def forward(self, mapping: Any, known: list[str]) -> list[Definition]:
        if mapping is None:
            return []
        if not isinstance(mapping, dict):
            raise self.error(("forward",), "forward: must be an ordered mapping 'name: expression', "
                                           f"found {kind_of(mapping)}")
        later = {name: self.line(("forward", name)) or 0 for name in mapping}
        out: list[Definition] = []
        seen = list(known)
        for name, text in mapping.items():
            check_name(self.doc, self.path(("forward", name)), name)
            if name in seen:
                raise self.error(("forward", name), f"{name!r} is already defined ({self.locate(name)}); "
                                                    "each name is defined once")
            later.pop(name)
            out.append(self.definition(("forward", name), name, text, seen, later))
            seen.append(name)
        return out

    def locate(self, name: str) -> str:
        for section in ("inputs", "params", "forward", "data"):
            if self.doc.locs.get(self.path((section, name))) is not None:
                return f"{format_path((*self.base, section, name))}, line {self.line((section, name))}"
        return "above"

    def loss(self, data: dict, defined: list[str], forward: list[Definition]) -> Definition:
        if data.get("loss") is None:
            raise self.error(("loss",), "missing loss: give an expression (it must be a scalar) or one of "
                                          f"{', '.join(LOSS_KEYWORDS)}")
        value = data["loss"]
        if isinstance(value, str) and value.strip() in LOSS_KEYWORDS and value.strip() not in defined:
            keyword = value.strip()
            for needed, hint in (("yhat", "a forward definition (or layers:)"), ("y", "inputs: or data:")):
                if needed not in defined:
                    raise self.error(("loss",), f"loss {keyword} compares yhat with y, but {needed!r} is not "
                                                f"defined: add it to {hint}")
            value = LOSS_KEYWORDS[keyword]
        return self.definition(("loss",), "loss", value, defined)

    def wrt(self, wrt: Any, inputs: dict, params: dict, forward: list[Definition],
            batch: Batch | None) -> list[str]:
        if wrt is None:
            if not params:
                raise self.error((), "nothing to differentiate: there are no params: and no wrt:")
            return list(params)
        if not isinstance(wrt, (str, list)):
            raise self.error(("wrt",), f"wrt: is a list of names such as [W0, b0, x], found {shown_value(wrt)}")
        names = [wrt] if isinstance(wrt, str) else list(wrt)
        if not names:
            raise self.error(("wrt",), "wrt: is empty; list params or inputs, or leave it out for every param")
        rel = ("wrt",)
        fwd = {d.name for d in forward}
        for i, name in enumerate(names):
            at = (*rel, i) if not isinstance(wrt, str) else rel
            if not isinstance(name, str):
                raise self.error(at, f"wrt: lists names, found {shown_value(name)}")
            if names.index(name) != i:
                raise self.error(at, f"{name!r} is listed twice in wrt")
            if batch is not None and name in ("x", "y"):
                raise self.error(at, f"{name!r} changes from example to example (data:); wrt takes params and "
                                     "fixed inputs")
            if name in fwd:
                raise self.error(at, f"{name!r} is computed by forward:; wrt takes params and inputs")
            if name not in params and name not in inputs:
                hint = did_you_mean(name, [*params, *inputs])
                raise self.error(at, f"unknown name {name!r} in wrt{hint}; wrt takes params and inputs")
        return names

    # -- layers
    def layers(self, layers: Any, inputs: dict, params: dict,
               batch: Batch | None) -> tuple[list[Definition], list[DenseLayer]]:
        import numpy as np

        if not isinstance(layers, list) or not layers:
            raise self.error(("layers",), "layers: must be a non-empty list of {dense: {in, out, activation}}")
        x = inputs.get("x") if "x" in inputs else (batch.x[0] if batch else None)
        if x is None:
            raise self.error(("layers",), "layers: feed the input 'x', which is neither in inputs: nor data:")
        x_in = _vector_length(x)
        if x_in is None:
            raise self.error(("layers",), f"layers: need x to be a vector, found shape {shape_words(x.shape)}")
        expanded: list[DenseLayer] = []
        forward: list[Definition] = []
        prev, prev_out = "x", x_in
        known = [*inputs, *(("x", "y") if batch else ()), *params]
        for i, item in enumerate(layers):
            rel = ("layers", i)
            if not isinstance(item, dict) or len(item) != 1 or "dense" not in item:
                found = next(iter(item)) if isinstance(item, dict) and item else None
                what = f"unknown layer type {found!r}" if found and isinstance(item, dict) and len(item) == 1 \
                    else "each layer must be a mapping {dense: {in, out, activation}}"
                raise self.error(rel, f"{what}; only dense layers exist")
            spec = validated(DenseKeys, item["dense"], self.doc, self.path((*rel, "dense")))
            k = i + 1
            n_in = spec.n_in if spec.n_in is not None else prev_out
            if n_in != prev_out:
                if i == 0:
                    raise self.error((*rel, "dense", "in"), f"layer 1 has in: {n_in}, but x has {prev_out} entries "
                                                            f"({self.where(('inputs', 'x') if 'x' in inputs else ('data', 'x'))})")
                raise self.error((*rel, "dense", "in"), f"layer {k} has in: {n_in}, but layer {k - 1} has out: "
                                                        f"{prev_out} ({self.where(('layers', i - 1, 'dense', 'out'))})")
            w_name, b_name = f"W{k}", f"b{k}" if spec.bias else None
            out_name = "yhat" if k == len(layers) else f"h{k}"
            for owned in (w_name, b_name, out_name):
                if owned is not None and owned in known:
                    raise self.error(rel, f"layer {k} defines {owned!r}, which is already {self.locate(owned)}")
            dense_path = self.path((*rel, "dense"))
            params[w_name] = _layer_init(self.doc, dense_path, "init", spec.init, (spec.out, n_in), w_name,
                                         self.seed, explicit="init" in item["dense"])
            self.extra_lines[f"params.{w_name}"] = self.line(rel) or 0
            if b_name is not None:
                params[b_name] = _layer_init(self.doc, dense_path, "bias_init", spec.bias_init, (spec.out,), b_name,
                                             self.seed, explicit=True)
                self.extra_lines[f"params.{b_name}"] = self.line(rel) or 0
            affine = f"{w_name} @ {prev}" + (f" + {b_name}" if b_name else "")
            text = affine if spec.activation == "none" else f"{spec.activation}({affine})"
            where = self.where(rel)
            forward.append(Definition(out_name, parse(text), text, self.line(rel), format_path(rel), where))
            self.extra_lines[f"forward.{out_name}"] = self.line(rel) or 0
            expanded.append(DenseLayer(k, n_in, spec.out, spec.activation, w_name, b_name, prev, out_name))
            known.extend(n for n in (w_name, b_name, out_name) if n)
            prev, prev_out = out_name, spec.out
        if x_in == 1 and x.ndim == 0:
            if "x" in inputs:
                inputs["x"] = np.reshape(inputs["x"], (1, 1))
            else:
                batch.x = [np.reshape(row, (1, 1)) for row in batch.x]
        return forward, expanded


def _vector_length(x: "np.ndarray") -> int | None:
    """n for a column (n, 1); 1 for a scalar (fed to W @ x as a 1x1); None for anything else."""
    if x.ndim == 0:
        return 1
    if x.ndim == 2 and x.shape[1] == 1:
        return int(x.shape[0])
    return None


def _layer_init(doc: YamlDoc, dense_path: Path, key: str, init: Any, shape: tuple[int, ...], name: str,
                seed: int, explicit: bool) -> "np.ndarray":
    """W{k} (out x in) or b{k} (out, 1) of a dense layer: an init, or a literal of exactly that shape."""
    path = (*dense_path, key)
    if isinstance(init, list):
        arr = literal_array(doc, path, init)
        want = shape if len(shape) == 2 else (shape[0], 1)
        if arr.shape != want:
            raise doc.error(path, f"{name} must be {shape_words(want)}, found a literal of shape "
                                  f"{shape_words(arr.shape)}")
        return arr
    return init_array(doc, path if explicit else dense_path, init, list(shape), name=name, seed=seed)
