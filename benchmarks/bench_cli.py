"""Start-up cost of the CLI: `gradcli --help` and a `derive`, as ratios to `python -c "import sympy"`.

Run: python benchmarks/bench_cli.py [--repeat N]
Targets (issue 3): --help <= 0.3x, derive <= 1.5x of the SymPy import, measured in the same run.

The commands are run in rounds (reference, then each command, then the next round), so a change in the
machine's load during the run touches every row alike; each row is the median over the rounds. The
derive is measured twice: as users run it (its symbolic column in the child process forked at start-up,
gradcli.prefork) and with GRADCLI_NO_FORK=1 (everything in one process, what a one-core machine gets).
PYTHONDONTWRITEBYTECODE is dropped for the runs, so the warm-up round leaves the bytecode caches that any
installed package has (with it set, a source checkout would be recompiled on every run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

DERIVE = [sys.executable, "-m", "gradcli", "derive", "ln(x)+exp(y)*z", "--at", "1,3,2"]
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GRADCLI_NO_FORK")}
SERIAL = {**ENV, "GRADCLI_NO_FORK": "1"}
REFERENCE = "python -c 'import sympy' (reference)"
COMMANDS = {
    REFERENCE: ([sys.executable, "-c", "import sympy"], ENV),
    "gradcli --help": ([sys.executable, "-m", "gradcli", "--help"], ENV),
    "gradcli derive 'ln(x)+exp(y)*z' --at 1,3,2": (DERIVE, ENV),
    "gradcli derive ... --json": (DERIVE + ["--json"], ENV),
    "gradcli derive ... (GRADCLI_NO_FORK=1)": (DERIVE, SERIAL),
}
TARGETS = {"gradcli --help": 0.3, "gradcli derive 'ln(x)+exp(y)*z' --at 1,3,2": 1.5}


def once(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=env)
    return time.perf_counter() - t0


def measure(repeat: int) -> dict[str, float]:
    """Median wall time of each command over `repeat` rounds, after one warm-up round (OS file cache)."""
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(repeat + 1):
        for name, (cmd, env) in COMMANDS.items():
            t = once(cmd, env)
            if round_:
                times[name].append(t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    results = measure(args.repeat)
    ref = results[REFERENCE]
    print(f"{os.cpu_count()} CPUs, median of {args.repeat} interleaved rounds")
    print(f"{'command':48} {'median s':>9} {'x sympy':>8} {'target':>9}")
    for name, t in results.items():
        target = TARGETS.get(name)
        mark = "" if target is None else (f"<= {target}" + (" ok" if t / ref <= target else " MISS"))
        print(f"{name:48} {t:9.3f} {t / ref:8.2f} {mark:>9}")


if __name__ == "__main__":
    main()
