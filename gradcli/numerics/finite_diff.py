"""The numeric column: derivatives by finite differences, with an error estimate for every number.

Every function here differentiates a BATCHED scalar function: `f(X)` takes an array of shape
(B, *x.shape), B perturbed copies of the point, and returns their B values, shape (B,). All the copies
a chunk of entries needs go through one call (`gradcli.numerics.forward.evaluate(..., batch=True)` builds such an f
from an expression), chunked so the copies stay under `chunk_bytes`. f must not modify its argument.

The math, for one entry x_i with all other entries fixed (central differences):

* D(h) = (f(x + h) - f(x - h)) / 2h = f'(x) + f'''(x)·h²/6 + f⁽⁵⁾(x)·h⁴/120 + O(h⁶);
* steps H, H/2, H/4 with H = STEP·max(1, |x_i|) rounded to a power of two (STEP = 2^-10, about
  eps^(1/5)), so the perturbed points are exact in float64; the steps actually taken,
  (x + h) - (x - h), are used in the quotients all the same;
* Richardson, twice: R(H) = (4·D(H/2) - D(H)) / 3 = f' + O(H⁴), then
  R₂ = (16·R(H/2) - R(H)) / 15 = (64·D(H/4) - 20·D(H/2) + D(H)) / 45 = f' + O(H⁶);
* error estimate: |R₂ - R(H/2)| (the truncation error of the less accurate estimate: an upper bound
  for R₂'s), plus |R(H) - R(H/2)| (15 times that for a smooth f, but also a sample of the rounding
  noise when f cancels internally, e.g. sin(x)·e^(x/3) + x²·ln y near 0), plus the rounding model: if
  each value of f is off by k ulps (k = ROUNDING_ULPS), D(h) is off by k·eps·F / h, so R₂ by at
  most (64·4 + 20·2 + 1) / 45 · k·eps·F / H ≈ 6.6·k·eps·F / H, with F = max(max|f|, max(1, |x_i|)·|R₂|)
  (the size of the terms of f that vary with x_i, even when f itself is small because they cancel);
* where a domain boundary lies within H (ln x at x = 1e-4), the entry is done again with the small
  step eps^(1/3)·max(1, |x_i|);
* an entry still not finite, or nonzero with an error estimate above 1% of its value (a pole or
  boundary at a scale far below max(1, |x_i|): 2/z at z = 1e-8), is redone with steps 8, 64, ... times
  smaller — while the step is still at least |x_i|, then only while that improves — and the estimate
  with the smallest relative error is kept.

Why not the textbook step eps^(1/3) with a single extrapolation: once extrapolated, the truncation error
is O(h⁴), so such a small step only buys rounding error, eps·|f| / h ≈ 4e-11·|f|. A function such as
ln(e^x + e^y + e^z) at (3, -1, 2), where |f| / |∂f/∂y| ≈ 250, then gets only 1e-8 relative accuracy;
this scheme reaches about 1e-11 there, with error estimates about 100 times tighter, for six
evaluations per entry instead of four.

One-sided derivatives (for kinks) use forward and backward quotients F(s) = (f(x + s) - f(x)) / s =
f' + f''·s/2 + O(s²) at s = h, h/2, h/4 with the small step h = eps^(1/3)·max(1, |x_i|) (so no other
kink is crossed), extrapolated twice. Directional derivatives (to check big parameters with a few
passes) apply the central scheme along a unit direction d: (f(x + t·d) - f(x - t·d)) / 2t → ∇f·d.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from gradcli.numerics.compare import THRESHOLD, numeric_agrees, rel_error
from gradcli.errors import ShapeError

BatchedFunction = Callable[[np.ndarray], np.ndarray]

EPS = float(np.finfo(np.float64).eps)
STEP = 2.0**-10  # the largest central step, relative to max(1, |x|): about eps^(1/5)
REFINE_TRIGGER = 1e-2  # an estimate whose own relative error exceeds this is unusable: redo it with smaller steps
REFINE_TOL = 1e-8  # ... and keep shrinking the step while the estimate is worse than this
REFINE_STEPS = 14  # at most this many times a step 8 times smaller (down to about 2.3e-16·max(1, |x|))
TINY_VALUE = 1e-300
RETRY_STEP = EPS ** (1 / 3)  # the smaller step for entries whose neighbourhood leaves the domain
ONE_SIDED_STEP = EPS ** (1 / 3)  # the largest one-sided step, relative to max(1, |x|)
ROUNDING_ULPS = 4.0  # assumed error of one evaluation of f, in ulps of its value
DEFAULT_CHUNK_BYTES = 256 * 2**20  # the most memory the perturbed copies of x may take
CACHE_BYTES = 16 * 2**20  # preferred size of one batch: small enough to mostly stay in a CPU cache

_OFFSETS = np.array([1.0, -1.0, 0.5, -0.5, 0.25, -0.25])  # the six central points, in units of H
_ROWS = _OFFSETS.size
_ROUNDING_GAIN = (64 * 4 + 20 * 2 + 1) / 45  # R₂'s rounding error, in units of k·eps·max|f| / H


@dataclass(frozen=True)
class FDResult:
    """A gradient by central differences: the estimate, its estimated absolute error, and the step H."""

    value: np.ndarray  # shape of x
    error: np.ndarray  # estimated |value - true gradient|, per entry (inf where f was not finite)
    step: np.ndarray  # the largest step H per entry
    evaluations: int = 0  # how many points f was evaluated at


@dataclass(frozen=True)
class DirectionalResult:
    """∇f·d (analytic, from the gradient under test) against the central difference along d, per direction."""

    analytic: np.ndarray  # grad · d
    numeric: np.ndarray  # the finite-difference directional derivative
    error: np.ndarray  # estimated absolute error of `numeric` (plus rounding of the dot product)
    rel_error: np.ndarray  # rel_error(analytic, numeric)
    ok: bool  # every direction agrees within the error budget
    evaluations: int


@dataclass(frozen=True)
class MismatchResult:
    """The entries of a gradient that disagree with finite differences, found by bisection."""

    indices: list[tuple[int, ...]]  # the wrong entries, as indices into x, in order
    analytic: np.ndarray  # the gradient's values there
    numeric: np.ndarray  # the central-difference partials there
    evaluations: int  # how many points f was evaluated at in all
    blocks_tested: int


def step_size(x, factor: float = STEP) -> np.ndarray:
    """factor·max(1, |x|), rounded to the nearest power of two (element-wise)."""
    with np.errstate(all="ignore"):
        h = factor * np.maximum(1.0, np.abs(np.asarray(x, dtype=np.float64)))
        mantissa, exponent = np.frexp(np.where(np.isfinite(h), h, 1.0))
    return np.ldexp(1.0, np.where(mantissa < np.sqrt(0.5), exponent - 1, exponent))


# ---------------------------------------------------------------------------------------- machinery


def _call(f: BatchedFunction, X: np.ndarray) -> np.ndarray:
    """f on a batch, checked to give one value per copy."""
    out = np.asarray(f(X), dtype=np.float64)
    if out.size != X.shape[0]:
        raise ShapeError(f"the batched function returned shape {out.shape} for {X.shape[0]} points; "
                         "it must return one value per point")
    return out.reshape(X.shape[0])


def _per_call(n: int, chunk_bytes: int) -> int:
    """How many items (entries or directions, six copies of x each) go in one call.

    The copies stay under chunk_bytes, and under CACHE_BYTES when possible: f on a batch that stays in
    the CPU cache is several times faster than on one that does not. At least one item per call.
    """
    budget = min(int(chunk_bytes), CACHE_BYTES)
    return max(1, budget // (_ROWS * max(n, 1) * 8))


class _Copies:
    """A reusable batch of copies of x, shape (items, 6, n): per call only the perturbed entries change.

    Writing a fresh copy of x for every perturbed point would cost 6·n² for a whole gradient; reusing
    the buffer and restoring the few entries a call perturbed costs only what f itself reads.
    """

    def __init__(self, flat: np.ndarray, items: int):
        self.flat = flat
        self.rows = np.broadcast_to(flat, (items, _ROWS, flat.size)).copy()
        self.items = np.arange(items)

    def entries(self, f: BatchedFunction, idx: np.ndarray, points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """f where copy (j, r) has entry idx[j] set to points[j, r]; returns (len(idx), 6)."""
        k = idx.size
        batch = self.rows[:k]
        items = self.items[:k]
        batch[items, :, idx] = points
        try:
            return _call(f, batch.reshape((_ROWS * k,) + shape)).reshape(k, _ROWS)
        finally:
            batch[items, :, idx] = self.flat[idx][:, None]

    def directions(self, f: BatchedFunction, perturbed: list[tuple[np.ndarray, np.ndarray]],
                   shape: tuple[int, ...]) -> np.ndarray:
        """f where copy (j, r) has the entries idx_j set to values_j[:, r]; returns (len(perturbed), 6)."""
        k = len(perturbed)
        batch = self.rows[:k]
        for j, (idx, values) in enumerate(perturbed):
            batch[j][:, idx] = values.T
        try:
            return _call(f, batch.reshape((_ROWS * k,) + shape)).reshape(k, _ROWS)
        finally:
            for j, (idx, _) in enumerate(perturbed):
                batch[j][:, idx] = self.flat[idx]


def _extrapolate(d: np.ndarray, ratio1, ratio2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R₂, R(H/2), R(H)) from central differences d[:, 0..2] at steps H, H/2, H/4 (ratios H/(H/2), (H/2)/(H/4)).

    R(H) = D(H/2) + (D(H/2) - D(H)) / (r² - 1) removes the h² term; R₂ = R(H/2) + (R(H/2) - R(H)) / (r⁴ - 1)
    removes the h⁴ term. With exact halvings (r = 2) these are (4·D(H/2) - D(H)) / 3 and (16·R(H/2) - R(H)) / 15.
    """
    r_coarse = d[:, 1] + (d[:, 1] - d[:, 0]) / (ratio1**2 - 1)
    r_fine = d[:, 2] + (d[:, 2] - d[:, 1]) / (ratio2**2 - 1)
    return r_fine + (r_fine - r_coarse) / (ratio1**4 - 1), r_fine, r_coarse


def _rounding(values: np.ndarray, H, slope, scale) -> np.ndarray:
    """≈ 6.6·k·eps·F / H: the rounding error of R₂ when every value of f is off by k ulps of F.

    F = max(max|f|, scale·|slope|), scale = max(1, |x|): f may be small because its terms cancel
    (sin x·e^(x/3) + x²·ln y near 0), but a term that changes f at rate `slope` over the scale of x is
    at least about scale·|slope| in size, and its rounding is what the quotients see.
    """
    F = np.maximum(np.max(np.abs(values), axis=1), scale * np.abs(slope))
    return _ROUNDING_GAIN * ROUNDING_ULPS * EPS * F / H


# ------------------------------------------------------------------------------------- the gradient


def gradient(f: BatchedFunction, x, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> FDResult:
    """∇f(x) by central differences, twice extrapolated, entry by entry; x of any shape (0-d too).

    Per entry i: the points x ± H·e_i, x ± (H/2)·e_i, x ± (H/4)·e_i (six evaluations, H = step_size(x_i)),
    the estimate R₂ = (64·D(H/4) - 20·D(H/2) + D(H)) / 45 and its error estimate (see the module
    docstring). The perturbed copies go through f in batches of at most chunk_bytes. An entry whose
    values are not finite is done again with a small step; if they still are not, its estimate is nan
    and its error inf.
    """
    x = np.asarray(x, dtype=np.float64)
    shape, flat = x.shape, x.ravel()
    H = step_size(flat)
    value, error, evaluations = _central(f, flat, shape, np.arange(flat.size), H, chunk_bytes)
    retry = np.flatnonzero(np.isnan(value) & np.isfinite(flat))
    if retry.size:  # a domain boundary closer than H (ln x at x = 1e-4): try again with small steps
        H[retry] = step_size(flat[retry], RETRY_STEP)
        v, e, more = _central(f, flat, shape, retry, H[retry], chunk_bytes)
        value[retry], error[retry] = v, e
        evaluations += more
    evaluations += _refine(f, flat, shape, value, error, H, chunk_bytes)
    return FDResult(value.reshape(shape), error.reshape(shape), H.reshape(shape), evaluations)


def _refine(f: BatchedFunction, flat: np.ndarray, shape: tuple[int, ...], value: np.ndarray, error: np.ndarray,
            H: np.ndarray, chunk_bytes: int) -> int:
    """Entries whose estimate is not finite, or nonzero but unusable (error > REFINE_TRIGGER·|value|), are
    redone with steps H·8⁻ᵏ (k = 1..REFINE_STEPS), keeping the estimate with the smallest relative error
    (value, error and H are updated in place); returns the extra evaluations.

    A feature at a scale far below max(1, |x|) — the pole of 2/z at z = 1e-8, the boundary of sqrt(y) at
    y = 1e-8 — lies inside every default step; only a step below |x| sees the function as smooth. So an
    entry keeps shrinking its step while the step is still at least |x| (x ≠ 0), and after that only while
    it improves. A value below its own error bar is rounding noise (a gradient that is 0 up to noise),
    not a feature smaller than the step: it is left alone.
    """
    def relative(v, e):
        with np.errstate(all="ignore"):
            return np.where(np.isfinite(v) & np.isfinite(e), e / np.maximum(np.abs(v), TINY_VALUE), np.inf)

    evaluations = 0
    with np.errstate(all="ignore"):
        # unusable but above its own error bar (a pole's garbage), as opposed to a value lost in rounding noise
        doubtful = ~np.isfinite(value) | ((error > REFINE_TRIGGER * np.abs(value)) & (np.abs(value) > error))
    todo = np.flatnonzero(doubtful & np.isfinite(flat))
    step = H.copy()
    for _ in range(REFINE_STEPS):
        if not todo.size:
            break
        step[todo] = step[todo] / 8.0
        v, e, more = _central(f, flat, shape, todo, step[todo], chunk_bytes)
        evaluations += more
        better = relative(v, e) < relative(value[todo], error[todo])
        value[todo[better]], error[todo[better]], H[todo[better]] = v[better], e[better], step[todo[better]]
        coarse = (step[todo] >= np.abs(flat[todo])) & (flat[todo] != 0)
        todo = todo[(relative(value[todo], error[todo]) > REFINE_TOL) & (better | coarse)]
    return evaluations


def _central(f: BatchedFunction, flat: np.ndarray, shape: tuple[int, ...], idx: np.ndarray, H: np.ndarray,
             chunk_bytes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """R₂ and its error estimate for the entries idx (steps H), their copies batched through f."""
    points = flat[idx, None] + H[:, None] * _OFFSETS  # (entries, 6)
    vals = np.empty(points.shape)
    per_call = _per_call(flat.size, chunk_bytes)
    buffer = _Copies(flat, min(per_call, idx.size))
    for start in range(0, idx.size, per_call):
        part = slice(start, start + per_call)
        vals[part] = buffer.entries(f, idx[part], points[part], shape)
    with np.errstate(all="ignore"):
        widths = points[:, 0::2] - points[:, 1::2]  # the steps actually taken, 2h
        d = (vals[:, 0::2] - vals[:, 1::2]) / widths
        best, fine, coarse = _extrapolate(d, widths[:, 0] / widths[:, 1], widths[:, 1] / widths[:, 2])
        err = (np.abs(best - fine) + np.abs(coarse - fine)
               + _rounding(vals, widths[:, 0] / 2, best, np.maximum(1.0, np.abs(flat[idx]))))
        finite = np.all(np.isfinite(vals), axis=1)
        return np.where(finite, best, np.nan), np.where(finite, err, np.inf), vals.size


def partial(f: BatchedFunction, x, index) -> tuple[float, float]:
    """One entry's partial derivative and its error estimate (the scheme of `gradient`, six evaluations)."""
    x = np.asarray(x, dtype=np.float64)
    k = _flat_index(x.shape, index)
    flat = x.ravel()

    def along(T: np.ndarray) -> np.ndarray:
        X = np.broadcast_to(flat, (T.shape[0], flat.size)).copy()
        X[:, k] = T
        return _call(f, X.reshape((T.shape[0],) + x.shape))

    res = gradient(along, flat[k])
    return float(res.value), float(res.error)


def _flat_index(shape: tuple[int, ...], index) -> int:
    """`index` (an int into the flattened array, or a tuple of per-axis indices) as a flat index."""
    size = int(np.prod(shape))
    if isinstance(index, (tuple, list)):
        if len(index) != len(shape):
            raise IndexError(f"index {tuple(index)} does not fit shape {shape}")
        return int(np.ravel_multi_index(tuple(int(i) for i in index), shape)) if shape else 0
    k = int(index)
    if not -size <= k < size:
        raise IndexError(f"index {k} is out of range for {size} entries")
    return k % size


# -------------------------------------------------------------------------------------------- kinks


def one_sided(f: BatchedFunction, x, index=0) -> tuple[float, float]:
    """(left, right): the derivatives of f from the left and from the right in entry `index`.

    Forward quotients F(s) = (f(x + s·e_i) - f(x)) / s for s = h, h/2, h/4 (h = ONE_SIDED_STEP·max(1, |x_i|)
    as a power of two) have errors c₁s + c₂s² + …; two Richardson steps, R(s) = 2F(s/2) - F(s) and then
    (4R(h/2) - R(h)) / 3, leave O(h³). The left derivative uses backward quotients (f(x) - f(x - s·e_i)) / s
    the same way. Seven evaluations in one call. At a kink (relu or abs at 0) the two differ; at a
    smooth point they agree.
    """
    x = np.asarray(x, dtype=np.float64)
    k = _flat_index(x.shape, index)
    flat = x.ravel()
    xi = flat[k]
    h = float(step_size(xi, ONE_SIDED_STEP))
    steps = np.array([h, h / 2, h / 4])
    points = np.concatenate([[xi], xi + steps, xi - steps])
    X = np.broadcast_to(flat, (points.size, flat.size)).copy()
    X[:, k] = points
    with np.errstate(all="ignore"):
        vals = _call(f, X.reshape((points.size,) + x.shape))
        right = (vals[1:4] - vals[0]) / (points[1:4] - xi)
        left = (vals[0] - vals[4:7]) / (xi - points[4:7])
        return float(_extrapolate_one_sided(left)), float(_extrapolate_one_sided(right))


def _extrapolate_one_sided(q: np.ndarray) -> float:
    """Richardson over one-sided quotients at steps h, h/2, h/4 whose error is c₁s + c₂s² + …"""
    r = 2 * q[1:] - q[:-1]  # O(s²)
    return (4 * r[1] - r[0]) / 3  # O(s³)


# -------------------------------------------------------------------------------------- directional


def _directional(f: BatchedFunction, x: np.ndarray, grad: np.ndarray,
                 directions: Sequence[tuple[np.ndarray, np.ndarray]], chunk_bytes: int):
    """For sparse unit directions (support indices, values): analytic ∇·d, numeric, error, evaluations.

    Step t = step_size(max |x| over the support); the points x ± t·d, x ± (t/2)·d, x ± (t/4)·d; numeric
    R₂ of the quotients D(s) = (f(x + s·d) - f(x - s·d)) / 2s. The analytic side goes through the same
    linear combination of g·((x + s·d) - (x - s·d)) / 2s, built from the points actually used, so float
    rounding of the perturbed points cancels; its own rounding (support size · eps · Σ|g·d|) joins the error.
    """
    shape, flat, g = x.shape, x.ravel(), grad.ravel()
    n, m = flat.size, len(directions)
    analytic, numeric, error = np.empty(m), np.empty(m), np.empty(m)
    per_call = _per_call(n, chunk_bytes)
    buffer = _Copies(flat, min(per_call, m))
    evaluations = 0
    with np.errstate(all="ignore"):
        for start in range(0, m, per_call):
            chunk = directions[start:start + per_call]
            k = len(chunk)
            t = np.empty(k)
            slopes, dot_round = np.empty((k, 3)), np.empty(k)
            perturbed = []
            for j, (idx, d) in enumerate(chunk):
                xi = flat[idx]
                t[j] = step_size(np.max(np.abs(xi)))
                points = xi[:, None] + (t[j] * d)[:, None] * _OFFSETS  # (support, 6)
                perturbed.append((idx, points))
                slopes[j] = g[idx] @ (points[:, 0::2] - points[:, 1::2]) / (t[j] * _OFFSETS[0::2] * 2)
                dot_round[j] = idx.size * EPS * np.sum(np.abs(g[idx] * d))
            vals = buffer.directions(f, perturbed, shape)
            evaluations += vals.size
            d_num = (vals[:, 0::2] - vals[:, 1::2]) / (t[:, None] * _OFFSETS[0::2] * 2)
            best, fine, coarse = _extrapolate(d_num, 2.0, 2.0)
            exact, _, _ = _extrapolate(slopes, 2.0, 2.0)
            finite = np.all(np.isfinite(vals), axis=1)
            sl = slice(start, start + k)
            numeric[sl] = np.where(finite, best, np.nan)
            analytic[sl] = exact
            scale = t / STEP  # max(1, max |x| over the support), to a power of two
            noise = _rounding(vals, t, best, scale) + dot_round
            error[sl] = np.where(finite, np.abs(best - fine) + np.abs(coarse - fine) + noise, np.inf)
    return analytic, numeric, error, evaluations


def _checked(x, grad) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != x.shape:
        raise ShapeError(f"the gradient has shape {grad.shape} but the point has shape {x.shape}")
    return x, grad


def directional(f: BatchedFunction, x, grad, *, directions: int = 4, seed: int = 0,
                threshold: float = THRESHOLD, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> DirectionalResult:
    """Check a whole gradient with a few forward passes: grad·d against the central difference along d.

    d are `directions` random unit vectors (Gaussian, normalised; seeded). A wrong gradient g ≠ ∇f
    passes only if (g - ∇f)·d is within the error budget (`compare.numeric_agrees`) for every d, which
    for random d happens with probability ~0 unless the error is tiny. Six evaluations per direction.
    """
    x, grad = _checked(x, grad)
    n = x.size
    rng = np.random.default_rng(seed)
    support = np.arange(n)
    dirs = []
    for _ in range(directions):
        d = rng.standard_normal(n)
        dirs.append((support, d / np.linalg.norm(d)))
    analytic, numeric, error, evaluations = _directional(f, x, grad, dirs, chunk_bytes)
    ok = numeric_agrees(analytic, numeric, error, threshold)
    return DirectionalResult(analytic, numeric, error, rel_error(analytic, numeric), bool(np.all(ok)), evaluations)


def locate_mismatch(f: BatchedFunction, x, grad, *, threshold: float = THRESHOLD, seed: int = 0, probes: int = 2,
                    chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> MismatchResult:
    """The entries where `grad` disagrees with f, by bisection over blocks of entries.

    A block is tested with the directional check restricted to it (d is zero outside the block, with
    random signs and magnitudes in [0.5, 1] inside, so errors in different entries are unlikely to
    cancel; `probes` directions per block). A failing block is split in halves, down to single entries,
    where the test is the central-difference partial itself. k wrong entries among n cost about
    2·k·log2(n)·probes tests of six evaluations, instead of 6·n. When almost every tested block fails
    (the errors are dense), the rest is checked entry by entry, which is then cheaper.
    """
    x, grad = _checked(x, grad)
    n = x.size
    rng = np.random.default_rng(seed)
    blocks = [np.arange(n)] if n else []
    bad: list[int] = []
    bad_numeric: list[float] = []
    evaluations = tested = 0
    while blocks:
        dirs, owners = [], []
        for b, block in enumerate(blocks):
            for _ in range(probes if block.size > 1 else 1):
                if block.size == 1:
                    d = np.ones(1)
                else:
                    d = rng.choice([-1.0, 1.0], size=block.size) * rng.uniform(0.5, 1.0, size=block.size)
                    d /= np.linalg.norm(d)
                dirs.append((block, d))
                owners.append(b)
        analytic, numeric, error, used = _directional(f, x, grad, dirs, chunk_bytes)
        evaluations += used
        tested += len(blocks)
        ok = numeric_agrees(analytic, numeric, error, threshold)
        failing = sorted({owners[i] for i in np.flatnonzero(~ok)})
        next_blocks: list[np.ndarray] = []
        for b in failing:
            block = blocks[b]
            if block.size == 1:
                bad.append(int(block[0]))
                bad_numeric.append(float(numeric[owners.index(b)]))
            else:
                half = block.size // 2
                next_blocks += [block[:half], block[half:]]
        dense = len(blocks) >= 4 and len(failing) >= 0.75 * len(blocks)
        if dense:
            next_blocks = [np.array([i]) for block in next_blocks for i in block]
        blocks = next_blocks
    order = np.argsort(bad, kind="stable")
    flat_bad = np.asarray(bad, dtype=int)[order]
    indices = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in flat_bad]
    return MismatchResult(indices, grad.ravel()[flat_bad], np.asarray(bad_numeric, dtype=float)[order],
                          evaluations, tested)
