"""`gradcli jacobian EXPR --wrt V [--shape NAME=SIZES ...] [--at NAME=VALUE ...] [--seed N]`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gradcli.cli.typer_app import THRESHOLD_TEXT, app
from gradcli.cli.output import Format, FormatOption, JsonOption, pick_format, run


@app.command(help=(
    "The Jacobian of EXPR with respect to one variable, by the sheets' convention: shape (output shape) × "
    "(input shape), a scalar output counting as (1) and a column vector (n×1) as (n). Shows the entries at "
    "the given (or seeded random) values three ways — SymPy, the engine row by row (one backward pass with a "
    "one-hot seed per output entry), central differences — and an index formula such as X[i,l]*delta(j,k) "
    "when one fits (axes i, j, k, ... over the output axes, then the input axes).\n\n"
    "Example: gradcli jacobian \"X @ W.T\" --wrt W --shape X=3x4 --shape W=2x4\n\n"
    "Example: gradcli jacobian \"softmax(z)\" --wrt z --shape z=3 --at \"z=[1, 2, 3]\"\n\n"
    "Shapes: 3x4 is a matrix, 4 a column vector, scalar (or no --shape) a scalar. " + THRESHOLD_TEXT +
    " Exit 0: the three columns agree; 1: they disagree; 2: bad input."
))
def jacobian(
    expression: Annotated[str, typer.Argument(help="The expression, e.g. \"X @ W.T\" (the expression language language).")],
    wrt: Annotated[str, typer.Option("--wrt", help="The variable to differentiate by.")],
    shape: Annotated[Optional[list[str]], typer.Option("--shape", help="NAME=SIZES such as X=3x4 (matrix) or "
                                                      "w=4 (column vector); repeatable. Unlisted names are "
                                                      "scalars.")] = None,
    at: Annotated[Optional[list[str]], typer.Option("--at", help="Values: c=2, w=[1,2,3], X=[[1,2],[3,4]] "
                                                   "(repeatable, or comma-separated). The rest are seeded "
                                                   "random numbers in ±[0.2, 2].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the random values.")] = 0,
    fmt: FormatOption = Format.table,
    json_: JsonOption = False,
) -> None:
    fmt = pick_format(fmt, json_)

    def compute():
        from gradcli.errors import BindingError
        from gradcli.checks.jacobian import jacobian as run_jacobian

        shapes: dict[str, str] = {}
        for item in shape or []:
            name, sep, sizes = item.partition("=")
            name = name.strip()
            if not sep or not name:
                raise BindingError(f"expected NAME=SIZES such as X=3x4, got {item!r}", where="--shape")
            if name in shapes:
                raise BindingError(f"{name!r} is given twice", where="--shape")
            shapes[name] = sizes
        return run_jacobian(expression, wrt, shapes, list(at or []), seed=seed)

    run(compute, fmt, exit_code=lambda r: r.exit_code)
