"""`gradcli plot EXPR --range LO:HI [--derivative] [-o FILE.png]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gradcli.cli.typer_app import app
from gradcli.cli.output import Format, FormatOption, JsonOption, pick_format, require_format, run


@app.command(help=(
    "Plot a function of one variable, and with --derivative its derivative (by SymPy), on a range: in the "
    "terminal with Unicode braille (or block) characters, or as an image with -o (matplotlib, the `plot` "
    "extra). Kinks (relu, abs where their argument crosses 0) are marked; points outside the domain are "
    "gaps.\n\n"
    "Example: gradcli plot \"sigmoid(x)\" --range -10:10 --derivative\n\n"
    "Example: gradcli plot \"relu(x)\" --range -3:3 --derivative -o relu.png\n\n"
    "Example: gradcli plot \"ln(x)\" --range=-1:5 --json\n\n"
    "Exit 0 on success; 2: bad input (a bad range, no variable or more than one, a function defined nowhere on "
    "the range, an image format other than .png/.svg/.pdf, matplotlib missing for -o)."
))
def plot(
    expression: Annotated[str, typer.Argument(help="A function of one variable, e.g. \"tanh(x)\" (the expression language language).")],
    range_: Annotated[str, typer.Option("--range", "-r", help="LO:HI, e.g. -10:10 or -pi:pi.")] = "-10:10",
    derivative: Annotated[bool, typer.Option("--derivative", "-d",
                                             help="Also plot the derivative (from SymPy).")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write an image instead of the terminal "
                                                   "plot: FILE.png, FILE.svg or FILE.pdf.")] = None,
    points: Annotated[Optional[int], typer.Option("--points", "-n", help="Samples on the range (default: 4 per "
                                                  "character cell in the terminal, 1001 for an image).")] = None,
    size: Annotated[str, typer.Option("--size", help="Image size in pixels, WIDTHxHEIGHT.")] = "900x500",
    width: Annotated[int, typer.Option("--width", help="Terminal plot width in character cells.")] = 60,
    height: Annotated[int, typer.Option("--height", help="Terminal plot height in character cells (per panel).")] = 15,
    ylim: Annotated[Optional[str], typer.Option("--ylim", help="LO:HI: fix f's y range (values outside are "
                                                "clipped), e.g. for tan(x).")] = None,
    blocks: Annotated[bool, typer.Option("--blocks", help="Block characters (2x2 per cell) instead of braille "
                                         "(2x4), for fonts without braille.")] = False,
    fmt: FormatOption = Format.table,
    json_: JsonOption = False,
) -> None:
    fmt = pick_format(fmt, json_)

    def compute():
        from gradcli.training.plot import parse_size, plot as sample

        require_format("PlotData", fmt, "plot")
        pixels = parse_size(size)
        if output is not None:
            from gradcli.render.plot import check_image_target

            check_image_target(output, "--output")
        n = points if points is not None or output is None else 1001
        data = sample(expression, range_, derivative=derivative, points=n, ylim=ylim, width=width, height=height,
                      chars="blocks" if blocks else "braille")
        if output is not None:
            from gradcli.render.plot import write_image

            write_image(data, output, pixels, "--output")
            data.file = str(output)
        return data

    run(compute, fmt)
