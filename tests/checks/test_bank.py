"""`gradcli check DIR`: many files, --jobs in parallel, --shard partitions, --junit XML, network specs beside
problem files, errors that stop the run; and the CI wiring of docs/ci.md (GitHub Actions commands, the
pre-commit hook of .pre-commit-hooks.yaml run against a temporary repository)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradcli.checks.bank import BankResult, NetFileResult, check_bank, junit_xml, parse_shard, shard_files
from gradcli.checks.options import CheckOptions
from gradcli.cli import app
from gradcli.errors import GradcliError
from gradcli.checks.claims.results import ProblemResult

from tools import unavailable

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

GOOD = """\
    title: chain rule
    function: x^2 * y
    claims:
      - id: df/dx
        derivative: {wrt: x}
        claim: 2*x*y
      - id: df/dy as printed
        derivative: {wrt: y}
        claim: 2*x
        expect: wrong
      - id: f(1, 2)
        value: {at: {x: 1, y: 2}}
        claim: 2
"""

WRONG = """\
    function: sin(x)
    claims:
      - id: d sin
        derivative: {wrt: x}
        claim: -cos(x)
"""

NET = """\
    inputs: {x: [0.5, -1.2], y: 0.7}
    params:
      W: [[0.1, -0.2], [0.3, 0.4]]
      b: [0.0, 0.1]
    forward:
      yhat: sum(sigmoid(W @ x + b))
    loss: 0.5*(yhat - y)^2
"""


def bank(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "problems"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def verdicts(result: BankResult) -> list[tuple[str, str, str]]:
    return [(f.file, c.id, c.verdict) for f in result.files if isinstance(f, ProblemResult) for c in f.claims]


# ---------------------------------------------------------------------------------------------- shards


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=12))
def test_shards_are_disjoint_complete_and_balanced(count, n):
    files = [f"problems/{k:03d}.yaml" for k in range(count)]
    shards = [shard_files(files, i, n) for i in range(1, n + 1)]
    together = [f for s in shards for f in s]
    assert sorted(together) == files  # complete, and no file twice (disjoint)
    assert len(set(together)) == len(together)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    for s in shards:
        assert s == sorted(s)  # each shard keeps the path order


@pytest.mark.parametrize("text, expected", [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3)), (None, None)])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "2", "1/0", "-1/2", "1/2/3"])
def test_parse_shard_refuses(text):
    with pytest.raises(GradcliError, match="--shard takes i/n"):
        parse_shard(text)


def test_sharded_runs_together_check_every_file_once(tmp_path):
    root = bank(tmp_path, {f"p{k}.yaml": GOOD for k in range(5)})
    seen = []
    for i in (1, 2, 3):
        result = check_bank(root, CheckOptions(jobs=1, shard=f"{i}/3"))
        assert result.total_files == 5 and result.shard == (i, 3)
        seen += [f.file for f in result.files]
    assert sorted(seen) == sorted(str(p) for p in root.glob("*.yaml"))


# ---------------------------------------------------------------------------------------------- running


def test_parallel_and_sequential_runs_agree(tmp_path):
    root = bank(tmp_path, {"a.yaml": GOOD, "b/c.yaml": WRONG, "d.yml": GOOD})
    one = check_bank(root, CheckOptions(jobs=1))
    two = check_bank(root, CheckOptions(jobs=2))
    assert verdicts(one) == verdicts(two)
    assert [f.file for f in one.files] == [str(root / "a.yaml"), str(root / "b/c.yaml"), str(root / "d.yml")]
    assert one.exit_code == two.exit_code == 1  # 'd sin' is wrong but expected correct
    s = one.summary
    assert (s.files, s.claims, s.correct, s.wrong, s.slips_confirmed, s.mismatched) == (3, 7, 4, 3, 2, 1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bad_file_stops_the_run_with_its_place(tmp_path, jobs):
    bad = "function: x\nclaims:\n  - id: broken\n    derivative: {wrt: x}\n    claim: 2*x +\n"
    root = bank(tmp_path, {"a.yaml": GOOD, "b.yaml": bad, "c.yaml": bad.replace("broken", "also broken")})
    with pytest.raises(GradcliError) as info:
        check_bank(root, CheckOptions(jobs=jobs))
    assert info.value.where == f"{root / 'b.yaml'}: claims[0] 'broken' (line 5)"  # the first bad file in path order
    result = runner.invoke(app, ["check", str(root), "--jobs", str(jobs), "--junit", str(tmp_path / "j.xml")])
    assert result.exit_code == 2 and "b.yaml: claims[0] 'broken' (line 5)" in result.stderr
    assert not (tmp_path / "j.xml").exists()  # exit 2 writes nothing


def test_a_directory_without_yaml_files_is_bad_input(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["check", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no *.yaml or *.yml files" in result.stderr


def test_an_empty_shard_is_fine(tmp_path):
    root = bank(tmp_path, {"a.yaml": GOOD})
    result = runner.invoke(app, ["check", str(root), "--shard", "2/2", "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["files"] == [] and data["shard"] == "2/2" and data["ok"] is True


def test_network_specs_in_a_directory_are_file_entries_with_their_net_check(tmp_path):
    root = bank(tmp_path, {"a.yaml": GOOD, "net.yaml": NET})
    result = check_bank(root, CheckOptions(jobs=1))
    net = next(f for f in result.files if isinstance(f, NetFileResult))
    assert net.verdict == "agree" and net.ok
    data = json.loads(runner.invoke(app, ["check", str(root), "--json"]).stdout)
    entry = next(f for f in data["files"] if f["file"].endswith("net.yaml"))
    assert entry["ok"] is True and entry["verdict"] == "agree" and set(entry["gradient"]) == {"W", "b"}
    assert "claims" not in entry
    xml = ET.fromstring(junit_xml(result))
    suite = next(s for s in xml.iter("testsuite") if s.get("name").endswith("net.yaml"))
    assert {c.get("name") for c in suite.iter("testcase")} == {"gradient W", "gradient b"}


# ---------------------------------------------------------------------------------------------- JUnit


def test_junit_xml_has_the_structure_ci_tools_read(tmp_path):
    root = bank(tmp_path, {"a.yaml": GOOD, "b.yaml": WRONG})
    report = tmp_path / "out" / "junit.xml"
    report.parent.mkdir()
    result = runner.invoke(app, ["check", str(root), "--junit", str(report), "--jobs", "1"])
    assert result.exit_code == 1
    tree = ET.parse(report)
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("4", "1", "0")
    float(suites.get("time"))
    by_name = {s.get("name"): s for s in suites.findall("testsuite")}
    assert set(by_name) == {str(root / "a.yaml"), str(root / "b.yaml")}
    for name, suite in by_name.items():
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert suite.get("errors") == "0" and float(suite.get("time")) >= 0
        for case in cases:
            assert case.get("classname") == name and case.get("name") and float(case.get("time")) >= 0
    good = {c.get("name"): c for c in by_name[str(root / "a.yaml")].findall("testcase")}
    assert set(good) == {"df/dx", "df/dy as printed", "f(1, 2)"}
    assert all(c.find("failure") is None for c in good.values())
    assert "known slip confirmed" in good["df/dy as printed"].find("system-out").text
    failure = by_name[str(root / "b.yaml")].find("testcase").find("failure")
    assert failure.get("message").startswith("expected correct, found wrong: right: cos(x)")
    assert failure.get("type") == "ClaimMismatch" and "line 3" in failure.text


def test_junit_escapes_whatever_the_claims_say(tmp_path):
    root = bank(tmp_path, {"a.yaml": GOOD.replace("id: df/dx", 'id: "<df/dx> & \\"more\\""')})
    result = check_bank(root, CheckOptions(jobs=1))
    names = [c.get("name") for c in ET.fromstring(junit_xml(result)).iter("testcase")]
    assert '<df/dx> & "more"' in names


# ---------------------------------------------------------------------------------------------- CLI output


def test_cli_summary_and_json_per_spec(tmp_path):
    root = bank(tmp_path, {"a.yaml": GOOD, "b.yaml": GOOD})
    result = runner.invoke(app, ["check", str(root), "--jobs", "2"])
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())
    assert "2 files, 6 claims: 4 correct, 2 wrong (2 known slips confirmed); every verdict matches its expect" in out
    data = json.loads(runner.invoke(app, ["check", str(root), "--json"]).stdout)
    assert data["ok"] is True and [f["file"] for f in data["files"]] == [str(root / "a.yaml"), str(root / "b.yaml")]
    for f in data["files"]:
        for c in f["claims"]:
            assert {"id", "kind", "verdict", "expect", "ok", "detail"} <= set(c)
            assert c["ok"] == (c["verdict"] == c["expect"])


def test_progress_bar_only_when_asked(tmp_path, capsys):
    root = bank(tmp_path, {"a.yaml": GOOD, "b.yaml": GOOD})
    check_bank(root, CheckOptions(jobs=1))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_net_check_reports_its_phases(tmp_path):
    from gradcli.checks.nets.netcheck import check_net
    from gradcli.io.spec import load_net

    heard = []
    check_net(load_net(REPO / "examples" / "sheet003_one_hidden_layer.yaml"),
              CheckOptions(equations=False, progress=lambda *args: heard.append(args)))
    labels = [label for _, _, label in heard]
    assert labels[:2] == ["symbolic column (SymPy)"] * 2 and heard[1][:2] == (1, 1)
    numeric = [h for h in heard if h[2].startswith("numeric column: ")]
    assert numeric and all(0 <= done <= total for done, total, _ in numeric)
    assert numeric[-1][0] == numeric[-1][1]  # each parameter's phase runs to its end


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_hears_every_file_done(tmp_path, jobs):
    root = bank(tmp_path, {"a.yaml": GOOD, "b.yaml": GOOD, "c.yaml": GOOD})
    heard: list[tuple[int, int, str]] = []
    check_bank(root, CheckOptions(jobs=jobs, progress=lambda done, total, label: heard.append((done, total, label))))
    assert heard == [(k, 3, "checking") for k in range(4)]


# ---------------------------------------------------------------------------------------------- CI wiring


def _gradcli_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has a `gradcli` (the installed one, or a shim running this checkout)."""
    env = dict(os.environ)
    if shutil.which("gradcli") is None:
        shim_dir = tmp_path / "bin"
        shim_dir.mkdir(exist_ok=True)
        shim = shim_dir / "gradcli"
        shim.write_text(f"#!/bin/sh\nPYTHONPATH={REPO}${{PYTHONPATH:+:$PYTHONPATH}} exec {sys.executable} -m gradcli \"$@\"\n")
        shim.chmod(0o755)
        env["PATH"] = f"{shim_dir}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env


def test_the_github_actions_job_runs_here_shard_by_shard(tmp_path):
    text = (REPO / "docs" / "ci.md").read_text()
    block = re.search(r"```yaml\n(name: problems\n.*?)```", text, re.S).group(1)
    workflow = yaml.safe_load(block)
    job = workflow["jobs"]["check"]
    shards = job["strategy"]["matrix"]["shard"]
    steps = job["steps"]
    assert any(s.get("uses", "").startswith("actions/checkout@") for s in steps)
    assert any(s.get("uses", "").startswith("actions/setup-python@") for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    commands = [s["run"] for s in steps if "run" in s and s["run"].startswith("gradcli ")]
    assert len(commands) == 1
    course = tmp_path / "course"
    bank(course, {"a.yaml": GOOD, "b.yaml": GOOD, "c/d.yaml": GOOD})
    env = _gradcli_on_path(tmp_path)
    names = []
    for shard in shards:
        command = commands[0].replace("${{ matrix.shard }}", str(shard))
        done = subprocess.run(command, shell=True, cwd=course, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        report = course / upload["with"]["path"].replace("${{ matrix.shard }}", str(shard))
        names += [(c.get("classname"), c.get("name")) for c in ET.parse(report).getroot().iter("testcase")]
    assert len(names) == len(set(names)) == 9  # every claim of the bank, exactly once over the shards


def _pre_commit() -> list[str] | None:
    """The command that runs pre-commit, installing it with pip when missing; None when it cannot be had."""
    if importlib.util.find_spec("pre_commit") is None:
        try:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pre-commit"], check=True,
                           capture_output=True, timeout=300)
        except (subprocess.SubprocessError, OSError):
            return None
        importlib.invalidate_caches()
        if importlib.util.find_spec("pre_commit") is None:
            return None
    return [sys.executable, "-m", "pre_commit"]


def test_the_pre_commit_hook_against_a_temporary_repository(tmp_path):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "gradcli-check")
    assert hook["language"] == "system" and hook["pass_filenames"] is False and hook["args"] == ["problems/"]
    if shutil.which("git") is None:
        unavailable("git is not installed, so pre-commit cannot run")
    pre_commit = _pre_commit()
    if pre_commit is None:
        unavailable("pre-commit is not installed and `pip install pre-commit` failed (offline?)")
    course = tmp_path / "course"
    bank(course, {"sheet1.yaml": GOOD})
    env = _gradcli_on_path(tmp_path)
    env.update(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")

    def git(*args):
        subprocess.run(["git", *args], cwd=course, env=env, check=True, capture_output=True, timeout=60)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "bank")

    def try_repo():
        return subprocess.run([*pre_commit, "try-repo", str(REPO), "gradcli-check", "--all-files"], cwd=course,
                              env=env, capture_output=True, text=True, timeout=600)

    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gradcli check problems/" in passed.stdout and "Passed" in passed.stdout
    (course / "problems" / "sheet2.yaml").write_text(textwrap.dedent(WRONG))
    git("add", "-A")
    failed = try_repo()
    assert failed.returncode != 0
    assert "Failed" in failed.stdout and "d sin" in failed.stdout and "expected correct, found wrong" in \
        " ".join(failed.stdout.split())
