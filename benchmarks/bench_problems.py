"""Benchmark of `gradcli check problems/`: wall time with --jobs 1 and --jobs 2, their ratio, per-claim cost.

Run: python benchmarks/bench_problems.py [--repeat 3] [--dir problems/]

Each run is a fresh `python -m gradcli check DIR --json` process (start-up included, as CI sees it); the
median of `--repeat` runs is reported. Per-claim cost comes from the JSON of the --jobs 1 run: the mean
and the slowest claims, and the time by claim kind. The machine's load average is printed too: with other
work running, two worker processes cannot get two cores and the ratio says so.
Target (issue 5): the whole seed bank under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict

TARGET_SECONDS = 10.0


def run(directory: str, jobs: int) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the process and its workers, the JSON report)."""
    cmd = [sys.executable, "-m", "gradcli", "check", directory, "--json", "--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"gradcli check failed (exit {done.returncode}): {done.stderr.strip()}")
    return wall, cpu, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="problems/")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: {os.cpu_count()}, load average (1 min) before: {load:.2f}")
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    report = None
    for _ in range(args.repeat):
        for jobs in (1, 2):
            wall, cpu, data = run(args.dir, jobs)
            walls[jobs].append(wall)
            cpus[jobs].append(cpu)
            if jobs == 1:
                report = data
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    s = report["summary"]
    print(f"bank: {s['files']} files, {s['claims']} claims ({s['correct']} correct, {s['wrong']} wrong, "
          f"{s['known_slips_confirmed']} known slips confirmed), ok = {report['ok']}")
    print(f"{'':10} {'median wall s':>14} {'median CPU s':>13} {'wall of each run':>28}")
    for jobs, t in ((1, one), (2, two)):
        mark = "ok" if t <= TARGET_SECONDS else "MISS"
        print(f"--jobs {jobs:<3} {t:14.2f} {statistics.median(cpus[jobs]):13.2f}   "
              f"{', '.join(f'{w:.2f}' for w in walls[jobs]):>26}  (target < {TARGET_SECONDS:g} s: {mark})")
    print(f"ratio wall jobs 1 / jobs 2: {one / two:.2f}x  (CPU of all processes: jobs 1 "
          f"{statistics.median(cpus[1]):.2f} s, jobs 2 {statistics.median(cpus[2]):.2f} s; wall above CPU/jobs means "
          f"the cores were busy with other work)")
    claims = [(f["file"], c) for f in report["files"] for c in f.get("claims", [])]
    if claims:
        costs = [c["seconds"] for _, c in claims]
        print(f"per claim (jobs 1, inside the check): mean {1000 * statistics.mean(costs):.1f} ms, median "
              f"{1000 * statistics.median(costs):.1f} ms, sum {sum(costs):.2f} s; whole-run overhead "
              f"{one - sum(costs):.2f} s (start-up, loading, rendering)")
        by_kind: dict[str, list[float]] = defaultdict(list)
        for _, c in claims:
            by_kind[c["kind"]].append(c["seconds"])
        for kind, values in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {kind:11} {len(values):4} claims  {sum(values):6.2f} s  mean {1000 * statistics.mean(values):7.1f} ms")
        print("slowest claims:")
        for file, c in sorted(claims, key=lambda fc: -fc[1]["seconds"])[:5]:
            print(f"  {c['seconds']:6.2f} s  {os.path.basename(file)}: {c['id']} ({c['kind']}, {c['method']})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) after: {load:.2f}")


if __name__ == "__main__":
    main()
