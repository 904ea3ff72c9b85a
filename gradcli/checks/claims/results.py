"""What checking a problem file gives: a verdict per claim (ClaimResult) and per file (ProblemResult)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ClaimResult:
    """The verdict on one claim, why, and how it was decided. Plain data (it crosses process boundaries)."""

    id: str
    kind: str
    verdict: str  # 'correct' | 'wrong'
    expect: str  # 'correct' | 'wrong'
    detail: str
    line: int | None = None
    right: Any = None  # the right formula, value, shape or behaviour (display form)
    claimed: Any = None  # the claim as written
    counterexample: dict | None = None  # where the claim fails: point, entry/index, both numbers
    method: str = ""  # how the verdict was reached
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict == self.expect

    @property
    def slip_confirmed(self) -> bool:
        """A known slip (expect: wrong) that gradcli found wrong."""
        return self.expect == "wrong" and self.verdict == "wrong"


class AllMatch:
    """A result made of verdicts (`ok`: every one matches its expect); exit 0 when ok, else 1 (the problem-file format)."""

    ok: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


@dataclass
class ProblemResult(AllMatch):
    """Every claim of one problem file, in file order."""

    file: str
    title: str
    source: str | None
    claims: list[ClaimResult]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.claims)

