"""README examples run as written: every `gradcli ...` line of its sh blocks, and the Python API block."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _commands() -> list[str]:
    lines = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("gradcli "):
                lines.append(line)
    return lines


def test_quick_start_is_two_commands():
    quick = README.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", quick, flags=re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert block[0] == "pip install . && gradcli check problems/"
    assert "pytest" in block[1] and "[test]" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest -q tests" in ci and "gradcli check problems/" in ci


def test_readme_has_commands_for_every_command():
    used = {c.split()[1] for c in _commands()}
    assert {"derive", "check", "jacobian", "train", "plot", "descent"} <= used


def _expected(command: str) -> list[str]:
    """What the README promises each kind of command prints (its last words, files it writes are checked too)."""
    if "--format latex" in command:
        return [r"\begin{document}", r"\end{document}"]
    if "--format markdown" in command:
        return ["**Verdict: agree**"]
    if "--json" in command:
        return ['"expression": ', '"kinks"']
    kind = command.split()[1]
    if kind == "check" and "problems/" in command:
        return ["every verdict matches its expect"]
    return {"derive": ["verdict: agree"], "check": ["verdict: agree"], "jacobian": ["verdict: agree"],
            "train": ["loss"], "plot": ["kinks:"], "descent": ["predicted steps"]}[kind]


@pytest.mark.parametrize("command", _commands())
def test_readme_command_runs_and_prints_what_it_promises(command, tmp_path, monkeypatch):
    """In-process (CliRunner), from an empty folder, as a user would type it."""
    import json

    from typer.testing import CliRunner

    from gradcli.cli import app

    monkeypatch.chdir(tmp_path)
    args = shlex.split(command)
    args = [str(ROOT / a) if a.startswith(("examples/", "problems/")) else a for a in args]
    result = CliRunner().invoke(app, args[1:], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
    for words in _expected(command):
        assert words in result.stdout, (command, words, result.stdout[-2000:])
    if "--json" in command:
        assert isinstance(json.loads(result.stdout), dict)
    if "--graph graph.dot" in command:
        assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    if "--junit report.xml" in command:
        import xml.etree.ElementTree as ET

        assert ET.parse(tmp_path / "report.xml").getroot().tag == "testsuites"


def test_the_console_entry_point_runs_a_readme_command(tmp_path):
    """One README line through the real console entry point (fork, exit code, no traceback)."""
    proc = subprocess.run([sys.executable, "-m", "gradcli", "derive", "ln(x)+exp(y)*z", "--at", "1,3,2"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0 and "verdict: agree" in proc.stdout and "Traceback" not in proc.stderr


def test_readme_python_example_runs_and_prints_what_it_says(tmp_path):
    (code,) = [b for b in _blocks("python") if "check_grad" in b]
    code = code.replace('"examples/', f'"{ROOT}/examples/')
    script = code + "\nprint(repr((r.ok, r.verdict, r.worst_index, r.odd_one_out)))\nprint(d.verdict)\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(False, 'disagree', (2,), 'analytic')" in proc.stdout
    assert proc.stdout.strip().endswith("agree")
