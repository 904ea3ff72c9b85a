"""Network specs and problem files: YAML -> validated in-memory models.

No math lives here beyond building the arrays a file declares. The YAML is read by
`gradcli.yaml_source` (safe_load-equivalent, size/alias/nesting limits, a line for every value), the
fixed-shape parts are validated by pydantic models, and every failure is a SpecError whose `where`
reads `FILE: yaml.path (line N)`, e.g. `net.yaml: params.W0.shape (line 7)`.

Values (the network-spec format shape convention, float64): a number is a 0-d array, a flat list a column (n, 1),
a nested list a matrix (m, n) (up to 4 axes, rectangular); `{shape: [...], init: ...}` builds an array
of that shape, where `shape: [n]` is a column (n, 1) and `shape: []` a scalar. Inits:
    zeros, ones, {constant: c}
    {normal: {mean: 0, std: 1, seed}}          N(mean, std^2)
    {uniform: {low: 0, high: 1, seed}}         U(low, high)
    xavier  (Glorot uniform)                   U(-a, a), a = sqrt(6 / (fan_in + fan_out))
    he                                          N(0, 2 / fan_in)
with fan_in, fan_out = shape[1], shape[0] of a 2-D shape [out, in]; `{xavier: {seed: s}}`,
`{he: {seed: s}}` give those a seed too. Every random init draws from numpy.random.default_rng(seed)
when it names a seed, else from default_rng([top-level seed (default 0), crc32(name)]): the same
file gives the same numbers everywhere, and each parameter (each layer) gets its own stream.
"""


from __future__ import annotations

import os
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from gradcli.errors import ParseError, SpecError
from gradcli.io.yaml_source import YamlDoc, read_file
from gradcli.io.yaml_source import load_text as _load_yaml_text
from gradcli.language.expr import Node, parse

if TYPE_CHECKING:
    pass

from gradcli.io.models import Claim, NetSpec, ProblemFile
from gradcli.io.names import kind_of, scalar_text
from gradcli.io.net import build_net
from gradcli.io.problem import build_problem

# --------------------------------------------------------------------------------------- public API


def load(path: str | os.PathLike) -> NetSpec | ProblemFile:
    """Read a YAML file: a problem file when it has a top-level `claims:` key, else a net spec."""
    return _from_doc(read_file(path))


def load_text(text: str, file: str = "<string>") -> NetSpec | ProblemFile:
    """Like `load`, from text; `file` names it in messages."""
    return _from_doc(_load_yaml_text(text, file))


def load_net(path: str | os.PathLike) -> NetSpec:
    """Read a network spec; a problem file here is a SpecError."""
    result = load(path)
    if not isinstance(result, NetSpec):
        raise SpecError("this is a problem file (it has claims:), not a network spec", where=os.fspath(path))
    return result


def load_problem(path: str | os.PathLike) -> ProblemFile:
    """Read a problem file; a file without a top-level `claims:` key is a SpecError."""
    result = load(path)
    if not isinstance(result, ProblemFile):
        raise SpecError("this is a network spec, not a problem file (it has no claims:)", where=os.fspath(path))
    return result


def iter_yaml_files(directory: str | os.PathLike) -> list[FsPath]:
    """Every *.yaml / *.yml under `directory`, recursively, sorted by path; hidden (.dot) directories
    and files are skipped and symbolic links to directories are not followed."""
    root = os.fspath(directory)
    if not os.path.isdir(root):
        raise SpecError("no such directory", where=root)
    found: list[FsPath] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(FsPath(current, f) for f in files
                     if not f.startswith(".") and f.lower().endswith((".yaml", ".yml")))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def expanded_forward_text(spec: NetSpec) -> list[str]:
    """The forward pass as lines 'h1 = tanh(W1 @ x + b1)', ..., in order (what `layers:` expanded to)."""
    return [f"{d.name} = {d.text}" for d in spec.forward]


def parse_claim_formula(problem: ProblemFile, claim: Claim, text: str, allow_index: bool = False,
                        field: str = "claim") -> Node:
    """Parse a formula of `claim` (its `claim:` text, or the setting named by `field`, e.g. 'of' or
    'claim_entry'); a ParseError becomes a SpecError "FILE: claims[3] 'dv/dx' (line 21)" with the caret."""
    line = claim.claim_text_line if field == "claim" else claim.lines.get(field, claim.line)
    label = f"claims[{claim.index}] {claim.id!r}"
    where = f"{problem.path}: {label} (line {line})" if line is not None else f"{problem.path}: {label}"
    if not isinstance(text, str):
        text = claim.claim_source if field == "claim" and claim.claim_source else scalar_text(text)
    try:
        return parse(text, allow_index=allow_index, what="claim" if field == "claim" else field)
    except ParseError as exc:
        raise SpecError(f"{exc.message} (column {exc.column + 1} of {field})", where=where,
                        detail=exc.detail) from None


# ------------------------------------------------------------------------------------- dispatching


def _from_doc(doc: YamlDoc) -> NetSpec | ProblemFile:
    if not isinstance(doc.data, dict):
        raise doc.error((), f"the top level must be a mapping of keys (such as params:, forward:, loss: or "
                            f"claims:), found {kind_of(doc.data)}")
    if "claims" in doc.data:
        return build_problem(doc)
    return build_net(doc, (), doc.data)
