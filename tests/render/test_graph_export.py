"""`derive --graph FILE` (gradcli.render.graph_export): DOT that parses, Mermaid with a line per node, SVG/PNG
through Graphviz's dot, and exit 2 for a bad path or a missing `dot`."""

import json
import re
import shutil
import struct
import subprocess

import pytest
from typer.testing import CliRunner

from gradcli.cli import app
from gradcli.checks.derive import derive
from gradcli.errors import GradcliError
from gradcli.render import graph_export
from gradcli.render.graph_export import check_target, dot, mermaid, write_graph

from tools import need_module, need_program

runner = CliRunner()
HAS_DOT = shutil.which("dot") is not None
SHEET001 = ("ln(x)+exp(y)*z", "1,3,2")
CLI001 = ("ln(x)+exp(y)*z", "--at", "1,3,2")
SHEET003 = ("c*(a-b)^2", "c=1,w=2,x=3,y=4,z=5", ["a=(w+x+y)^2", "b=(x-y-z)^2"])


@pytest.fixture(scope="module")
def sheet001():
    return derive(*SHEET001)


@pytest.fixture(scope="module")
def sheet003():
    return derive(*SHEET003)


def invoke(*args):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


# -------------------------------------------------------------------------------------------- DOT


def structure(text: str) -> tuple[dict[str, str], list[tuple[str, str, str | None]]]:
    """A strict reading of the DOT we write: node id -> label, and edges (from, to, label); raises on anything else."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph computation_graph {" and lines[-1] == "}"
    nodes, edges = {}, []
    string = r'"((?:[^"\\]|\\.)*)"'
    for line in lines[1:-1]:
        line = line.strip()
        if re.fullmatch(r"(rankdir=LR|node \[.*\]|edge \[.*\]);", line):
            continue
        m = re.fullmatch(rf"(\w+) \[shape=[\w, =\"]+label={string}\];", line)
        if m:
            nodes[m.group(1)] = m.group(2).replace("\\n", "\n")
            continue
        m = re.fullmatch(rf"(\w+) -> (\w+)(?: \[label={string}\])?;", line)
        assert m, f"not a DOT statement we write: {line!r}"
        edges.append((m.group(1), m.group(2), m.group(3)))
    for a, b, _ in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} names an undeclared node"
    return nodes, edges


def parses_with_graphviz(text: str) -> None:
    """`dot -Tsvg` when installed, else the pydot parser when importable (the structural check always runs)."""
    if HAS_DOT:
        done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        assert b"<svg" in done.stdout
        return
    pydot = need_module("pydot")
    assert pydot.graph_from_dot_data(text)


def test_dot_labels_every_node_with_op_value_and_upstream(sheet001):
    text = dot(sheet001.graph)
    nodes, edges = structure(text)
    labels = sorted(nodes.values())
    assert "h2 = exp(y)\nvalue = 20.0855\n∂f/∂h2 = 2" in labels
    assert "f = h4 = h1 + h3\nvalue = 40.1711\n∂f/∂h4 = 1" in labels
    assert "y\nvalue = 3\n∂f/∂y = 40.1711" in labels  # inputs are nodes with their value and ∂f/∂x
    assert len(nodes) == 3 + 4
    assert sorted(e[2] for e in edges) == sorted(["∂h1/∂x = 1", "∂h2/∂y = 20.0855", "∂h3/∂h2 = 2",
                                                  "∂h3/∂z = 20.0855", "∂h4/∂h1 = 1", "∂h4/∂h3 = 1"])
    parses_with_graphviz(text)


def test_dot_of_the_chain_rule_graph_names_the_intermediates(sheet003):
    text = dot(sheet003.graph)
    nodes, edges = structure(text)
    assert "a = h3 = h2 ^ 2\nvalue = 81\n∂f/∂h3 = 90" in nodes.values()
    assert "b = h6 = h5 ^ 2\nvalue = 36\n∂f/∂h6 = -90" in nodes.values()
    assert len(nodes) == 5 + 9 and len(edges) == 15
    parses_with_graphviz(text)


def test_dot_escapes_quotes_and_backslashes():
    from gradcli.render.graph_export import _dot_string

    assert _dot_string('a "b" \\c\nd') == '"a \\"b\\" \\\\c\\nd"'


# ----------------------------------------------------------------------------------------- Mermaid

def test_mermaid_has_one_line_per_node(sheet003):
    text = mermaid(sheet003.graph)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    node_lines = [l for l in lines[1:] if "-->" not in l]
    edge_lines = [l for l in lines[1:] if "-->" in l]
    assert len(node_lines) == len(sheet003.graph.nodes) + len(sheet003.graph.inputs)
    assert all(re.fullmatch(r'  (in|node)_\d+(\(\[|\[\[|\[)".*"(\]\)|\]\]|\])', l) for l in node_lines)
    assert len(edge_lines) == 15
    assert all(re.fullmatch(r'  \w+ -->\|".*"\| \w+', l) for l in edge_lines)
    assert '  node_8[["f = h9 = c * h8<br/>value = 2025<br/>∂f/∂h9 = 1"]]' in lines


def test_mermaid_entity_codes_keep_labels_inside_their_quotes():
    from gradcli.render.graph_export import _mermaid_string

    assert _mermaid_string('a"b<c>#\nd') == "a#quot;b#lt;c#gt;#35;<br/>d"


# -------------------------------------------------------------------------------------- images


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def test_png_is_a_valid_image_of_a_sensible_size(sheet003, tmp_path):
    need_program("dot", "graphviz")
    path = write_graph(sheet003, tmp_path / "g.png")
    width, height = png_size(path.read_bytes())
    assert 600 <= width <= 6000 and 100 <= height <= 3000, (width, height)
    assert width > height  # laid out left to right, as the graph flows


def test_svg_holds_every_label(sheet001, tmp_path):
    need_program("dot", "graphviz")
    svg = write_graph(sheet001, tmp_path / "g.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "h3 = h2 * z" in svg and "∂f/∂h2 = 2" in svg


# --------------------------------------------------------------------------------- bad targets


def test_unknown_extension_missing_directory_and_directory_target(tmp_path):
    with pytest.raises(GradcliError, match=r"'\.txt'.*\.dot, \.mmd, \.svg, \.png"):
        check_target(tmp_path / "g.txt")
    with pytest.raises(GradcliError, match="without an extension"):
        check_target(tmp_path / "graph")
    with pytest.raises(GradcliError, match="does not exist"):
        check_target(tmp_path / "missing" / "g.dot")
    (tmp_path / "d.dot").mkdir()
    with pytest.raises(GradcliError, match="is a directory"):
        check_target(tmp_path / "d.dot")


def test_missing_dot_names_the_program(monkeypatch, tmp_path):
    monkeypatch.setattr(graph_export, "dot_program", lambda: None)
    with pytest.raises(GradcliError, match="Graphviz's `dot` program, which is not on PATH"):
        check_target(tmp_path / "g.png")
    assert check_target(tmp_path / "g.dot")  # text formats need no program


# -------------------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("suffix", [".dot", ".mmd"] + ([".svg", ".png"] if HAS_DOT else []))
def test_cli_writes_the_graph_and_still_prints_the_result(tmp_path, suffix):
    path = tmp_path / f"graph{suffix}"
    r = invoke("derive", *CLI001, "--graph", str(path), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["verdict"] == "agree"  # still exactly one JSON object
    data = path.read_bytes()
    if suffix == ".dot":
        structure(data.decode())
    elif suffix == ".mmd":
        assert data.decode().startswith("flowchart LR")
    elif suffix == ".png":
        png_size(data)
    else:
        assert b"</svg>" in data


@pytest.mark.parametrize("name, message", [
    ("graph.txt", "cannot write a graph as '.txt'"),
    ("nowhere/graph.dot", "does not exist"),
])
def test_cli_bad_graph_path_is_exit_2_and_writes_nothing(tmp_path, name, message):
    r = invoke("derive", *CLI001, "--graph", str(tmp_path / name))
    assert r.exit_code == 2
    assert message in r.stderr and "--graph" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_dot_is_exit_2_with_a_json_error(tmp_path, monkeypatch):
    monkeypatch.setattr(graph_export, "dot_program", lambda: None)
    r = invoke("derive", *CLI001, "--graph", str(tmp_path / "g.png"), "--json")
    assert r.exit_code == 2
    assert "`dot`" in json.loads(r.stdout)["error"]["message"]
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_expression_writes_no_graph(tmp_path):
    r = invoke("derive", "ln(x", "--at", "1", "--graph", str(tmp_path / "g.dot"))
    assert r.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_cli_disagreeing_columns_keep_exit_1_and_write_the_graph(tmp_path, monkeypatch):
    from gradcli.checks import derive as derive_module
    from gradcli.checks.derive import DeriveResult

    real = derive_module.derive

    def wrong(*args, **kwargs):
        r = real(*args, **kwargs)
        p = next(iter(r.partials.values()))
        p.verdict = "disagree"
        return r

    monkeypatch.setattr(derive_module, "derive", wrong)
    r = invoke("derive", *CLI001, "--graph", str(tmp_path / "g.dot"))
    assert r.exit_code == 1 and (tmp_path / "g.dot").exists()
    assert isinstance(real(*SHEET001), DeriveResult)
