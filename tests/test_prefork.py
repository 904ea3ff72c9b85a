"""gradcli.prefork: a job runs in the forked child when there is one, in this process when there is not, and
either way gives the same answer. Each case runs in its own interpreter (a fresh process to fork from)."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="prefork needs os.fork")

DRIVER = """
import json, os, sys, time
from gradcli import prefork
from gradcli.errors import GradcliError, ParseError

def where(tag, size=0):
    return {"pid": os.getpid(), "tag": tag, "size": size}

def fails():
    raise ParseError("unknown name 'sigmod'", "sigmod(x)", 0, hint="did you mean sigmoid?")

def dies():
    os._exit(3)

def sleeps():
    time.sleep(30)
    return "late"

def report(job, value):
    print(json.dumps({"parent": os.getpid(), "in_child": job.in_child, "value": value}))
"""


def drive(body: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    code = DRIVER + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def last_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_job_runs_in_the_child_and_returns_its_value():
    out = last_json(drive("""
        assert prefork.start(["json"])
        job = prefork.submit(where, "a", size=2)
        report(job, job.result())
    """))
    assert out["in_child"] is True
    assert out["value"]["pid"] != out["parent"]  # computed in another process
    assert out["value"]["tag"] == "a" and out["value"]["size"] == 2


def test_without_a_child_the_job_runs_here_and_only_when_asked():
    out = last_json(drive("""
        job = prefork.submit(where, "b")
        report(job, job.result())
    """))
    assert out["in_child"] is False and out["value"]["pid"] == out["parent"]


def test_no_fork_environment_variable_disables_the_child():
    out = last_json(drive("""
        assert not prefork.start(["json"])
        job = prefork.submit(where, "c")
        report(job, job.result())
    """, env={"GRADCLI_NO_FORK": "1"}))
    assert out["in_child"] is False and out["value"]["pid"] == out["parent"]


def test_only_the_first_job_goes_to_the_child():
    out = last_json(drive("""
        prefork.start(["json"])
        first, second = prefork.submit(where, "1"), prefork.submit(where, "2")
        report(second, [first.result(), second.result(), first.in_child])
    """))
    first, second, first_in_child = out["value"]
    assert first_in_child and first["pid"] != out["parent"]
    assert out["in_child"] is False and second["pid"] == out["parent"]


def test_a_gradcli_error_in_the_child_is_raised_here_whole():
    out = last_json(drive("""
        prefork.start(["json"])
        job = prefork.submit(fails)
        try:
            job.result()
        except ParseError as err:
            report(job, [type(err).__name__, err.column, err.where, err.detail])
    """))
    assert out["in_child"] is True
    name, column, where, detail = out["value"]
    assert name == "ParseError" and column == 0 and where == "column 1"
    assert "sigmod(x)" in detail and "did you mean sigmoid?" in detail


def test_a_child_that_dies_is_replaced_by_running_the_job_here():
    out = last_json(drive("""
        prefork.start(["json"])
        job = prefork.submit(where, "d")
        os.kill(prefork._child.pid, 9)
        report(job, job.result())
    """))
    assert out["in_child"] is False and out["value"]["pid"] == out["parent"]


def test_a_child_past_the_hard_limit_is_killed_and_the_job_times_out():
    t0 = time.monotonic()
    out = last_json(drive("""
        from gradcli.errors import TimeBoundError
        prefork.HARD_LIMIT = 0.5
        prefork.start(["json"])
        pid = prefork._child.pid
        job = prefork.submit(sleeps)
        try:
            job.result()
        except TimeBoundError as err:
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            report(job, [err.message, alive])
    """))
    message, alive = out["value"]
    assert "did not answer within 0.5 s" in message and alive is False
    assert time.monotonic() - t0 < 20  # nowhere near the job's 30 s


def test_a_job_larger_than_the_pipe_buffer_does_not_block_submit():
    out = last_json(drive("""
        prefork.start(["sympy"])  # the child reads its job only after this import
        job = prefork.submit(where, "x" * 2_000_000)
        deferred = job.pending  # bytes the pipe could not take at once: a thread sends them
        value = job.result()
        report(job, [len(value["tag"]), deferred])
    """))
    size, deferred = out["value"]
    assert out["in_child"] is True and size == 2_000_000
    assert deferred > 0


def test_an_unused_child_does_not_outlive_the_parent():
    proc = drive("""
        prefork.start(["sympy"])
        print(prefork._child.pid)
    """)
    pid = int(proc.stdout.strip())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_child_writes_nothing_to_the_terminal():
    proc = drive("""
        def noisy():
            print("from the child")
            print("to stderr", file=sys.stderr)
            return 1
        prefork.start(["json"])
        job = prefork.submit(noisy)
        report(job, job.result())
    """)
    assert last_json(proc)["in_child"] is True
    assert "from the child" not in proc.stdout and proc.stderr == ""


def test_the_child_starts_the_job_at_once_not_when_the_answer_is_awaited():
    """The overlap the child exists for: it computes while this process does other work."""
    out = last_json(drive("""
        def started():
            return time.monotonic()
        prefork.start(["json"])
        job = prefork.submit(started)
        time.sleep(1.0)  # this process's own work (the other two columns)
        asked = time.monotonic()
        report(job, [job.result(), asked])
    """))
    began, asked = out["value"]
    assert out["in_child"] is True and began < asked - 0.5
