"""The claim kinds, one table: kind (the YAML key, gradcli.io.models.CLAIM_KINDS) -> its check function.

A check takes the problem's ClaimContext and one Claim and returns an Outcome; it raises SpecError for a
claim that cannot be used and ShapeSlip for a formula whose shapes do not fit. A new kind is a schema model
in gradcli.io and one module here, registered below.
"""

from __future__ import annotations

from typing import Callable

from gradcli.checks.claims import behaviour, derivative, gradient, jacobian, update, value
from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.outcome import Outcome
from gradcli.io.models import Claim

ClaimCheck = Callable[[ClaimContext, Claim], Outcome]

CHECKS: dict[str, ClaimCheck] = {
    "derivative": derivative.check,
    "value": value.check,
    "gradient": gradient.check,
    "jacobian": jacobian.check,
    "update": update.check,
    "behaviour": behaviour.check,
    }
