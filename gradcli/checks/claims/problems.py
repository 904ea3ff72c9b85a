"""Problem files: every claim a sheet makes -> a verdict (`correct` | `wrong`), explained.

How each kind is decided (truth first, then the claim; the claim never decides its own truth):

* `derivative` — the true derivative is SymPy's, through `where:` (or a net's `forward:`) by substitution;
  `wrt:` an intermediate h gives the upstream gradient ∂f/∂h (h replaced by fresh symbols, everything
  downstream recomputed, everything else held fixed). Claim and truth are compared at SAMPLE_POINTS random
  points (half of them with every variable positive, so ln and sqrt are defined; points outside either
  formula's domain are skipped) and, when no point tells them apart, symbolically: SymPy simplifies
  their difference within `symbolic_seconds`. A scalar's derivative by a tensor has the tensor's shape.
* `value` — the number at `at:` (of the function, an intermediate, `of:`, or with `wrt:` of a derivative).
  A printed decimal claims the interval its digits round from (40.171 claims [40.1705, 40.1715]); a
  printed integer or a formula (`2*exp(3)`) claims that exact value (to 1e-9 relative); `tol:` sets an
  absolute tolerance instead.
* `gradient` (a net) and `update` of a net — the true gradient from the engine's backward pass, the claim
  through the NumPy forward over the net's names, entry by entry and shapes included, at the net's values
  and RANDOM_NET_POINTS random values (points on a relu/abs kink are skipped). With `data:`, formulas are
  per example: they are checked against the gradient of each example's loss.
* `update` of a function — θ − lr·∂f/∂θ by SymPy, compared like a derivative (lr's names are variables).
* `jacobian` — SymPy's Jacobian, shape (output shape) × (input shape) (`gradcli.checks.jacobian`);
  `claim_shape` is compared with it, `claim_entry` (an index formula) at every index, a closed form `claim:`
  as an array.
* `behaviour` — plain gradient descent over the engine: `converges`, `diverges`, `symmetric`, `learns`,
  `fails_to_learn` as the problem-file format defines them.

A claim that cannot be used (unknown name, unparsable formula, an index out of range, a missing shape,
a point outside the function's names) is a SpecError naming the file, the claim id and its line: exit 2,
never a silent `wrong`. A claimed formula whose shapes do not fit (a missing transpose) is a wrong claim,
explained.

Each kind is one module of gradcli.checks.claims, registered in gradcli.checks.claims.kinds.CHECKS.
"""

from __future__ import annotations

import time
from os import PathLike

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.kinds import CHECKS
from gradcli.checks.claims.outcome import Outcome, ShapeSlip, with_where
from gradcli.checks.claims.results import ClaimResult, ProblemResult
from gradcli.errors import GradcliError, SpecError
from gradcli.io.models import Claim, ProblemFile
from gradcli.io.spec import load_problem

SYMBOLIC_SECONDS = 1.0  # time bound of SymPy's simplification of one difference


def check_problem_file(path: str | PathLike, *, seed: int = 0,
                       symbolic_seconds: float = SYMBOLIC_SECONDS) -> ProblemResult:
    """Load a problem file and check every claim."""
    return check_problem(load_problem(path), seed=seed, symbolic_seconds=symbolic_seconds)


def check_problem(problem: ProblemFile, *, seed: int = 0, symbolic_seconds: float = SYMBOLIC_SECONDS) -> ProblemResult:
    """Check every claim of `problem`; a claim that cannot be used raises SpecError (file, claim id, line)."""
    start = time.perf_counter()
    ctx = ClaimContext(problem, seed, symbolic_seconds)
    results = [check_claim(ctx, claim) for claim in problem.claims]
    return ProblemResult(problem.path, problem.title, problem.source, results, time.perf_counter() - start)


def check_claim(ctx: ClaimContext, claim: Claim) -> ClaimResult:
    """One claim through its kind's check (kinds.CHECKS): the verdict, the claim as written, the time taken."""
    start = time.perf_counter()
    try:
        outcome = CHECKS[claim.kind](ctx, claim)
    except ShapeSlip as slip:
        outcome = Outcome("wrong", str(slip), method="shapes")
    except SpecError:
        raise
    except GradcliError as err:
        raise SpecError(with_where(err), where=claim.where, detail=err.detail) from None
    claimed = claim.claim
    if claim.kind == "jacobian":
        claimed = {k: v for k, v in (("shape", list(claim.claim_shape) if claim.claim_shape else None),
                                     ("entry", claim.claim_entry), ("closed form", claim.claim)) if v is not None}
    elif claim.claim_source is not None and not isinstance(claim.claim, str):
        claimed = claim.claim_source
    return ClaimResult(claim.id, claim.kind, outcome.verdict, claim.expect, outcome.detail, claim.line,
                       outcome.right, claimed, outcome.counterexample, outcome.method,
                       time.perf_counter() - start)
