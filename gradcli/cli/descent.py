"""`gradcli descent EXPR --start w1=1,w2=-1 [--at a=10,b=1] --lr 0.19 [--steps N] [--tol T] [--plot FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradcli.cli.typer_app import app
from gradcli.cli.progress import bar
from gradcli.cli.output import Format, FormatOption, JsonOption, pick_format, require_format, run, show_progress


@app.command(help=(
    "Gradient descent w <- w - lr * grad L(w) on a function of the --start variables (the --at names are "
    "constants), with the trajectory and, for a quadratic (constant Hessian, checked symbolically), the "
    "contraction factor rho_i = 1 - lr * lambda_i along each eigenvector of the Hessian, the stable range "
    "lr < 2/lambda_max, the step minimising the worst |rho| (2/(lambda_min + lambda_max)) and the predicted "
    "number of steps until |grad L| <= tol, checked against the run. Not quadratic: the Hessian at the start "
    "and at the end.\n\n"
    "Example: gradcli descent \"0.5*(a*w1^2 + b*w2^2)\" --at a=10,b=1 --start w1=1,w2=-1 --lr 0.19 --steps 200\n\n"
    "Example: gradcli descent \"(w-2)^4 + exp(w)\" --start w=0 --lr 0.01 --steps 5000 --plot path.png\n\n"
    "The run stops at the first step with |grad L| <= tol; it is diverged when a value stops being finite, "
    "when |L| passes 1e12 x max(|L(w0)|, 1), or when L and |grad L| both end above their start. Exit 0 when "
    "the run completes (a diverging run is a result, and says so); 2: bad input."
))
def descent(
    expression: Annotated[str, typer.Argument(help="The function L, e.g. \"0.5*(a*w1^2 + b*w2^2)\" (the expression language).")],
    start: Annotated[str, typer.Option("--start", help="Start values of the trained variables: w1=1,w2=-1 "
                                       "(or positional, alphabetical, when --at names the constants).")],
    lr: Annotated[float, typer.Option("--lr", help="Learning rate (step size) eta.")],
    at: Annotated[Optional[str], typer.Option("--at", help="Values of the constants: a=10,b=1.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="The most gradient-descent steps.")] = 1000,
    tol: Annotated[float, typer.Option("--tol", help="Stop when the gradient's norm is at most this.")] = 1e-8,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw the contours of L and the path: "
                                                 "FILE.png, FILE.svg or FILE.pdf (matplotlib).")] = None,
    size: Annotated[str, typer.Option("--size", help="Image size in pixels, WIDTHxHEIGHT.")] = "800x600",
    fmt: FormatOption = Format.table,
    json_: JsonOption = False,
) -> None:
    fmt = pick_format(fmt, json_)

    def compute():
        from gradcli.training.descent import descent as run_descent, landscape
        from gradcli.training.plot import parse_size

        require_format("DescentResult", fmt, "descent")
        pixels = parse_size(size)
        if plot is not None:
            from gradcli.render.plot import check_image_target

            check_image_target(plot, "--plot")
        with bar(show_progress(fmt)) as progress:
            result = run_descent(expression, start, at, lr=lr, steps=steps, tol=tol, progress=progress)
        if plot is not None:
            from gradcli.render.descent import write_image

            write_image(result, landscape(result), plot, pixels, "--plot")
            result.notes.append(f"wrote {plot}")
        return result

    run(compute, fmt)
