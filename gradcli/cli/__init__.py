"""The command-line layer: Typer app, shared options, exit codes, choice of renderer. No math here.

Each command lives in its own module (`derive.py`, `check.py`, ...) that parses options, calls one library
function and hands the result to `emit`. Heavy libraries (NumPy, SymPy) are imported inside the command
bodies so that `gradcli --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from ..functions import limits_text

THRESHOLD_TEXT = (
    "Relative error = |a-b| / max(|a|,|b|,1e-300); columns agree within an error budget: the numeric "
    "column's own error estimate plus float64 rounding, never tighter than 1e-6."
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
    """Console-script entry point: run the app; usage errors and GradcliErrors exit 2 without a traceback."""
    import click

    from .output import fail, wants_json

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    try:
        code = app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        code = 130
    except click.ClickException as exc:
        from ..errors import GradcliError

        err = GradcliError(exc.format_message(), where="usage")
        code = fail(err, json_mode=wants_json(sys.argv), usage_hint=True)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # a bug in gradcli: still one clear line, never a traceback
        from ..errors import GradcliError

        err = GradcliError(f"internal error ({type(exc).__name__}: {exc}); please report it with the command line",
                           where="gradcli")
        code = fail(err, json_mode=wants_json(sys.argv))
    sys.exit(code or 0)


from . import check, derive, train  # noqa: E402,F401  (registers the commands)
