"""`gradcli train FILE [--lr X] [--steps N]`: gradient descent on a network spec, with its reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradcli.cli.typer_app import app
from gradcli.cli.progress import bar
from gradcli.cli.output import Format, FormatOption, JsonOption, pick_format, run, show_progress


@app.command(help=(
    "Train a network spec by plain gradient descent (theta <- theta - lr * grad L) per its train: section, "
    "and report the loss curve, the final parameters and predictions, units that started identical and "
    "still are (symmetry never broken), and dead ReLU units.\n\n"
    "Example: gradcli train examples/sheet001_xor_random_init.yaml\n\n"
    "Example: gradcli train examples/sheet001_xor_zero_init.yaml --lr 0.5 --steps 1000 --json\n\n"
    "Example: gradcli train examples/sheet001_xor_random_init.yaml --plot loss.png\n\n"
    "A run stops early as diverged at the first loss or parameter that is not finite, or when the loss "
    "grows past 1e12 x max(|start|, 1). Converged: the last step moved theta by <= 1e-6 x max(1, |theta|). "
    "Exit 0 when the run completes (a diverging run is a result, and says so); 2: bad input, or no train: "
    "section and no --lr/--steps."
))
def train(
    path: Annotated[Path, typer.Argument(help="A .yaml network spec.")],
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (overrides train.lr).")] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Number of gradient-descent steps "
                                                 "(overrides train.steps).")] = None,
    fmt: FormatOption = Format.table,
    json_: JsonOption = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw the loss curve: FILE.png, FILE.svg or "
                                                 "FILE.pdf (matplotlib, the `plot` extra).")] = None,
    size: Annotated[str, typer.Option("--size", help="Size of the --plot image in pixels, WIDTHxHEIGHT.")] = "800x500",
) -> None:
    fmt = pick_format(fmt, json_)

    def compute():
        from gradcli.io.spec import load_net
        from gradcli.training.train import train as run_train

        if plot is None:
            with bar(show_progress(fmt)) as progress:
                return run_train(load_net(path), lr=lr, steps=steps, progress=progress)
        from gradcli.training.plot import parse_size
        from gradcli.render.plot import check_image_target, write_loss_image

        pixels = parse_size(size)
        check_image_target(plot, "--plot")  # bad usage fails before any work and writes nothing
        with bar(show_progress(fmt)) as progress:
            result = run_train(load_net(path), lr=lr, steps=steps, progress=progress)
        write_loss_image(result, plot, pixels, "--plot")
        return result

    run(compute, fmt)
