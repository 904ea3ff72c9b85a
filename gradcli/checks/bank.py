"""`gradcli check` on problem files and directories: many files, in parallel, sharded, with JUnit XML.

A directory is every *.yaml / *.yml below it (sorted by path, `gradcli.io.spec.iter_yaml_files`); each file
is a problem file (it has `claims:`) or a network spec, checked on its own. `--jobs N` checks N files at a
time in worker processes (default: the cores); `--shard i/n` keeps the files whose position k in the
sorted list has k mod n = i - 1, so the n shards are disjoint and together hold every file. A file that
cannot be used stops the whole run with its error (exit 2; nothing is written), the first such file in
path order when several fail.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from gradcli.checks.claims.results import AllMatch, ProblemResult
from gradcli.checks.options import CheckOptions
from gradcli.errors import GradcliError
from gradcli.progress import ProgressCallback, report

SHARD_USAGE = "--shard takes i/n with 1 <= i <= n, such as 1/4"
PROGRESS_LABEL = "checking"  # the one phase of a run's progress: files done of files


@dataclass
class NetFileResult:
    """A network spec found in a directory: its net check (renderers write it as the network-spec format's JSON) and verdict."""

    file: str
    verdict: str  # agree | disagree | kink
    exit_code: int
    result: Any  # gradcli.checks.nets.netcheck.NetCheckResult
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class BankSummary:
    files: int
    problem_files: int
    net_files: int
    claims: int
    correct: int
    wrong: int
    slips_confirmed: int  # expect: wrong, found wrong
    mismatched: int  # verdicts that do not match their expect
    nets_disagreeing: int


@dataclass
class BankResult(AllMatch):
    """Every checked file in path order (ProblemResult or NetFileResult), and how the run was split."""

    root: str
    files: list[Any]
    shard: tuple[int, int] | None = None
    total_files: int = 0  # before sharding
    jobs: int = 1
    seconds: float = 0.0
    junit: str | None = None

    @property
    def summary(self) -> BankSummary:
        problems = [f for f in self.files if isinstance(f, ProblemResult)]
        nets = [f for f in self.files if isinstance(f, NetFileResult)]
        claims = [c for p in problems for c in p.claims]
        return BankSummary(
            files=len(self.files), problem_files=len(problems), net_files=len(nets), claims=len(claims),
            correct=sum(c.verdict == "correct" for c in claims), wrong=sum(c.verdict == "wrong" for c in claims),
            slips_confirmed=sum(c.slip_confirmed for c in claims), mismatched=sum(not c.ok for c in claims),
            nets_disagreeing=sum(not n.ok for n in nets))

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)


# ============================================================================================ sharding


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4); None stays None; anything else is a usage error (exit 2)."""
    if text is None:
        return None
    head, sep, tail = text.strip().partition("/")
    if not sep or not head.strip().isdigit() or not tail.strip().isdigit():
        raise GradcliError(f"{SHARD_USAGE}; got {text!r}", where="--shard")
    i, n = int(head), int(tail)
    if not 1 <= i <= n:
        raise GradcliError(f"{SHARD_USAGE}; got {text!r}", where="--shard")
    return i, n


def shard_files(files: Sequence[Any], index: int, count: int) -> list[Any]:
    """The files of shard `index` (1-based) of `count`: every count-th file starting at index - 1."""
    return [f for k, f in enumerate(files) if k % count == index - 1]


# ============================================================================================ checking


def check_bank(path: str | os.PathLike, options: CheckOptions) -> BankResult:
    """Check a problem file, or every YAML file under a directory (see the module docstring)."""
    from gradcli.io.spec import iter_yaml_files

    start = time.perf_counter()
    root = Path(path)
    if root.is_dir():
        files = [str(p) for p in iter_yaml_files(root)]
        if not files:
            raise GradcliError("no *.yaml or *.yml files here", where=str(root))
    else:
        files = [str(root)]
    total = len(files)
    shard = parse_shard(options.shard)
    if shard is not None:
        files = shard_files(files, *shard)
    jobs = options.jobs or os.cpu_count() or 1
    jobs = max(1, min(int(jobs), len(files) or 1))
    seed = int(options.seed or 0)
    progress = options.progress if len(files) > 1 else None
    results = _run_all(files, options, seed, jobs, progress)
    result = BankResult(str(root), results, shard, total, jobs, time.perf_counter() - start)
    junit = options.junit
    if junit is not None:
        write_junit(result, junit)
        result.junit = str(junit)
    return result


def _run_all(files: list[str], options: CheckOptions, seed: int, jobs: int,
             progress: ProgressCallback | None) -> list[Any]:
    """Check the files (in worker processes when jobs > 1); results in file order; the first error raised.
    `progress` hears (files done, files, "checking") after each file."""
    outcomes: dict[int, tuple] = {}
    report(progress, 0, len(files), PROGRESS_LABEL)
    if jobs <= 1 or len(files) <= 1:
        for k, f in enumerate(files):
            outcomes[k] = _check_file(f, _options_dict(options), seed)
            report(progress, len(outcomes), len(files), PROGRESS_LABEL)
            if outcomes[k][0] != "ok":
                break
    else:
        _warm_up()
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else None)
        order = sorted(range(len(files)), key=lambda k: -_cost(files[k]))  # costliest first: a shorter tail
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            pending = {pool.submit(_check_file, files[k], _options_dict(options), seed): k for k in order}
            failed = False
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    k = pending.pop(future)
                    outcomes[k] = future.result()
                    report(progress, len(outcomes), len(files), PROGRESS_LABEL)
                    if outcomes[k][0] != "ok" and not failed:
                        failed = True
                        for other in pending:
                            other.cancel()
                if failed:
                    pending = {f: k for f, k in pending.items() if not f.cancelled()}
    for k in sorted(outcomes):
        status = outcomes[k]
        if status[0] == "error":
            _, message, where, detail = status
            raise GradcliError(message, where=where, detail=detail)
        if status[0] == "internal":
            raise RuntimeError(f"{files[k]}: {status[1]}")
    return [outcomes[k][1] for k in range(len(files))]


_WARM_UP = """\
net:
  data: {x: [[0, 1], [1, 0]], y: [1, 0]}
  params: {W: [[0.1, 0.2], [0.3, -0.1]], b: [0.1, 0.0], v: [[0.5, -0.5]]}
  forward: {h: sigmoid(W @ x + b), yhat: v @ relu(h)}
  loss: 0.5*(yhat - y)^2
shapes: {X: [2, 2], w: [2]}
claims:
  - id: d
    derivative: {wrt: b}
    claim: (v.T*h*(1-h))*(yhat-y)
  - id: g
    gradient: {wrt: v}
    claim: (yhat - y) @ h.T
  - id: u
    update: {wrt: v, lr: eta}
    claim: v - eta*(yhat - y) @ h.T
  - id: j
    jacobian: {of: X @ w, wrt: w}
    claim_shape: [2, 2]
    claim_entry: X[i,j]
    claim: X
  - id: t
    behaviour: {train: {lr: 0.1, steps: 3}}
    claim: converges
"""


def _warm_up() -> None:
    """Before forking: import the heavy modules and run one small problem through every kind of claim, so
    every worker starts with SymPy's printers, lambdify and NumPy's paths loaded instead of paying for
    them once per worker."""
    import importlib

    for name in ("gradcli.checks.jacobian", "gradcli.checks.nets.netcheck", "gradcli.training.train"):
        importlib.import_module(name)
    from gradcli.checks.claims.problems import check_problem
    from gradcli.io.spec import load_text

    try:
        check_problem(load_text(_WARM_UP, "<warm-up>"))
    except GradcliError:
        pass


def _cost(path: str) -> int:
    """A rough cost estimate for scheduling: the file's size plus the gradient-descent steps it asks for."""
    import re

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return len(text) + 2 * sum(int(n) for n in re.findall(r"steps:\s*(\d{1,7})", text))


def _options_dict(options: CheckOptions) -> dict:
    """The options a worker needs, as plain data."""
    return {k: getattr(options, k) for k in ("fast", "show", "cost", "equations", "seed")}


def _check_file(path: str, options: dict, seed: int) -> tuple:
    """('ok', result) | ('error', message, where, detail) | ('internal', text): plain data across processes."""
    try:
        return ("ok", check_file(path, options, seed))
    except GradcliError as err:
        return ("error", err.message, err.where, err.detail)
    except Exception as exc:  # a bug: reported by the CLI as an internal error, never a traceback
        return ("internal", f"{type(exc).__name__}: {exc}")


def check_file(path: str, options: dict | None = None, seed: int = 0) -> Any:
    """One file: a ProblemResult for a problem file, a NetFileResult for a network spec."""
    from gradcli.checks.claims.problems import check_problem
    from gradcli.io import spec
    from gradcli.io.models import ProblemFile

    loaded = spec.load(path)
    if isinstance(loaded, ProblemFile):
        return check_problem(loaded, seed=seed)
    start = time.perf_counter()
    from gradcli.checks.nets.netcheck import check_net

    values = options if isinstance(options, dict) else {}
    net_options = CheckOptions(**{k: v for k, v in values.items() if k in CheckOptions.__dataclass_fields__})
    result = check_net(loaded, net_options)
    return NetFileResult(str(path), str(result.verdict), int(result.exit_code), result, time.perf_counter() - start)


# ============================================================================================ JUnit XML


def junit_xml(result: BankResult) -> str:
    """JUnit XML as CI dashboards read it: <testsuites> of one <testsuite> per file, one <testcase> per claim
    (or per parameter of a network spec); a claim whose verdict does not match its `expect` is a <failure>."""
    import xml.etree.ElementTree as ET

    summary = result.summary
    suites = ET.Element("testsuites", {
        "name": "gradcli check", "tests": str(summary.claims + _net_cases(result)),
        "failures": str(summary.mismatched + summary.nets_disagreeing), "errors": "0",
        "time": f"{result.seconds:.3f}"})
    for f in result.files:
        if isinstance(f, ProblemResult):
            failures = sum(not c.ok for c in f.claims)
            suite = ET.SubElement(suites, "testsuite", {
                "name": f.file, "tests": str(len(f.claims)), "failures": str(failures), "errors": "0",
                "skipped": "0", "time": f"{f.seconds:.3f}"})
            for c in f.claims:
                case = ET.SubElement(suite, "testcase", {"classname": f.file, "name": c.id, "time": f"{c.seconds:.3f}"})
                if not c.ok:
                    failure = ET.SubElement(case, "failure", {
                        "message": f"expected {c.expect}, found {c.verdict}: {_clip(c.detail, 300)}",
                        "type": "ClaimMismatch"})
                    failure.text = f"{c.kind} claim {c.id!r} (line {c.line}): {c.detail}"
                elif c.slip_confirmed:
                    ET.SubElement(case, "system-out").text = f"known slip confirmed: {c.detail}"
        else:
            cases = _net_parameters(f)
            bad = sum(1 for _, verdict, _ in cases if verdict == "disagree")
            suite = ET.SubElement(suites, "testsuite", {
                "name": f.file, "tests": str(len(cases)), "failures": str(bad), "errors": "0", "skipped": "0",
                "time": f"{f.seconds:.3f}"})
            for name, verdict, reason in cases:
                case = ET.SubElement(suite, "testcase", {"classname": f.file, "name": f"gradient {name}",
                                                         "time": "0.000"})
                if verdict == "disagree":
                    ET.SubElement(case, "failure", {"message": _clip(reason or "the gradient columns disagree", 300),
                                                    "type": "GradientMismatch"}).text = reason
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_junit(result: BankResult, path: str | os.PathLike) -> None:
    """Write `junit_xml(result)` to `path` (its directory must exist)."""
    try:
        Path(path).write_text(junit_xml(result), encoding="utf-8")
    except OSError as err:
        raise GradcliError(f"cannot write the JUnit report: {err.strerror}", where=f"--junit {path}") from None


def _net_parameters(f: NetFileResult) -> list[tuple[str, str, str]]:
    """(parameter, verdict, reason) per gradient of a network spec; one '(all)' case when it has none."""
    gradients = f.result.gradients
    if not gradients:
        return [("(all)", f.verdict, "")]
    return [(name, str(p.verdict), str(p.reason)) for name, p in gradients.items()]


def _net_cases(result: BankResult) -> int:
    return sum(len(_net_parameters(f)) for f in result.files if isinstance(f, NetFileResult))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


