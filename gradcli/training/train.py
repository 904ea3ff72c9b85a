"""Plain gradient descent θ ← θ − η ∇L(θ) on a network spec or a function, with the sheets' reports.

A network's loss is L(θ) = reduce_i loss(x_i, y_i; θ) over the `data:` examples (reduce mean | sum; one
pass over `inputs:` without a batch), computed by the engine with the data as constant leaves. A run
records L at every point it visits (θ_0 ... θ_T, so `steps` updates give steps + 1 losses) and stops
early as *diverged* at the first loss or parameter that is not finite, or when |L| grows past
1e12 · max(|L(θ_0)|, 1). It then reports:

* converged (as problem files define it): finite, and the last step moved θ by ‖η∇L‖ ≤ tol · max(1, ‖θ‖), tol 1e-6;
* predictions: the prediction (`yhat`, else the last forward definition) for every example, next to y;
  `learns(tol)`: every prediction within tol (default 0.1) of its target, entry by entry;
* symmetry: the hidden units of a layer out = W @ prev + b are the rows of W; unit p's signature is
  (row p of W, entry p of b, column p of the next layer's W). Units whose signatures were identical at
  the start (to 1e-12 · max(1, |entry|)) and still are at the end never learned anything different:
  gradient descent cannot break that symmetry (sheet 000 §1, sheet 003 §3.2, sheet 001 §4);
* dead ReLU units: entries of a relu's argument that are ≤ 0 for every example at the end (their
  gradient is 0 everywhere, so gradient descent cannot revive them).

Layers come from `layers:` when the spec has them; otherwise from the forward pass: every `W @ u`
(or `w.T @ u`) with W a param is a layer, `+ b` next to it (b a param with one entry per unit) is its
bias, and the next layer is the first later `W' @ v` whose v is computed from this layer's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from gradcli.language import expr as E
from gradcli.numerics.net_engine import forward_values, loss_tensor
from gradcli.numerics.examples import example_count, reduce_weight
from gradcli.progress import ProgressCallback
from gradcli.training.loop import descend, param_norm
from gradcli.errors import GradcliError, ShapeError, SpecError

if TYPE_CHECKING:
    import numpy as np

    from gradcli.io.models import Definition, NetSpec

CONVERGENCE_TOL = 1e-6  # the problem-file format: the last step moves θ by ≤ tol · max(1, ‖θ‖)
SYMMETRY_TOL = 1e-12  # units identical to this (relative to max(1, |entry|)) count as identical
LEARN_TOL = 0.1  # the problem-file format: every prediction within this of its target
BEHAVIOURS = ("converges", "diverges", "symmetric", "learns", "fails_to_learn")


# ------------------------------------------------------------------------------------------- results


@dataclass
class SymmetricUnits:
    """Units of one layer whose signatures started identical: rows `units` of `weight` (entries of
    `bias`, columns of `next_weight`); `still_identical` says whether they are identical at the end."""

    weight: str
    bias: str | None
    next_weight: str | None
    units: list[int]
    layer_size: int
    still_identical: bool
    transposed: bool = False  # the layer multiplies by weight.T (units are weight's columns)


@dataclass
class DeadReluUnits:
    """Entries `units` of the relu at `site` (a forward definition) whose argument is ≤ 0 on every example."""

    site: str
    pre_activation: str
    units: list[int]
    size: int
    hidden: bool = True  # False when the relu is the prediction itself (an output unit)


@dataclass
class Prediction:
    """One example at the final parameters: its input x (None without data:), target y and prediction."""

    x: "np.ndarray | None"
    y: "np.ndarray | None"
    yhat: "np.ndarray"


@dataclass
class TrainResult:
    """A gradient-descent run: settings, loss history, final parameters and the reports on them."""

    file: str
    name: str | None
    kind: str  # 'net' | 'function'
    lr: float
    steps: int  # updates asked for
    steps_run: int  # updates made (fewer when the run diverged)
    loss_history: list[float]  # L(θ_0), L(θ_1), ... at every point visited
    params: dict[str, "np.ndarray"]  # final (the last finite ones when the run diverged)
    initial_params: dict[str, "np.ndarray"]
    trained: list[str]
    diverged: bool = False
    divergence: str | None = None  # why, when diverged
    last_step_norm: float | None = None  # ‖η∇L‖ of the last update
    param_norm: float = 0.0  # ‖θ‖ at the end, all trained entries together
    predictions: list[Prediction] = field(default_factory=list)
    prediction_name: str | None = None
    symmetry: list[SymmetricUnits] = field(default_factory=list)
    dead_relu: list[DeadReluUnits] = field(default_factory=list)
    reduce: str | None = None  # 'mean' | 'sum' over `examples`, None without data:
    examples: int = 1
    forward: list[str] = field(default_factory=list)  # 'h1 = relu(W1 @ x + b1)', ...
    loss_text: str = ""
    from_layers: bool = False
    notes: list[str] = field(default_factory=list)  # what could not be reported, and why

    @property
    def initial_loss(self) -> float:
        return self.loss_history[0]

    @property
    def final_loss(self) -> float:
        return self.loss_history[-1]

    @property
    def min_loss(self) -> float:
        return min(self.loss_history)

    def converges(self, tol: float = CONVERGENCE_TOL) -> bool:
        """As problem files define it: not diverged, and the last step moved θ by ≤ tol · max(1, ‖θ‖)."""
        if self.diverged or self.last_step_norm is None:
            return False
        return self.last_step_norm <= tol * max(1.0, self.param_norm)

    @property
    def converged(self) -> bool:
        return self.converges()

    def learns(self, tol: float = LEARN_TOL) -> bool:
        """Every example's prediction within `tol` of its target (entry by entry); needs targets."""
        if self.diverged:
            return False
        if not self.predictions or any(p.y is None for p in self.predictions):
            raise GradcliError("'learns' compares predictions with targets, but this run has no target y "
                               "(give the net a y in inputs: or data:)", where=self.file)
        return all(float(max_abs_error(p.yhat, p.y)) <= tol for p in self.predictions)

    def fails_to_learn(self, tol: float = LEARN_TOL) -> bool:
        return not self.learns(tol)

    @property
    def symmetric_units(self) -> list[SymmetricUnits]:
        """Groups of units that started identical and still are."""
        return [g for g in self.symmetry if g.still_identical]

    @property
    def symmetric(self) -> bool:
        """Some units started identical and every such group is still identical (symmetry never broken)."""
        started = {(g.weight, u) for g in self.symmetry for u in g.units}
        kept = {(g.weight, u) for g in self.symmetric_units for u in g.units}
        return bool(started) and started == kept

    @property
    def dead_relu_units(self) -> list[DeadReluUnits]:
        return [d for d in self.dead_relu if d.units]

    def holds(self, behaviour: str, tol: float | None = None) -> bool:
        """Whether the run shows `behaviour` (the problem-file format: converges | diverges | symmetric | learns | fails_to_learn)."""
        if behaviour == "converges":
            return self.converges(CONVERGENCE_TOL if tol is None else tol)
        if behaviour == "diverges":
            return self.diverged
        if behaviour == "symmetric":
            return self.symmetric
        if behaviour == "learns":
            return self.learns(LEARN_TOL if tol is None else tol)
        if behaviour == "fails_to_learn":
            return self.fails_to_learn(LEARN_TOL if tol is None else tol)
        raise GradcliError(f"unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")


def max_abs_error(yhat: "np.ndarray", y: "np.ndarray") -> float:
    """max |yhat − y| entry by entry; a scalar-like side (0-d or one entry) is compared with every entry."""
    import numpy as np

    a, b = np.asarray(yhat, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.size == b.size:
        return float(np.max(np.abs(a.reshape(-1) - b.reshape(-1))))
    if a.size == 1 or b.size == 1:
        return float(np.max(np.abs(a.reshape(-1, 1) - b.reshape(1, -1))))
    raise ShapeError(f"the prediction has shape {a.shape} but the target y has shape {b.shape}")


# ------------------------------------------------------------------------------------ loss and grads


def trained_params(spec: "NetSpec") -> list[str]:
    """The params gradient descent updates: those listed in `wrt:` (every param when wrt names none)."""
    listed = [n for n in spec.wrt if n in spec.params]
    return listed or list(spec.params)


def loss_and_grads(spec: "NetSpec", params: Mapping[str, "np.ndarray"]) -> tuple[float, dict[str, "np.ndarray"]]:
    """L(θ) reduced over the spec's examples and ∂L/∂p for every p in `params` (by the engine).

    `params` maps params (or fixed inputs such as x, for ∂L/∂x) to values that override the spec's; every
    other param and input, and the data, enter as constants. A p the loss does not use gets a zero gradient.
    """
    import numpy as np

    from gradcli.numerics.engine import backward

    leaves = _param_leaves(spec, params)
    total = None
    for i in range(example_count(spec)):
        env = _forward_env(spec, leaves, i)
        term = _loss_term(spec, env, i)
        total = term if total is None else total + term
    total = total * reduce_weight(spec)
    grads = backward(total)
    out = {name: np.asarray(grads.get(name, np.zeros_like(np.asarray(params[name], dtype=np.float64))),
                            dtype=np.float64).reshape(np.shape(params[name]))
           for name in params}
    return float(np.asarray(total.data).reshape(-1)[0]), out


def _param_leaves(spec: "NetSpec", params: Mapping[str, "np.ndarray"]) -> dict:
    """Leaves of every input and param: differentiable ('input' leaves) for the names in `params`, with
    those values, constants with the spec's values for the rest."""
    from gradcli.numerics.engine import leaf

    leaves = {name: leaf(value, name, const=True) for name, value in {**spec.inputs, **spec.params}.items()
              if name not in params}
    for name, value in params.items():
        if name not in spec.inputs and name not in spec.params:
            raise GradcliError(f"{name!r} is neither a param nor an input of the net", where=spec.file)
        leaves[name] = leaf(value, name)
    return leaves


def _forward_env(spec: "NetSpec", leaves: dict, i: int) -> dict:
    """Every name of example i bound to its Tensor: inputs, x_i and y_i (constants), params, forward values."""
    from gradcli.numerics.engine import leaf

    env = dict(leaves)
    if spec.data is not None:
        env["x"] = leaf(spec.data.x[i], "x", const=True)
        env["y"] = leaf(spec.data.y[i], "y", const=True)
    return forward_values(spec, env, _placed(spec, i))


def _placed(spec: "NetSpec", i: int):
    """How an engine error is placed: the definition's YAML place, then the data example."""

    def relocate(err: GradcliError, d: "Definition") -> GradcliError:
        err.where = ", ".join(w for w in (d.where or spec.where(d.path), err.where) if w)
        if spec.data is not None:
            err.where += f" (data example {i})"
        return err

    return relocate


def _loss_term(spec: "NetSpec", env: dict, i: int):
    out = loss_tensor(spec, env, _placed(spec, i))
    if out.data.size != 1:
        raise ShapeError(f"the loss must be a scalar, but it has shape {out.data.shape}", where=spec.loss.where)
    return out


# --------------------------------------------------------------------------------------------- train


def train(spec: "NetSpec", lr: float | None = None, steps: int | None = None,
          progress: ProgressCallback | None = None) -> TrainResult:
    """Gradient descent on the spec's params per its `train:` (`lr`/`steps` override it), with reports.

    A spec without `train:` needs both `lr` and `steps`. `progress`: True shows a Rich bar for long runs
    (the CLI passes it only on a terminal); a callable gets (done, total) after every step.
    """
    import numpy as np

    lr, steps = _settings(spec, lr, steps)
    names = trained_params(spec)
    theta0 = {n: np.array(spec.params[n], dtype=np.float64) for n in names}
    run = descend(lambda theta: loss_and_grads(spec, theta), theta0, lr, steps, progress)
    result = TrainResult(
        file=spec.file, name=spec.name, kind="net", lr=lr, steps=steps, steps_run=run.steps_run,
        loss_history=run.history, params=run.theta, initial_params=theta0, trained=names,
        diverged=run.diverged, divergence=run.reason, last_step_norm=run.last_step,
        param_norm=param_norm(run.theta), reduce=spec.data.reduce if spec.data is not None else None,
        examples=example_count(spec), forward=[f"{d.name} = {d.text}" for d in spec.forward],
        loss_text=spec.loss.text, from_layers=bool(spec.expanded_from_layers),
    )
    final = {**spec.params, **run.theta}
    try:
        leaves = _const_leaves({**spec.inputs, **final})
        envs = [_forward_env(spec, leaves, i) for i in range(example_count(spec))]
    except GradcliError as err:
        result.notes.append(f"no predictions at the final parameters: {err.message}")
        envs = []
    result.prediction_name = prediction_name(spec)
    if envs and result.prediction_name is not None:
        result.predictions = [Prediction(x=_example_value(spec, env, "x"), y=_example_value(spec, env, "y"),
                                         yhat=np.array(env[result.prediction_name].data))
                              for env in envs]
    result.symmetry = symmetry_report(spec, {**spec.params, **theta0}, final)
    if envs:
        result.dead_relu = dead_relu_report(spec, envs)
    return result


def train_function(expr_node: E.Node, params: Mapping[str, Any], constants: Mapping[str, Any] | None,
                   lr: float, steps: int, where: Mapping[str, Any] | None = None,
                   progress: ProgressCallback | None = None, text: str | None = None,
                   file: str = "<function>") -> TrainResult:
    """Gradient descent on a scalar function of `params` (start values) with `constants` held fixed.

    Sheet 002: L = 0.5*(a*w1^2 + b*w2^2), params {w1: 1, w2: -1}, constants {a: 10, b: 1}. `where`
    maps intermediate names to trees (or Definitions), evaluated in dependency order.
    """
    import numpy as np

    from gradcli.language.definitions import order
    from gradcli.numerics.engine import backward, evaluate, leaf

    lr, steps = _checked(lr, steps, where=file)
    theta0 = {n: np.array(v, dtype=np.float64) for n, v in params.items()}
    consts = {n: np.array(v, dtype=np.float64) for n, v in (constants or {}).items()}
    defs = {n: getattr(d, "node", d) for n, d in (where or {}).items()}
    ordered = order(defs, where=file) if defs else []
    label = text if text is not None else E.to_text(expr_node)

    def objective(theta):
        env = {n: leaf(v, n, const=True) for n, v in consts.items()}
        env.update({n: leaf(v, n) for n, v in theta.items()})
        for n in ordered:
            env[n] = evaluate(defs[n], env)
        out = evaluate(expr_node, env, text=text)
        if out.data.size != 1:
            raise ShapeError(f"the function must be a scalar to minimise, but it has shape {out.data.shape}",
                             where=file)
        grads = backward(out)
        return (float(out.data.reshape(-1)[0]),
                {n: np.asarray(grads.get(n, np.zeros_like(v))).reshape(v.shape) for n, v in theta.items()})

    run = descend(objective, theta0, lr, steps, progress)
    return TrainResult(file=file, name=label, kind="function", lr=lr, steps=steps, steps_run=run.steps_run,
                       loss_history=run.history, params=run.theta, initial_params=theta0, trained=list(theta0),
                       diverged=run.diverged, divergence=run.reason, last_step_norm=run.last_step,
                       param_norm=param_norm(run.theta), loss_text=label)


def _settings(spec: "NetSpec", lr: float | None, steps: int | None) -> tuple[float, int]:
    if spec.train is None and (lr is None or steps is None):
        missing = " and ".join(f"--{n}" for n, v in (("lr", lr), ("steps", steps)) if v is None)
        raise SpecError(f"there is no train: section to run; add train: {{lr: 0.1, steps: 200}} or give {missing}",
                        where=f"{spec.file}: train")
    lr = spec.train.lr if lr is None else lr
    steps = spec.train.steps if steps is None else steps
    return _checked(lr, steps, where=None)


def _checked(lr: Any, steps: Any, where: str | None) -> tuple[float, int]:
    from gradcli.io.models import MAX_STEPS

    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise GradcliError(f"the learning rate must be a positive finite number, got {lr!r}", where=where or "--lr")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise GradcliError(f"steps must be a whole number from 1 to {MAX_STEPS:,}, got {steps!r}",
                           where=where or "--steps")
    return float(lr), int(steps)


def _const_leaves(values: Mapping[str, "np.ndarray"]) -> dict:
    from gradcli.numerics.engine import leaf

    return {n: leaf(v, n, const=True) for n, v in values.items()}


def prediction_name(spec: "NetSpec") -> str | None:
    names = [d.name for d in spec.forward]
    if "yhat" in names:
        return "yhat"
    return names[-1] if names else None


def _example_value(spec: "NetSpec", env: dict, name: str) -> "np.ndarray | None":
    import numpy as np

    if name in env and (name in spec.inputs or name in spec.example_names):
        return np.array(env[name].data)
    return None


# -------------------------------------------------------------------------------------- layer structure


@dataclass(frozen=True)
class Layer:
    """out = W_eff @ prev (+ b): W_eff is `weight` (or its transpose), one unit per row of W_eff; the next
    layer multiplies this one's output by `next_weight` (or its transpose), one column per unit."""

    weight: str
    transposed: bool
    bias: str | None
    next_weight: str | None
    next_transposed: bool
    units: int


def layers(spec: "NetSpec") -> list[Layer]:
    """The layers of the net, in forward order: explicit for `layers:` specs, else found in the forward pass."""
    if spec.layers:
        out = []
        for k, dense in enumerate(spec.layers):
            nxt = spec.layers[k + 1].weight if k + 1 < len(spec.layers) else None
            out.append(Layer(dense.weight, False, dense.bias, nxt, False, dense.n_out))
        return out
    return _layers_from_forward(spec)


@dataclass
class _Site:
    node: E.Binary
    weight: str
    transposed: bool
    units: int
    inputs: int
    bias: str | None = None


def _weight_of(spec: "NetSpec", node: E.Node) -> tuple[str, bool] | None:
    """(param, transposed) when `node` is a param matrix `W`, `W.T` or `transpose(W)`."""
    if isinstance(node, E.Name) and node.id in spec.params and spec.params[node.id].ndim == 2:
        return node.id, False
    inner = node.operand if isinstance(node, E.Transpose) else (
        node.args[0] if isinstance(node, E.Call) and node.func == "transpose" and len(node.args) == 1 else None)
    if isinstance(inner, E.Name) and inner.id in spec.params and spec.params[inner.id].ndim == 2:
        return inner.id, True
    return None


def _layers_from_forward(spec: "NetSpec") -> list[Layer]:
    trees = [d.node for d in spec.forward] + [spec.loss.node]
    defs = {d.name: d.node for d in spec.forward}
    sites: list[_Site] = []
    by_node: dict[int, _Site] = {}
    for tree in trees:
        nodes = _post_order(tree)
        for node in nodes:
            found = _weight_of(spec, node.left) if isinstance(node, E.Binary) and node.op == "@" else None
            if found is not None:
                shape = spec.params[found[0]].shape
                units, ins = (shape[1], shape[0]) if found[1] else shape
                by_node[id(node)] = _Site(node, found[0], found[1], units, ins)
                sites.append(by_node[id(node)])
        for node in nodes:
            if isinstance(node, E.Binary) and node.op == "+":
                for a, b in ((node.left, node.right), (node.right, node.left)):
                    site = by_node.get(id(a))
                    if site is not None and site.bias is None and isinstance(b, E.Name) \
                            and b.id in spec.params and spec.params[b.id].size == site.units:
                        site.bias = b.id
    feeds = {id(s.node): _direct_sources(s.node.right, defs, by_node) for s in sites}
    out: list[Layer] = []
    seen: set[str] = set()
    for site in sites:
        if site.weight in seen:
            continue
        seen.add(site.weight)
        nxt = next((s for s in sites if s is not site and id(site.node) in feeds[id(s.node)]
                    and s.inputs == site.units), None)
        out.append(Layer(site.weight, site.transposed, site.bias, nxt.weight if nxt else None,
                         nxt.transposed if nxt else False, site.units))
    return out


def _post_order(node: E.Node) -> list[E.Node]:
    """Every node of the tree, children before parents, left to right (the order they are computed)."""
    out: list[E.Node] = []
    stack: list[tuple[E.Node, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if expanded:
            out.append(n)
            continue
        stack.append((n, True))
        stack.extend((c, False) for c in reversed(E.children(n)))
    return out


def _direct_sources(node: E.Node, defs: dict[str, E.Node], by_node: dict[int, _Site]) -> set[int]:
    """The layer sites whose outputs reach `node` without passing through another layer (through forward names)."""
    found: set[int] = set()
    visited: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in by_node:
            found.add(id(n))
            continue
        if isinstance(n, E.Name) and n.id in defs and n.id not in visited:
            visited.add(n.id)
            stack.append(defs[n.id])
            continue
        stack.extend(E.children(n))
    return found


def _signatures(layer: Layer, values: Mapping[str, "np.ndarray"]) -> list["np.ndarray"]:
    """Unit p's signature: row p of W_eff, entry p of b, column p of the next W_eff, as one flat array."""
    import numpy as np

    w = np.asarray(values[layer.weight])
    w = w.T if layer.transposed else w
    parts = [w]
    if layer.bias is not None:
        parts.append(np.asarray(values[layer.bias]).reshape(layer.units, 1))
    if layer.next_weight is not None:
        n = np.asarray(values[layer.next_weight])
        n = n.T if layer.next_transposed else n
        parts.append(n.T)
    table = np.concatenate([p.reshape(layer.units, -1) for p in parts], axis=1)
    return [table[p] for p in range(layer.units)]


def _identical(a: "np.ndarray", b: "np.ndarray") -> bool:
    import numpy as np

    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all(np.abs(a - b) <= SYMMETRY_TOL * scale))


def _groups(sigs: list["np.ndarray"], units: list[int]) -> list[list[int]]:
    """Units split into classes of identical signatures (each compared with its class's first unit)."""
    classes: list[list[int]] = []
    for u in units:
        for c in classes:
            if _identical(sigs[c[0]], sigs[u]):
                c.append(u)
                break
        else:
            classes.append([u])
    return classes


def symmetry_report(spec: "NetSpec", start: Mapping[str, "np.ndarray"],
                    end: Mapping[str, "np.ndarray"]) -> list[SymmetricUnits]:
    """Every group of ≥ 2 units of a layer that started identical, split by whether they still are at the end.

    A group that stays together is reported once with still_identical=True; the units of a group that
    split are reported in their start group with still_identical=False (plus any pair still together).
    """
    out: list[SymmetricUnits] = []
    for layer in layers(spec):
        if layer.units < 2:
            continue
        s0, s1 = _signatures(layer, start), _signatures(layer, end)
        for group in _groups(s0, list(range(layer.units))):
            if len(group) < 2:
                continue
            kept = [g for g in _groups(s1, group) if len(g) >= 2]
            if len(kept) == 1 and len(kept[0]) == len(group):
                out.append(SymmetricUnits(layer.weight, layer.bias, layer.next_weight, group, layer.units, True,
                                          layer.transposed))
                continue
            out.append(SymmetricUnits(layer.weight, layer.bias, layer.next_weight, group, layer.units, False,
                                      layer.transposed))
            out.extend(SymmetricUnits(layer.weight, layer.bias, layer.next_weight, g, layer.units, True,
                                      layer.transposed) for g in kept)
    return out


def relu_sites(spec: "NetSpec") -> list[tuple[str, E.Call, bool]]:
    """(definition name, relu call, hidden) for every relu in the forward pass."""
    pred = prediction_name(spec)
    out = []
    with E.deep_recursion():
        for d in spec.forward:
            for node in E.walk(d.node):
                if isinstance(node, E.Call) and node.func == "relu" and len(node.args) == 1:
                    out.append((d.name, node, not (d.name == pred and node is d.node)))
    return out


def _argument_text(text: str, call: E.Call) -> str:
    """The argument of a one-argument call as the user wrote it (from the call's column), else as printed."""
    start = text.find("(", call.col)
    depth = 0
    for i in range(max(start, 0), len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0 and start >= 0:
            inner = text[start + 1:i].strip()
            if inner:
                return inner
            break
    return E.to_text(call.args[0])


def dead_relu_report(spec: "NetSpec", envs: list[dict]) -> list[DeadReluUnits]:
    """For every relu of the forward pass: the entries whose argument is ≤ 0 on every example (of `envs`)."""
    import numpy as np

    from gradcli.numerics.engine import evaluate

    out = []
    texts = {d.name: d.text for d in spec.forward}
    for name, call, hidden in relu_sites(spec):
        pre = [np.asarray(evaluate(call.args[0], env).data).reshape(-1) for env in envs]
        dead = np.all(np.stack(pre) <= 0, axis=0)
        out.append(DeadReluUnits(name, _argument_text(texts[name], call), [int(i) for i in np.flatnonzero(dead)],
                                 int(pre[0].size), hidden))
    return out
