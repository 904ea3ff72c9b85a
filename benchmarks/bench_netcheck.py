"""Benchmark of `gradcli check` on MLPs (tanh, MSE, batch 8, float64): each column and the whole check.

Run: python benchmarks/bench_netcheck.py [--sizes 4,8,1 64,128,10 784,128,10] [--gradcheck-entries 2048]

Prints, per net: wall time and peak traced memory (tracemalloc) of the symbolic, backprop and numeric
columns and of the whole check; next to them, in the same run, a hand-written NumPy forward+backward,
torch.autograd.gradcheck (torch==2.13.0 CPU, if importable; on nets with more entries than
--gradcheck-entries it runs on that many entries of W1 plus every other parameter and is extrapolated
linearly, since it perturbs one entry at a time), and the time 2·P perturbed forward passes need at the
machine's measured matmul throughput. Targets: numeric column ≥ 5× faster than gradcheck and within
10× of the 2·P-forward time; peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np


def mlp_yaml(sizes: list[int], batch: int = 8, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0])).round(6)
    Y = rng.standard_normal((batch, sizes[-1])).round(6)
    layers = "\n".join(f"  - dense: {{out: {o}, activation: {'tanh' if i < len(sizes) - 2 else 'none'}}}"
                       for i, o in enumerate(sizes[1:]))
    ys = Y.tolist() if sizes[-1] > 1 else Y[:, 0].tolist()
    return f"seed: {seed}\nlayers:\n{layers}\nloss: mse\ndata:\n  x: {json.dumps(X.tolist())}\n  y: {json.dumps(ys)}\n"


def measured(fn, *args, memory: bool = True, **kw):
    """(result, seconds untraced, peak MB traced by tracemalloc in a second run; nan if memory=False).

    Time and memory come from separate runs: tracing every allocation slows SymPy several times over.
    """
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    dt = time.perf_counter() - t0
    peak = float("nan")
    if memory:
        tracemalloc.start()
        fn(*args, **kw)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out, dt, peak


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops() -> float:
    a = np.random.default_rng(0).standard_normal((2048, 2048))
    a @ a
    t0 = time.perf_counter()
    reps = 3
    for _ in range(reps):
        a @ a
    return 2 * 2048**3 * reps / (time.perf_counter() - t0) / 1e9


def numpy_forward_backward(spec):
    """A hand-written forward and backward of the MLP (tanh hidden layers, linear output, MSE, mean over examples)."""
    layers = spec.layers
    X = np.hstack([np.asarray(x).reshape(-1, 1) for x in spec.data.x])
    Y = np.hstack([np.asarray(y).reshape(-1, 1) for y in spec.data.y])
    E = X.shape[1]

    def run():
        acts, h = [X], X
        for k, layer in enumerate(layers):
            z = spec.params[layer.weight] @ h + spec.params[layer.bias]
            h = np.tanh(z) if layer.activation == "tanh" else z
            acts.append(h)
        g = 2 * (h - Y) / (Y.shape[0] * E)
        grads = {}
        for k in range(len(layers) - 1, -1, -1):
            layer = layers[k]
            if layer.activation == "tanh":
                g = g * (1 - acts[k + 1] ** 2)
            grads[layer.weight] = g @ acts[k].T
            grads[layer.bias] = g.sum(axis=1, keepdims=True)
            g = spec.params[layer.weight].T @ g
        return grads

    return run


def torch_gradcheck(spec, max_entries: int):
    """(seconds for all P entries (extrapolated if needed), entries actually perturbed) or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    layers = spec.layers
    X = torch.tensor(np.hstack([np.asarray(x).reshape(-1, 1) for x in spec.data.x]), dtype=torch.float64)
    Y = torch.tensor(np.hstack([np.asarray(y).reshape(-1, 1) for y in spec.data.y]), dtype=torch.float64)
    names = [n for layer in layers for n in (layer.weight, layer.bias)]
    values = {n: torch.tensor(spec.params[n], dtype=torch.float64) for n in names}
    total = sum(v.numel() for v in values.values())
    first = layers[0].weight
    w = values[first].reshape(-1)
    part = min(w.numel(), max(0, max_entries - (total - w.numel())))
    head = w[:part].clone().requires_grad_(True)
    tail = w[part:].clone()
    others = [values[n].clone().requires_grad_(True) for n in names if n != first]

    def f(head, *rest):
        params = dict(zip([n for n in names if n != first], rest))
        params[first] = torch.cat([head, tail]).reshape(values[first].shape)
        h = X
        for layer in layers:
            z = params[layer.weight] @ h + params[layer.bias]
            h = torch.tanh(z) if layer.activation == "tanh" else z
        return ((h - Y) ** 2).mean()

    inputs = (head, *others)
    perturbed = sum(t.numel() for t in inputs)
    t0 = time.perf_counter()
    ok = torch.autograd.gradcheck(f, inputs)
    dt = time.perf_counter() - t0
    return dt * total / perturbed, perturbed, bool(ok)


def bench(sizes: list[int], gflops: float, gradcheck_entries: int) -> list[tuple[str, str]]:
    from gradcli.checks.nets import netcheck as N
    from gradcli.checks.nets import backprop as NB
    from gradcli.checks.nets import numeric_column as NN
    from gradcli.checks.nets import symbolic_column as NS
    from gradcli.io import spec as S
    from gradcli.checks.checking import CheckOptions
    from gradcli.checks.nets.cost import count_cost

    spec = S.load_text(mlp_yaml(sizes), f"mlp{sizes}.yaml")
    P = sum(v.size for v in spec.params.values())
    fwd_macs = count_cost(spec).forward
    ideal = 2 * P * 2 * fwd_macs / (gflops * 1e9)

    sym, t_sym, m_sym = measured(NS.symbolic_column, spec, memory=P <= 20_000)
    bp, t_bp, m_bp = measured(NB.backprop_column, spec)
    num, t_num, m_num = measured(NN.numeric_column, spec)
    res, t_all, m_all = measured(N.check_net, spec, CheckOptions(equations=True, cost=True), memory=P <= 20_000)
    run = numpy_forward_backward(spec)
    run()
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        run()
    t_np = (time.perf_counter() - t0) / reps
    gc = torch_gradcheck(spec, gradcheck_entries)

    covered = {p.symbolic_coverage.path for p in res.gradients.values()}
    rows = [
        ("net", f"{sizes}  P = {P:,} params, batch 8, verdict {res.verdict}"),
        ("symbolic column", f"{t_sym:9.3f} s  {m_sym:8.1f} MB  ({'/'.join(sorted(covered))})"),
        ("backprop column", f"{t_bp:9.3f} s  {m_bp:8.1f} MB  = {t_bp / t_np:.1f}× the NumPy forward+backward"),
        ("numeric column", f"{t_num:9.3f} s  {m_num:8.1f} MB  ({num.evaluations:,} perturbed losses)"),
        ("whole check", f"{t_all:9.3f} s  {m_all:8.1f} MB"),
        ("NumPy fwd+bwd", f"{t_np * 1e3:9.3f} ms"),
        ("2·P forwards at matmul speed", f"{ideal:9.3f} s  (numeric / ideal = {t_num / ideal:.2f}×, target ≤ 10×)"),
    ]
    if gc is None:
        rows.append(("torch gradcheck", "torch not importable (pip install torch==2.13.0)"))
    else:
        t_gc, perturbed, ok = gc
        how = "measured" if perturbed == P else f"extrapolated from {perturbed:,} entries"
        rows.append(("torch gradcheck", f"{t_gc:9.3f} s  ({how}, ok={ok}); numeric column is "
                                        f"{t_gc / t_num:.1f}× faster (target ≥ 5×)"))
    peaks = [m for m in (m_sym, m_bp, m_num, m_all) if m == m]
    rows.append(("peak memory target", f"{'met' if max(peaks) < 2048 else 'MISSED'} (< 2 GB; largest traced "
                                       f"{max(peaks):.1f} MB, process max RSS {_max_rss_mb():.0f} MB)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["4,8,1", "64,128,10", "784,128,10"])
    parser.add_argument("--gradcheck-entries", type=int, default=4096)
    args = parser.parse_args()
    gflops = matmul_gflops()
    print(f"matmul throughput: {gflops:.1f} GFLOP/s (2048×2048 float64)")
    for text in args.sizes:
        sizes = [int(s) for s in text.split(",")]
        print()
        for label, value in bench(sizes, gflops, args.gradcheck_entries):
            print(f"  {label:<30} {value}")


if __name__ == "__main__":
    main()
