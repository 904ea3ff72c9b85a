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


@pytest.mark.parametrize("command", _commands())
def test_readme_command_runs(command, tmp_path):
    args = shlex.split(command)
    args = [str(ROOT / a) if a.startswith(("examples/", "problems/")) else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "gradcli", *args[1:]], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, (command, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr


def test_readme_python_example_runs_and_prints_what_it_says(tmp_path):
    (code,) = [b for b in _blocks("python") if "check_grad" in b]
    code = code.replace('"examples/', f'"{ROOT}/examples/')
    script = code + "\nprint(repr((r.ok, r.verdict, r.worst_index, r.odd_one_out)))\nprint(d.verdict)\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(False, 'disagree', (2,), 'analytic')" in proc.stdout
    assert proc.stdout.strip().endswith("agree")
