"""The command-line layer: the `gradcli` entry point, exit codes, choice of renderer. No math here.

The Typer app is in `typer_app.py`; each command lives in its own module (`derive.py`, `check.py`, ...)
that parses options, calls one library function and hands the result to `emit`. Heavy libraries (NumPy, SymPy) are imported inside the command
bodies so that `gradcli --help` stays fast.
"""

from __future__ import annotations

import sys

from gradcli.cli import check, derive, descent, jacobian, plot, train  # noqa: F401  (each registers its command)
from gradcli.cli.typer_app import app


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
