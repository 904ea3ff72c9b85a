"""One job in a child process forked at start-up, so that SymPy's import overlaps the rest of a command.

`gradcli derive` needs SymPy only for its symbolic column, and importing SymPy is most of the command's
wall time. The console entry point therefore calls `start(modules)` before anything else: it forks a child
that imports `modules` (SymPy, through gradcli.symbolic) and then waits for one job on a pipe, while the
parent imports Typer, parses the arguments and the expression, and computes the backprop and numeric
columns. `submit(fn, *args)` hands the job to the child; `Job.result()` returns what `fn` returned, or
re-raises the GradcliError it raised. On a machine with two or more cores the symbolic column then costs
the command about the SymPy import and nothing more. The columns stay independent: the child computes
with its own copy of the parsed expression and sends back plain numbers and strings.

Without a child, the job runs in this process when `result()` is called. That is the case when `start` was
never called (the library API, tests calling functions directly), where os.fork does not exist, when
GRADCLI_NO_FORK is set to anything but "" or "0", for a second job, and whenever the child fails (it
died, or its answer could not be read): results are the same either way, only the wall time differs. The
child's stdin, stdout and stderr are /dev/null: only the parent speaks to the user. The parent waits at
most `HARD_LIMIT` seconds for the answer, then kills the child and raises TimeBoundError (a second line
of defence behind the time bounds inside the symbolic column); a child still running when the parent
exits is killed.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import threading
import time
from typing import Any, Callable, Sequence

from gradcli.errors import GradcliError, TimeBoundError

HARD_LIMIT = 120.0  # seconds the parent waits for a job's answer before killing the child
_CHUNK = 1 << 16


class _Child:
    """The forked child: its pid and the parent's ends of the job and answer pipes."""

    def __init__(self, pid: int, job_fd: int, answer_fd: int):
        self.pid = pid
        self.job_fd = job_fd  # -1 once handed over: closed after the job is written, by whoever wrote it
        self.answer_fd = answer_fd
        self.used = False
        self.reaped = False

    def stop(self) -> None:
        """Kill the child (if it still runs), reap it and close our pipe ends; safe to call twice."""
        if self.reaped:
            return
        self.reaped = True
        for fd in (self.job_fd, self.answer_fd):
            if fd >= 0:
                _close(fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass


_child: _Child | None = None


def enabled() -> bool:
    """True where a child can be forked and GRADCLI_NO_FORK does not forbid it."""
    return hasattr(os, "fork") and os.environ.get("GRADCLI_NO_FORK", "") in ("", "0")


def start(modules: Sequence[str]) -> bool:
    """Fork the child that imports `modules` and then waits for one job. False (no child) if not enabled."""
    global _child
    if _child is not None or not enabled():
        return False
    try:
        job_r, job_w = os.pipe()
        answer_r, answer_w = os.pipe()
    except OSError:
        return False
    try:
        pid = os.fork()
    except OSError:
        for fd in (job_r, job_w, answer_r, answer_w):
            _close(fd)
        return False
    if pid == 0:
        _close(job_w)
        _close(answer_r)
        _serve(modules, job_r, answer_w)  # never returns
    _close(job_r)
    _close(answer_w)
    _child = _Child(pid, job_w, answer_r)
    atexit.register(_child.stop)
    return True


def _serve(modules: Sequence[str], job_fd: int, answer_fd: int) -> None:
    """The child's whole life: import, read one job, run it, write the answer, exit without cleanup."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        import importlib
        import warnings

        warnings.simplefilter("ignore")
        for name in modules:
            importlib.import_module(name)
        data = _read_all(job_fd, deadline=None)
        if data:  # an empty job pipe: the parent needed no job and has closed it
            fn, args, kwargs = pickle.loads(data)
            try:
                answer = ("ok", fn(*args, **kwargs))
            except GradcliError as err:
                answer = ("error", err)
            _write_all(answer_fd, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException:  # noqa: BLE001 - any failure here: the parent sees no answer and runs the job itself
        code = 1
    finally:
        os._exit(code)


class Job:
    """A submitted job: `result()` waits for the child's answer, or runs `fn` here when there is no child."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, child: _Child | None,
                 pending: int = 0):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.child = child
        self.pending = pending  # bytes of the pickled job the pipe could not take at once (a thread sends them)
        self.in_child = child is not None

    def result(self) -> Any:
        if self.child is None:
            return self.fn(*self.args, **self.kwargs)
        child, self.child = self.child, None
        answer = _answer(child)
        if answer is None:  # the child failed: compute here, with the same result
            self.in_child = False
            return self.fn(*self.args, **self.kwargs)
        kind, value = answer
        if kind == "error":
            raise value
        return value


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
    """Send `fn(*args, **kwargs)` to the child (fn must be a module-level function; arguments and result
    picklable), or prepare to run it here if there is no unused child."""
    child = _child
    if child is None or child.used or child.reaped:
        return Job(fn, args, kwargs, None)
    child.used = True
    try:
        data = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - not picklable: run it here
        child.stop()
        return Job(fn, args, kwargs, None)
    # Write what the pipe takes now without blocking, and close it: the child starts the job as soon as
    # its imports are done. A job bigger than the pipe's buffer is finished by a thread that owns the pipe
    # from then on (the child reads only after its imports; submit must not wait for that).
    fd, child.job_fd = child.job_fd, -1
    os.set_blocking(fd, False)
    sent = 0
    try:
        while sent < len(data):
            sent += os.write(fd, data[sent:sent + _CHUNK])
    except BlockingIOError:
        threading.Thread(target=_feed, args=(fd, data[sent:]), daemon=True).start()
        return Job(fn, args, kwargs, child, len(data) - sent)
    except OSError:
        _close(fd)
        child.stop()
        return Job(fn, args, kwargs, None)
    _close(fd)
    return Job(fn, args, kwargs, child)


def _feed(fd: int, rest: bytes) -> None:
    """The rest of a big job, written blocking from a thread; a child that died ends it (EPIPE)."""
    try:
        os.set_blocking(fd, True)
        _write_all(fd, rest)
    except OSError:
        pass
    finally:
        _close(fd)


def _answer(child: _Child) -> tuple[str, Any] | None:
    """The child's unpickled answer, or None if it failed; the child is reaped either way."""
    try:
        data = _read_all(child.answer_fd, time.monotonic() + HARD_LIMIT)
    except TimeoutError:
        child.stop()
        raise TimeBoundError(f"the symbolic column did not answer within {HARD_LIMIT:g} s") from None
    except OSError:
        child.stop()
        return None
    child.stop()
    if not data:
        return None
    try:
        answer = pickle.loads(data)
    except Exception:  # noqa: BLE001 - an unreadable answer counts as a failed child
        return None
    return answer if isinstance(answer, tuple) and len(answer) == 2 and answer[0] in ("ok", "error") else None


def _read_all(fd: int, deadline: float | None) -> bytes:
    """Everything until end of file; TimeoutError if `deadline` (time.monotonic) passes first."""
    parts = []
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
