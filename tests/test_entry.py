"""gradcli.entry: which commands fork the symbolic child, the same output either way, exit statuses."""

import json
import os
import subprocess
import sys

import pytest

from gradcli.entry import exit_status

# Formulas small enough that SymPy's simplify is skipped: their text does not depend on its time bound.
CHAIN = ["derive", "u*v+ln(u)", "--where", "u=x+y", "--where", "v=x*y", "--at", "x=2,y=3"]

# Runs gradcli.entry.main with sys.argv from the command line and reports, on stderr, the modules each
# prefork.start call asked for and whether the child's job ran (the symbolic column of derive).
SPY = """
import atexit, sys
from gradcli import prefork
calls, jobs = [], []
real_start, real_submit = prefork.start, prefork.submit
def start(modules):
    calls.append(list(modules))
    return real_start(modules)
def submit(fn, *args, **kwargs):
    job = real_submit(fn, *args, **kwargs)
    jobs.append(job)
    return job
prefork.start, prefork.submit = start, submit
atexit.register(lambda: print("SPY", calls, [j.in_child for j in jobs], file=sys.stderr))
sys.argv = ["gradcli", *sys.argv[1:]]
from gradcli.entry import main
main()
"""


def run(args, env=None):
    return subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})


def spy(args):
    proc = subprocess.run([sys.executable, "-c", SPY, *args], capture_output=True, text=True, timeout=120)
    line = [x for x in proc.stderr.splitlines() if x.startswith("SPY ")][-1]
    return proc, line


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the symbolic child needs os.fork")
def test_derive_forks_the_symbolic_child_and_its_job_runs_there():
    proc, line = spy(["derive", "ln(x)+exp(y)*z", "--at", "1,3,2", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert "gradcli.symbolic.calculus" in line and line.endswith("[True]")
    assert json.loads(proc.stdout)["gradient"]["y"]["symbolic"] == pytest.approx(2 * 20.085536923187668)


@pytest.mark.parametrize("args", [["--help"], ["derive", "--help"], ["check", "problems/001_s5_computation_graph.yaml", "--json"], []])
def test_help_and_other_commands_start_no_child(args):
    proc, line = spy(args)
    assert line == "SPY [] []"


@pytest.mark.parametrize("args", [CHAIN + ["--json"], CHAIN, ["derive", "abs(x)*y+relu(y)", "--at", "0,0", "--json"]])
def test_derive_output_is_the_same_with_and_without_the_child(args):
    forked, serial = run(args), run(args, {"GRADCLI_NO_FORK": "1"})
    assert forked.returncode == serial.returncode == 0, forked.stderr + serial.stderr
    assert forked.stdout == serial.stdout and forked.stderr == serial.stderr == ""


def test_bad_input_exits_2_with_one_message_when_the_child_was_started():
    proc = run(["derive", "ln(x)", "--at", "0"])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("gradcli: ") and "Traceback" not in proc.stderr


def test_a_closed_pipe_is_not_a_traceback():
    proc = subprocess.run(f"{sys.executable} -m gradcli derive 'ln(x)+exp(y)*z' --at 1,3,2 | head -c 10",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert len(proc.stdout) == 10 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("code, status", [(None, 0), (0, 0), (1, 1), (2, 2), (130, 130), (256 + 3, 3)])
def test_exit_status_of_sys_exit_codes(code, status):
    assert exit_status(code) == status


def test_exit_status_of_a_message_is_1_and_prints_it(capsys):
    assert exit_status("stopped") == 1
    assert capsys.readouterr().err == "stopped\n"
