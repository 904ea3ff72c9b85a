"""Start-up cost of the CLI: `gradcli --help` and a `derive`, as ratios to `python -c "import sympy"`.

Run: python benchmarks/bench_cli.py [--repeat N]
Targets (issue 3): --help <= 0.3x, derive <= 1.5x of the SymPy import, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c 'import sympy' (reference)": [sys.executable, "-c", "import sympy"],
    "gradcli --help": [sys.executable, "-m", "gradcli", "--help"],
    "gradcli derive 'ln(x)+exp(y)*z' --at 1,3,2": [sys.executable, "-m", "gradcli", "derive", "ln(x)+exp(y)*z",
                                                    "--at", "1,3,2"],
    "gradcli derive ... --json": [sys.executable, "-m", "gradcli", "derive", "ln(x)+exp(y)*z", "--at", "1,3,2",
                                  "--json"],
}
TARGETS = {"gradcli --help": 0.3, "gradcli derive 'ln(x)+exp(y)*z' --at 1,3,2": 1.5}


def wall(cmd: list[str], repeat: int) -> float:
    """Median wall time of `repeat` runs (after one warm-up run that fills the OS file cache)."""
    subprocess.run(cmd, capture_output=True, check=False)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    results = {name: wall(cmd, args.repeat) for name, cmd in COMMANDS.items()}
    ref = results["python -c 'import sympy' (reference)"]
    print(f"{'command':48} {'median s':>9} {'x sympy':>8} {'target':>7}")
    for name, t in results.items():
        target = TARGETS.get(name)
        mark = "" if target is None else (f"<= {target}" + (" ok" if t / ref <= target else " MISS"))
        print(f"{name:48} {t:9.3f} {t / ref:8.2f} {mark:>7}")


if __name__ == "__main__":
    main()
