"""`derive --graph FILE`: the computation graph as a picture — micrograd's `draw_dot` with the sheets' gradients.

Every input is a node labelled with its value and ∂f/∂x; every graph node hᵢ with its operation, forward
value and upstream gradient ∂f/∂hᵢ; every edge with its local gradient ∂hᵢ/∂(input). The format follows
the extension: `.dot` (Graphviz DOT), `.mmd` (a Mermaid flowchart), `.svg` / `.png` (DOT laid out by
Graphviz's `dot` program, which must be on PATH). Formatting only: the numbers are the result's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from gradcli.errors import GradcliError
from gradcli.text import number

FORMATS = {".dot": "Graphviz DOT", ".mmd": "Mermaid", ".svg": "SVG (via Graphviz)", ".png": "PNG (via Graphviz)"}
IMAGE_FORMATS = (".svg", ".png")
DOT_SECONDS = 60  # time bound of the `dot` program
DIGITS = 6


def check_target(path: str | os.PathLike) -> Path:
    """The path, if it can be written as a graph: a known extension, an existing directory, `dot` for images.

    Checked before any work, so that bad usage writes nothing (exit 2).
    """
    target = Path(path)
    ext = target.suffix.lower()
    if ext not in FORMATS:
        known = ", ".join(FORMATS)
        raise GradcliError(f"cannot write a graph as {ext or 'a file without an extension'!r}: use one of {known}",
                           where="--graph")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise GradcliError(f"the directory {str(parent)!r} does not exist", where="--graph")
    if target.is_dir():
        raise GradcliError(f"{str(target)!r} is a directory; give a file name such as graph{ext}", where="--graph")
    if ext in IMAGE_FORMATS and dot_program() is None:
        raise GradcliError(f"writing {ext} needs Graphviz's `dot` program, which is not on PATH; install Graphviz "
                           "(e.g. apt-get install graphviz) or write .dot or .mmd instead", where="--graph")
    return target


def dot_program() -> str | None:
    return shutil.which("dot")


def write_graph(result, path: str | os.PathLike) -> Path:
    """Write the computation graph of a DeriveResult to `path` in the format its extension names."""
    target = check_target(path)
    ext = target.suffix.lower()
    if ext == ".mmd":
        _write_text(target, mermaid(result.graph))
    elif ext == ".dot":
        _write_text(target, dot(result.graph))
    else:
        _render_image(dot(result.graph), target, ext[1:])
    return target


def _write_text(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GradcliError(f"cannot write {str(target)!r}: {err.strerror or err}", where="--graph") from None


def _render_image(source: str, target: Path, fmt: str) -> None:
    program = dot_program()
    if program is None:
        raise GradcliError(f"writing .{fmt} needs Graphviz's `dot` program, which is not on PATH", where="--graph")
    try:
        done = subprocess.run([program, f"-T{fmt}", "-o", str(target)], input=source.encode("utf-8"),
                              capture_output=True, timeout=DOT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise GradcliError(f"Graphviz's `dot` took longer than {DOT_SECONDS} s; write .dot instead",
                           where="--graph") from None
    except OSError as err:
        raise GradcliError(f"cannot run Graphviz's `dot`: {err.strerror or err}", where="--graph") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GradcliError(f"Graphviz's `dot` failed: {message[-1] if message else f'exit {done.returncode}'}",
                           where="--graph")


# ------------------------------------------------------------------------------------------------ labels


def _num(v) -> str:
    return number(v, DIGITS)


def input_lines(graph, name: str) -> list[str]:
    """An input's label: its name, value and ∂f/∂name."""
    return [name, f"value = {_num(graph.inputs.get(name))}", f"∂f/∂{name} = {_num(graph.gradient.get(name))}"]


def node_lines(graph, n) -> list[str]:
    """A node's label: 'h3 = h2 * z' (with the --where name and 'f =' for the output), value, upstream gradient."""
    head = f"{n.node} = {n.text}"
    if n.defines:
        head = f"{n.defines} = {head}"
    if n.node == graph.output:
        head = f"f = {head}"
    lines = [head, f"value = {_num(n.value)}", f"∂f/∂{n.node} = {_num(n.upstream)}"]
    if n.kink:
        lines.append("(at a kink)")
    return lines


def edges(graph) -> list[tuple[str, str, str | None]]:
    """(from label, to node, local gradient text or None) for every input of every node that is not a constant."""
    known = set(graph.inputs) | {n.node for n in graph.nodes}
    out = []
    for n in graph.nodes:
        for label, local in zip(n.inputs, n.local):
            if label in known:
                out.append((label, n.node, None if local is None else _num(local)))
    return out


def _inputs_used(graph) -> list[str]:
    """Every input, in the result's order (an input no node uses is still drawn: f may be that input)."""
    return list(graph.inputs)


# -------------------------------------------------------------------------------------------------- DOT


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(graph) -> str:
    """Graphviz DOT, left to right: inputs as ellipses, nodes as boxes (the output doubled), edges labelled
    with local gradients."""
    ids = {name: f"in_{k}" for k, name in enumerate(_inputs_used(graph))}
    ids.update({n.node: f"node_{k}" for k, n in enumerate(graph.nodes)})
    out = ["digraph computation_graph {", "  rankdir=LR;",
           '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=10];']
    for name in _inputs_used(graph):
        out.append(f"  {ids[name]} [shape=ellipse, label={_dot_string(chr(10).join(input_lines(graph, name)))}];")
    for n in graph.nodes:
        shape = "box, peripheries=2" if n.node == graph.output else "box"
        style = ', style="rounded"' if n.node != graph.output else ""
        out.append(f"  {ids[n.node]} [shape={shape}{style}, label={_dot_string(chr(10).join(node_lines(graph, n)))}];")
    for src, dst, local in edges(graph):
        label = f" [label={_dot_string(f'∂{dst}/∂{src} = {local}')}]" if local is not None else ""
        out.append(f"  {ids[src]} -> {ids[dst]}{label};")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- Mermaid


def _mermaid_string(text: str) -> str:
    """Text inside a quoted Mermaid label: quotes and markup characters as entity codes."""
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("\n", "<br/>"))


def mermaid(graph) -> str:
    """A Mermaid flowchart (left to right): one line per input and per node, then the edges."""
    ids = {name: f"in_{k}" for k, name in enumerate(_inputs_used(graph))}
    ids.update({n.node: f"node_{k}" for k, n in enumerate(graph.nodes)})
    out = ["flowchart LR"]
    for name in _inputs_used(graph):
        out.append(f'  {ids[name]}(["{_mermaid_string(chr(10).join(input_lines(graph, name)))}"])')
    for n in graph.nodes:
        left, right = ("[[", "]]") if n.node == graph.output else ("[", "]")
        out.append(f'  {ids[n.node]}{left}"{_mermaid_string(chr(10).join(node_lines(graph, n)))}"{right}')
    for src, dst, local in edges(graph):
        label = f'|"{_mermaid_string(f"∂{dst}/∂{src} = {local}")}"|' if local is not None else ""
        out.append(f"  {ids[src]} -->{label} {ids[dst]}")
    return "\n".join(out) + "\n"
