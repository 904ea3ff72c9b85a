"""`gradcli check FILE.yaml | DIR`: network specs (every parameter's gradient three ways) and problem files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradcli.cli.typer_app import THRESHOLD_TEXT, app
from gradcli.cli.output import Format, FormatOption, JsonOption, pick_format, run, show_progress


@app.command(help=(
    "Check a network spec (every parameter's gradient: symbolic, backprop, numeric) or a problem file "
    "(every claimed answer), or every *.yaml/*.yml under a directory.\n\n"
    "Example: gradcli check examples/sheet003_one_hidden_layer.yaml\n\n"
    "Example: gradcli check problems/ --jobs 2 --junit report.xml\n\n"
    + THRESHOLD_TEXT + " Exit 0: every gradient agrees and every claim matches its `expect`; 1: something "
    "disagrees (the table shows which); 2: bad input."
))
def check(
    path: Annotated[Path, typer.Argument(help="A .yaml network spec or problem file, or a directory of them.")],
    fmt: FormatOption = Format.table,
    json_: JsonOption = False,
    fast: Annotated[bool, typer.Option("--fast", help="Directional check (a few random directions); on failure, "
                                       "bisection finds the wrong entries.")] = False,
    show: Annotated[Optional[list[str]], typer.Option("--show", help="Print this parameter's three gradient matrices "
                                                      "side by side (repeatable).")] = None,
    cost: Annotated[bool, typer.Option("--cost", help="Count multiply-adds of the forward and backward pass per op.")] = False,
    equations: Annotated[bool, typer.Option("--equations/--no-equations", help="Print the backward pass as "
                                            "equations derived from forward:, each checked numerically.")] = True,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Check files in parallel (default: the cores).")] = None,
    shard: Annotated[Optional[str], typer.Option("--shard", help="i/n: check only the i-th of n disjoint parts "
                                                 "of the files (1-based), for CI machines.")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML, one test case per claim or "
                                                  "parameter.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for random sample points and directions.")] = 0,
) -> None:
    fmt = pick_format(fmt, json_)

    def compute():
        from gradcli.checks.checking import check_path
        from gradcli.checks.options import CheckOptions
        from gradcli.cli.progress import bar

        with bar(show_progress(fmt)) as progress:
            options = CheckOptions(fast=fast, show=list(show or []), cost=cost, equations=equations, jobs=jobs,
                                   shard=shard, junit=junit, seed=seed, progress=progress)
            return check_path(path, options)

    run(compute, fmt, exit_code=lambda r: r.exit_code)
