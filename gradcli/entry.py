"""The console-script entry point (`gradcli`, `python -m gradcli`).

Two things only a whole process can do for start-up time, both measured by `benchmarks/bench_cli.py`:
- Before the CLI itself (Typer, Rich) is imported, fork the child that imports SymPy for the commands
  whose symbolic column runs there (gradcli.prefork), so that import overlaps everything else the
  command does. `--help` and commands without a symbolic column start no child.
- At the end, skip the interpreter's teardown (freeing every module object one by one, ~0.1 s with
  SymPy, NumPy and Typer loaded; the OS reclaims the memory at once): run the atexit handlers, flush
  stdout and stderr, then `os._exit` with the command's exit code.
"""

from __future__ import annotations

import atexit
import os
import sys

# command -> the modules its child imports before it waits for the job
PREFORK_MODULES = {"derive": ("gradcli.symbolic.calculus", "gradcli.symbolic.latex_printer", "gradcli.checks.derive")}
HELP_OPTIONS = frozenset({"-h", "--help"})


def main() -> None:
    try:
        args = sys.argv[1:]
        modules = PREFORK_MODULES.get(args[0]) if args else None
        if modules and not HELP_OPTIONS.intersection(args):
            from gradcli import prefork

            prefork.start(modules)
        from gradcli.cli import main as cli_main

        cli_main()
        code = 0
    except SystemExit as done:
        code = exit_status(done.code)
    except KeyboardInterrupt:  # before the CLI's own handler is in place (Ctrl-C during the imports)
        code = 130
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or stream: nothing more can be said there
            pass
    os._exit(code)


def exit_status(code: object) -> int:
    """The process status for `sys.exit(code)`: None is 0, an int is itself, anything else is printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
