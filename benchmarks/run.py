"""Every gradcli benchmark in one command: each prints its own table of figures and ratios.

Run from the repository root:  python benchmarks/run.py [--only cli,problems,netcheck]
- cli:      `gradcli --help` and `gradcli derive` start-up as ratios to `python -c "import sympy"`.
- problems: `gradcli check problems/` with --jobs 1 and --jobs 2, per-claim cost by kind.
- netcheck: `gradcli check` on MLPs [4,8,1], [64,128,10], [784,128,10]: each column's time and memory next to
            torch.autograd.gradcheck (the `bench` extra: pip install '.[bench]') and a hand-written NumPy backprop.
Speed targets live here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {"cli": "bench_cli.py", "problems": "bench_problems.py", "netcheck": "bench_netcheck.py"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SCRIPTS), help="comma-separated subset of: " + ", ".join(SCRIPTS))
    args = parser.parse_args()
    status = 0
    for name in args.only.split(","):
        script = SCRIPTS.get(name.strip())
        if script is None:
            print(f"unknown benchmark {name!r}; choose from {', '.join(SCRIPTS)}", file=sys.stderr)
            return 2
        print(f"\n== {name} ({script}) ==", flush=True)
        status |= subprocess.run([sys.executable, str(HERE / script)], cwd=HERE.parent).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
