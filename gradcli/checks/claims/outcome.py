"""How a claim kind answers: an Outcome (verdict, why, the right answer), or a ShapeSlip (a wrong claim
whose shapes do not fit); `with_where` keeps an error's location inside a message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradcli.errors import GradcliError


@dataclass
class Outcome:
    verdict: str
    detail: str
    right: Any = None
    counterexample: dict | None = None
    method: str = ""


class ShapeSlip(Exception):
    """The claimed formula's shapes do not fit: a wrong claim, not a bad file."""


def with_where(err: GradcliError) -> str:
    return f"{err.message} ({err.where})" if err.where else err.message

