"""`gradcli derive EXPR --at VALUES [--where NAME=EXPR ...]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradcli.cli.typer_app import THRESHOLD_TEXT, app
from gradcli.cli.output import Format, FormatOption, JsonOption, pick_format, run


@app.command(help=(
    "Partial derivatives of EXPR at a point, three ways (symbolic, backprop, numeric), with the "
    "computation graph h1..hn and, with --where, the chain rule through the intermediates.\n\n"
    "Example: gradcli derive \"ln(x)+exp(y)*z\" --at 1,3,2\n\n"
    "Example: gradcli derive \"c*(a-b)^2\" --where \"a=(w+x+y)^2\" --where \"b=(x-y-z)^2\" "
    "--at c=1,w=2,x=3,y=4,z=5\n\n"
    "Example: gradcli derive \"ln(x)+exp(y)*z\" --at 1,3,2 --format latex --graph graph.svg\n\n"
    + THRESHOLD_TEXT + " Exit 0: all agree (or a kink's analytic value lies "
    "between its one-sided derivatives); 1: a column disagrees; 2: bad input."
))
def derive(
    expression: Annotated[str, typer.Argument(help="The expression, e.g. \"ln(x)+exp(y)*z\" (the expression language language).")],
    at: Annotated[Optional[str], typer.Option("--at", help="Values: 1,3,2 (variables in alphabetical order) or x=1,y=3,z=2.")] = None,
    where: Annotated[Optional[list[str]], typer.Option("--where", help="An intermediate NAME=EXPR; repeat for more, any order.")] = None,
    fmt: FormatOption = Format.table,
    json_: JsonOption = False,
    graph: Annotated[Optional[Path], typer.Option(
        "--graph", help="Also write the computation graph, each node with its op, value and upstream gradient: "
        "FILE.dot (Graphviz), FILE.mmd (Mermaid), FILE.svg or FILE.png (needs Graphviz's `dot`).")] = None,
) -> None:
    fmt = pick_format(fmt, json_)

    def compute():
        from gradcli.checks.derive import derive as run_derive

        if graph is None:
            return run_derive(expression, at, where or [])
        from gradcli.render.graph_export import check_target, write_graph

        check_target(graph)  # bad usage fails before any work and writes nothing
        result = run_derive(expression, at, where or [])
        write_graph(result, graph)
        return result

    run(compute, fmt, exit_code=lambda r: r.exit_code)
