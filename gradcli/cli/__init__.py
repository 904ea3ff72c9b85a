"""The command-line layer: Typer app, shared options, exit codes, choice of renderer. No math here.

Each command lives in its own module (`derive.py`, `check.py`, ...) that parses options, calls one library
function and hands the result to `emit`. Heavy libraries (NumPy, SymPy) are imported inside the command
bodies so that `gradcli --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from gradcli.language.functions import limits_text

THRESHOLD_TEXT = (
    "Relative error = |a-b| / max(|a|,|b|,1e-300); columns agree within an error budget: the numeric "
    "column's own error estimate plus float64 rounding, never tighter than 1e-6 (an absolute difference "
    "below 64 eps = 1.4e-14 is float64 rounding)."
)

app = typer.Typer(
    name="gradcli",
    help=(
        "Derive, explain and check gradients: symbolic (SymPy), backprop (our own engine) and finite "
        "differences, side by side.\n\n"
        "Exit codes: 0 every check agrees; 1 a gradient or claimed answer disagrees; 2 bad input or usage.\n\n"
        + THRESHOLD_TEXT + " " + limits_text()
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def main() -> None:
    """Console-script entry point: run the app; usage errors and GradcliErrors exit 2 without a traceback.

    Typer may bundle its own copy of click, so click's exceptions are recognised by what they carry
    (`exit_code`, `format_message`) rather than by class.
    """
    from gradcli.errors import GradcliError
    from gradcli.cli.output import fail, wants_json

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # noqa: BLE001 - every failure ends as one clear line, never a traceback
        name = type(exc).__name__
        if name == "Exit":
            code = getattr(exc, "exit_code", 0)
        elif name == "Abort":
            code = 130
        elif hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            err = GradcliError(exc.format_message(), where="usage")
            code = fail(err, json_mode=wants_json(sys.argv), usage_hint=True)
        else:
            err = GradcliError(f"internal error ({name}: {exc}); please report it with the command line")
            code = fail(err, json_mode=wants_json(sys.argv))
    sys.exit(code or 0)

from gradcli.cli import check, derive, descent, jacobian, plot, train  # noqa: E402,F401  (registers the commands)
