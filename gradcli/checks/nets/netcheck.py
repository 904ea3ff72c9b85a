"""`gradcli check net.yaml`: the loss of a network spec and every parameter's gradient, three ways.

The loss is L = reduce_e ℓ(x_e, y_e) over the `data:` examples (mean or sum; one example without
`data:`), ℓ the spec's `loss:` after its `forward:` definitions. For every name in `wrt` (params and
fixed inputs such as x) three columns are computed independently and judged by `gradcli.compare`:

* symbolic (`symbolic_column`): SymPy only. While the wrt tensors hold at most SYMBOLIC_FULL_ENTRIES
  entries in all, every entry is a symbol (`W1[0,1]`) and each ∂L/∂W1[i,j] is differentiated and
  evaluated (lambdify with cse). Beyond that a seeded sample of SYMBOLIC_SAMPLE entries per parameter
  stays symbolic and every other entry is a number; if SymPy does not finish within its time bound the
  column is skipped with the reason. The result says which path was taken and how many entries it covers.
* backprop (`backprop_column`): the engine, one graph per example, gradients reduced like the loss.
* numeric (`numeric_column`): `finite_diff.gradient` (central differences, one Richardson step, an
  error estimate per entry) over every entry, with `NetForward` as the batched function: all the
  perturbed copies of a chunk of entries go through ONE NumPy pass over all examples. A copy differs
  from the point in one entry, so NetForward carries it as (point, index, new value) and a product
  W @ A with a perturbed W costs one shared product plus one scaled row per copy, not a copy of W.
  `--fast` instead checks a few random directions (`finite_diff.directional`) and, when one fails,
  finds the wrong entries by bisection (`finite_diff.locate_mismatch`).

Where the engine meets a kink (relu or abs at exactly 0, the norm of 0) the entries whose central
difference disagrees get one-sided derivatives, and the verdict is `kink` when the analytic values lie
between them.
"""


from __future__ import annotations

import time

from gradcli.checks.nets.backprop import backprop_column
from gradcli.checks.nets.numeric_column import numeric_column
from gradcli.checks.nets.results import NetCheckResult
from gradcli.checks.nets.symbolic_column import SYMBOLIC_SECONDS, symbolic_column
from gradcli.checks.nets.verdicts import _fast_checks, _full_check
from gradcli.errors import GradcliError
from gradcli.numerics.examples import example_count
from gradcli.numerics.perturbed import NetForward
from gradcli.progress import report

# ============================================================================================ check_net


def check_net(spec, options=None) -> NetCheckResult:
    """Check every wrt gradient of a network spec three ways (module docstring); `options` is a CheckOptions."""
    fast = bool(getattr(options, "fast", False))
    show = list(getattr(options, "show", None) or [])
    seed = int(getattr(options, "seed", 0) or 0)
    for name in show:
        if name not in spec.wrt:
            raise GradcliError(f"--show {name}: there is no parameter {name!r}; the parameters are "
                               f"{', '.join(spec.wrt)}", where="--show")
    timings: dict[str, float] = {}
    progress = getattr(options, "progress", None)
    seconds = getattr(options, "symbolic_seconds", None) or SYMBOLIC_SECONDS
    t0 = time.perf_counter()
    backprop = backprop_column(spec)
    timings["backprop"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(progress, 0, 1, "symbolic column (SymPy)")
    symbolic = symbolic_column(spec, seed=seed, seconds=seconds)
    report(progress, 1, 1, "symbolic column (SymPy)")
    timings["symbolic"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net = {name: NetForward(spec, name) for name in spec.wrt}
    if fast:
        checks = _fast_checks(spec, net, backprop, symbolic, seed)
    else:
        numeric = numeric_column(spec, progress=progress, forwards=net)
        checks = {name: _full_check(spec, name, net[name], backprop, symbolic, numeric) for name in spec.wrt}
    timings["numeric"] = time.perf_counter() - t0

    backward = None
    if getattr(options, "equations", False):
        from gradcli.checks.nets.backward_equations import backward_equations

        t0 = time.perf_counter()
        backward = backward_equations(spec)
        timings["equations"] = time.perf_counter() - t0
    cost = None
    if getattr(options, "cost", False):
        from gradcli.checks.nets.cost import count_cost

        cost = count_cost(spec)
    from gradcli.io.spec import expanded_forward_text

    return NetCheckResult(
        file=spec.file, name=spec.name, value=backprop.value, gradients=checks, examples=example_count(spec),
        reduce=spec.data.reduce if spec.data is not None else None, forward_text=expanded_forward_text(spec),
        loss_text=spec.loss.text, expanded_from_layers=spec.expanded_from_layers, show=show, fast=fast,
        backward=backward, cost=cost, timings=timings)
