"""The Typer app every command module registers on, and the help text they share."""

from __future__ import annotations

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
