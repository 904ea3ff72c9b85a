"""What every claim kind works with: the problem, its Model, the seed, the time bound, the kinds' caches;
claim-level errors (file, claim id, line), the claim's formulas parsed and checked for unknown names, and
the reproducible sample points."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from typing import Any, Mapping, Sequence

from gradcli.checks.claims.model import Model
from gradcli.checks.claims.outcome import ShapeSlip, with_where
from gradcli.errors import ShapeError, SpecError
from gradcli.io.models import Claim, ProblemFile
from gradcli.io.spec import parse_claim_formula
from gradcli.language.expr import Node, free_names
from gradcli.symbolic import convert as SC
SAMPLE_POINTS = 8  # random points every formula claim is checked at


class ClaimContext:
    """One problem being checked. `memo[kind]` is a kind's cache, shared by the claims of the file
    (a derivative, a Jacobian, a training run or a compiled objective is computed once)."""

    def __init__(self, problem: ProblemFile, seed: int, symbolic_seconds: float):
        self.problem = problem
        self.seed = seed
        self.seconds = symbolic_seconds
        self.model = Model(problem)
        self.memo: defaultdict[str, dict] = defaultdict(dict)

    def fail(self, claim: Claim, message: str, key: str | None = None) -> SpecError:
        """A SpecError at the claim, at the line of its `key` when the file gives one."""
        where = claim.where
        if key is not None and claim.lines.get(key) is not None:
            where = re.sub(r"\(line \d+\)$", f"(line {claim.lines[key]})", where) if "(line" in where else where
        return SpecError(message, where=where)

    def parse(self, claim: Claim, text: Any, field: str = "claim", allow_index: bool = False) -> Node:
        return parse_claim_formula(self.problem, claim, text, allow_index=allow_index, field=field)

    def of_node(self, claim: Claim) -> Node:
        of = claim.settings.get("of")
        if of is not None:
            return self.parse(claim, of, "of")
        if self.model.output is None:
            raise self.fail(claim, "the claim has no of: and the problem has no function: or net:")
        return self.model.output

    def names_known(self, claim: Claim, node: Node, env: Mapping[str, Any], field: str) -> None:
        unknown = [n for n in free_names(node) if n not in env]
        if unknown:
            known = ", ".join(sorted(env)) or "none"
            raise self.fail(claim, f"unknown name{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                                   f"in {field}: (the names here: {known})", field)

    def claim_value(self, claim: Claim, env: Mapping[str, Any], text: Any = None, field: str = "claim") -> Any:
        node = self.parse(claim, claim.claim if text is None else text, field)
        self.names_known(claim, node, env, field)
        try:
            return SC.to_sympy(node, env)
        except ShapeError as err:
            raise ShapeSlip(f"the claimed formula does not fit the shapes: {with_where(err)}") from None

    def points(self, claim: Claim, syms: Sequence, count: int = SAMPLE_POINTS,
               first: Mapping[str, float] | None = None) -> list[dict[str, float]]:
        """Reproducible sample points (values in ±[0.2, 2], 3 decimals; the first half all positive)."""
        rng = random.Random(self.seed * 1_000_003 + claim.index)
        names = [str(s) for s in syms]
        points = []
        if first is not None and all(n in first for n in names):
            points.append({n: first[n] for n in names})
        for k in range(count):
            point = {}
            for n in names:
                v = round(rng.uniform(0.2, 2.0), 3)
                point[n] = v if k < (count + 1) // 2 or rng.random() < 0.5 else -v
            points.append(point)
        return points

    def first_point(self) -> dict[str, float] | None:
        return self.model.flat_point(self.model.point) if self.model.point is not None else None
