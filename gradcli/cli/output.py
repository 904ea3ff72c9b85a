"""What every command shares: the `--format`/`--json` options, rendering a result, failing with exit 2."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import Annotated, Any

import typer

from gradcli.errors import GradcliError


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    latex = "latex"


FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output: table (terminal), json (one object), markdown or latex (a worked solution).",
                 case_sensitive=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Alias for --format json: exactly one JSON object on stdout.")]


def pick_format(fmt: Format, json_flag: bool) -> Format:
    return Format.json if json_flag else fmt


def wants_json(argv: list[str]) -> bool:
    """Whether the raw command line asked for JSON (used when option parsing itself failed)."""
    return "--json" in argv or any(a in ("--format=json", "-fjson") for a in argv) or _pair(argv, ("--format", "-f"), "json")


def _pair(argv: list[str], flags: tuple[str, ...], value: str) -> bool:
    return any(a in flags and i + 1 < len(argv) and argv[i + 1] == value for i, a in enumerate(argv))


def console(stderr: bool = False):
    """A Rich console that honours NO_COLOR and pipes (no colour codes when stdout is not a terminal)."""
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR")) or not (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False, emoji=False,
                   width=None if (sys.stderr if stderr else sys.stdout).isatty() else 120)


def show_progress(fmt: Format) -> bool:
    """Progress bars only on a terminal and never with machine-readable output."""
    return fmt == Format.table and sys.stdout.isatty()


def emit(result: Any, fmt: Format) -> None:
    """Render one result object in the chosen format on stdout. Nothing is computed here."""
    from gradcli.render import render

    out = render(result, fmt.value)
    if isinstance(out, str):
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    else:
        console().print(out)


def fail(err: GradcliError, json_mode: bool, usage_hint: bool = False) -> int:
    """Report a bad input: one message on stderr (and the JSON error object on stdout under --json); exit 2."""
    if json_mode:
        sys.stdout.write(json.dumps({"error": err.to_json()}) + "\n")
    text = err.render()
    if usage_hint:
        text += "\nTry 'gradcli --help' (or 'gradcli COMMAND --help')."
    sys.stderr.write(f"gradcli: {text}\n")
    return 2


def require_format(result_class: str, fmt: Format, command: str) -> None:
    """Exit 2 before any work when `command` has no renderer for `fmt` (e.g. no LaTeX for plot)."""
    from gradcli.render import FORMATS, renderer

    if renderer(result_class, fmt.value) is None:
        have = ", ".join(f for f in FORMATS if renderer(result_class, f) is not None)
        raise GradcliError(f"--format {fmt.value} is not available for {command} ({have})", where="--format")


def run(compute, fmt: Format, exit_code=lambda result: 0) -> None:
    """Call `compute()`, render its result, and exit with `exit_code(result)`; GradcliError exits 2.

    Rich is imported before computing, not while rendering: with derive's symbolic column in a child
    process (gradcli.prefork), that import then overlaps the wait for the child instead of following it.
    """
    if fmt == Format.table:
        import rich.console  # noqa: F401
        import rich.table  # noqa: F401
    try:
        result = compute()
    except GradcliError as err:
        raise typer.Exit(fail(err, json_mode=fmt == Format.json))
    emit(result, fmt)
    raise typer.Exit(exit_code(result))
