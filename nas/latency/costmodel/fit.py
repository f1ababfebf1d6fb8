"""Fitting the few shared parameters of each (phone, unit) to whole-model timings.

Maximum a posteriori in log space: residuals ``(log predicted - log measured) /
sigma_row`` plus prior terms ``(theta - prior) / prior_sigma`` (a ridge towards
the chips' published figures), solved with ``scipy.optimize.least_squares``
from the prior centre -- deterministic. Public sources other than the
whole-model-timings files get one multiplicative offset per (source, unit)
(different OS, app and precision), with a tight prior at 1. CPU and GPU are
fitted first; the ANE fit reuses them for the layers that fall back.
Each unit is fitted jointly over the phones with few parameters: every
parameter has ONE shared value (the per-phone priors already differ by the
chips' published peak and bandwidth), and only ``FORM["phone_dev"]`` gets a
small per-phone deviation with a tight prior; a parameter only some chips have
(``priors.CHIP_PARAMS``, the A13's AMX) is shared by the phones whose chip has it.
The loss is per unit (``FORM["loss"]``): plain least squares on the sigma-scaled
log residuals for the CPU, robust soft-L1 for GPU and ANE -- on the CPU the
robust loss let a fit set aside whichever models it fitted worst, and the
leave-one-model-out error was lower without it (experiments/article_speed/README.md).
A public family timed many times (23 MobileNet v2 variants) weighs about as much
as three rows, so it cannot dominate.
Leave-one-model-out cross-validation refits everything without the held-out
model's family (its rows on every phone and in every source), from the prior
centre, and predicts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import spearmanr

from nas.arch.resolve import resolve
from nas.latency.costmodel.atoms import block_atoms
from nas.latency.costmodel.calibdata import Row
from nas.latency.costmodel.model import Batch, make_batch, net_ms
from nas.latency.costmodel.priors import prior_for

OFFSET_SIGMA = 0.3
UNIT_ORDER = ("cpu", "gpu", "ane")


@dataclass
class UnitFit:
    phone: str
    unit: str
    theta: dict[str, float]
    offsets: dict[str, float] = field(default_factory=dict)
    n_rows: int = 0
    fitted: bool = True
    own_params: int = 0         # fitted for this phone alone
    shared_params: int = 0      # shared with the other phones (counted on the first phone only)
    joint_params: int = 0       # size of the joint fit this unit belongs to
    x: np.ndarray | None = None  # the joint fit's solution vector (a warm start for refits)
    floor_shift: dict[str, float] = field(default_factory=dict)   # log shift of the overhead per row group


class Dataset:
    """Rows plus the stacked atoms of every distinct network they time."""

    def __init__(self, rows: list[Row], drop: tuple[str, ...] = ()):
        self.rows = rows
        specs: dict = {}
        for r in rows:
            specs.setdefault(r.spec, len(specs))
        self.net_index = np.array([specs[r.spec] for r in rows], dtype=np.int64)
        self.batch: Batch = make_batch([[block_atoms(l.block, l.in_shape) for l in resolve(s)] for s in specs], drop)


# Form of the joint fit (documented in the module docstring). Every parameter has one value shared by
# the phones, centred on the prior; PHONE_DEV names the parameters that also get a per-phone deviation
# (log space, tight prior of the given width) on top of the chip-specs ratio that the prior already
# carries. Everything else (op-type efficiencies, launch cost, overhead, ANE transfer) is shared.
FORM = {"phone_dev": {"cpu": {"peak": 0.5, "bw": 0.5}, "gpu": {"peak": 0.5, "bw": 0.5},
                      "ane": {"peak": 0.5}},
        "loss": {"cpu": "linear", "gpu": "soft_l1", "ane": "soft_l1"}, "f_scale": 2.0, "family_rows": 3.0}


def _row_sigma(rows: list[Row]) -> np.ndarray:
    """Per-row sigma; a public family timed many times (e.g. 23 MobileNet v2 variants) counts as about
    ``family_rows`` rows in all, so it cannot dominate the fit."""
    sig = np.array([r.sigma for r in rows])
    n = {}
    for r in rows:
        if not r.article:
            n[(r.source, r.family, r.phone)] = n.get((r.source, r.family, r.phone), 0) + 1
    w = np.array([max(1.0, n[(r.source, r.family, r.phone)] / FORM["family_rows"]) if not r.article else 1.0
                  for r in rows])
    return sig * np.sqrt(w)


def fit_unit(ds: Dataset, mask: np.ndarray, phones: tuple[str, ...], unit: str,
             fallback: dict[str, dict] | None = None, x0: np.ndarray | None = None,
             phone_dev: dict[str, float] | None = None,
             floor_groups: tuple[list, dict[str, float]] | None = None,
             shift_params: tuple[str, ...] = ("overhead",)) -> dict[str, UnitFit]:
    """Joint fit of one unit over ``phones``: one shared value per parameter (the per-phone priors differ
    by the chips' published figures), small per-phone deviations for ``FORM['phone_dev']`` (or ``phone_dev``:
    parameter -> prior width; {} = none), one offset per extra public source. ``fallback[phone]`` = that
    phone's cpu/gpu thetas; ``x0`` = a warm start. ``floor_groups`` = (a group name or None per row of ``ds``,
    group -> prior width): the rows of a group that has rows in the fit pay ``overhead`` shifted by one
    fitted log factor (prior centre 0: no shift), e.g. the per-inference floor of a newer OS; ``shift_params``:
    the parameters that factor scales (e.g. also ``launch``, the per-layer cost)."""
    priors = {p: prior_for(p, unit) for p in phones}
    have = [p for p in phones if (mask & np.array([r.phone == p for r in ds.rows])).any()]
    out = {p: UnitFit(p, unit, dict(priors[p].mean), fitted=False) for p in phones}
    if not have:
        return out
    names = tuple(dict.fromkeys(n for p in have for n in priors[p].names(unit)))   # chip-only ones last
    dev_sigma = FORM["phone_dev"][unit] if phone_dev is None else phone_dev
    dev = [n for n in names if n in dev_sigma] if len(have) > 1 else []
    idx = np.flatnonzero(mask & np.isin([r.phone for r in ds.rows], have))
    rows = [ds.rows[i] for i in idx]
    sources = sorted({r.source for r in rows if not r.article})
    src_of = np.array([sources.index(r.source) if not r.article else -1 for r in rows])
    log_ms = np.log([r.ms for r in rows])
    sig = _row_sigma(rows)
    nets = ds.net_index[idx]
    phone_rows = {p: np.array([r.phone == p for r in rows]) for p in have}
    row_group = [floor_groups[0][i] for i in idx] if floor_groups else [None] * len(idx)
    groups = sorted({g for g in row_group if g is not None})
    grp_of = np.array([groups.index(g) + 1 if g is not None else 0 for g in row_group], dtype=np.int64)
    ps = np.r_[[next(priors[p].sigma[n] for p in have if n in priors[p].mean) for n in names],
               [dev_sigma[n] for _ in have for n in dev], [floor_groups[1][g] for g in groups]]
    k = len(ps)
    k_shift = k - len(groups)

    def unpack(x):
        ths = {}
        for j, p in enumerate(have):
            th = {n: priors[p].mean[n] + x[i] for i, n in enumerate(names) if n in priors[p].mean}
            for i, n in enumerate(dev):
                th[n] += x[len(names) + j * len(dev) + i]
            ths[p] = th
        return ths, np.r_[x[k:], 0.0]

    def resid(x):
        ths, off = unpack(x)
        shift = np.r_[0.0, x[k_shift:k]]
        pred = np.empty(len(rows))
        for p in have:
            fb = fallback[p] if fallback else None
            sel = phone_rows[p]
            ms = net_ms(ds.batch, unit, ths[p], fb)[nets[sel]]
            if groups and shift_params == ("overhead",):   # a group's rows pay exp(overhead + shift)
                ms = ms + np.exp(ths[p]["overhead"]) * 1e3 * np.expm1(shift[grp_of[sel]])
            elif groups:   # the group's rows price every parameter of shift_params shifted
                for gi in set(grp_of[sel].tolist()) - {0}:
                    th_g = {n: v + (shift[gi] if n in shift_params else 0.0) for n, v in ths[p].items()}
                    in_g = grp_of[sel] == gi
                    ms[in_g] = net_ms(ds.batch, unit, th_g, fb)[nets[sel][in_g]]
            pred[sel] = np.log(ms)
        pred += off[src_of]
        return np.r_[(pred - log_ms) / sig, x[:k] / ps, x[k:] / OFFSET_SIGMA]

    start = np.zeros(k + len(sources)) if x0 is None or len(x0) != k + len(sources) else x0
    sol = least_squares(resid, start, method="trf", x_scale=1.0, max_nfev=200 * len(start),
                        loss=FORM["loss"][unit], f_scale=FORM["f_scale"])
    ths, off = unpack(sol.x)
    offsets = {s: float(o) for s, o in zip(sources, off[:-1])}
    for p in have:
        out[p] = UnitFit(p, unit, {n: float(v) for n, v in ths[p].items()}, offsets,
                         int(phone_rows[p].sum()), True, len(dev))
        out[p].x = sol.x
        out[p].floor_shift = {g: float(v) for g, v in zip(groups, sol.x[k_shift:k])}
    out[have[0]].shared_params = len(names) + len(sources)
    for p in have:
        out[p].joint_params = len(sol.x)
    return out


def fit_all(ds: Dataset, phones: tuple[str, ...], keep: np.ndarray | None = None,
            init: dict | None = None) -> dict[str, dict[str, UnitFit]]:
    """Fit cpu, gpu (jointly over phones), then ane reusing each phone's cpu/gpu for fallbacks.
    ``init[unit]`` = a warm-start parameter vector (e.g. from a fit on other rows)."""
    keep = np.ones(len(ds.rows), bool) if keep is None else keep
    fits: dict[str, dict[str, UnitFit]] = {p: {} for p in phones}
    for unit in UNIT_ORDER:
        mask = keep & np.array([r.unit == unit for r in ds.rows])
        fb = {p: {u: fits[p][u].theta for u in ("cpu", "gpu")} for p in phones} if unit == "ane" else None
        for p, f in fit_unit(ds, mask, phones, unit, fb, (init or {}).get(unit)).items():
            fits[p][unit] = f
    return fits


def predict_rows(ds: Dataset, fits: dict[str, UnitFit], idx) -> np.ndarray:
    """Predicted ms of rows ``idx`` (all of one phone) without source offsets."""
    out = np.empty(len(idx))
    fb = {u: fits[u].theta for u in ("cpu", "gpu")}
    for j, i in enumerate(idx):
        r = ds.rows[i]
        out[j] = net_ms(ds.batch, r.unit, fits[r.unit].theta, fb if r.unit == "ane" else None)[ds.net_index[i]]
    return out


def loo(ds: Dataset, phones: tuple[str, ...], on_fold=None) -> list[dict]:
    """Leave-one-model-out: refit without every row of a model's family (all phones, all sources),
    then predict that model's whole-model-timings rows. ``on_fold(done, total, label)``, if given, is
    called after each family's refit (a progress bar's hook)."""
    results = []
    families = sorted({r.family for r in ds.rows if r.article})
    fam = np.array([r.family for r in ds.rows])
    for n, f in enumerate(families, 1):
        all_fits = fit_all(ds, phones, keep=fam != f)
        for phone in phones:
            test = [i for i, r in enumerate(ds.rows) if r.article and r.family == f and r.phone == phone]
            if not test:
                continue
            fits = all_fits[phone]
            for i, p in zip(test, predict_rows(ds, fits, test)):
                r = ds.rows[i]
                if fits[r.unit].fitted:
                    results.append({"model": r.model, "phone": phone, "unit": r.unit, "measured_ms": r.ms,
                                    "predicted_ms": float(p)})
        if on_fold:
            on_fold(n, len(families), f"{f} out")
    return results


def summarize(results: list[dict]) -> dict:
    """Median absolute percentage error per unit, per phone/unit and overall; Spearman per phone/unit."""
    def mape(sel):
        e = [abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in sel]
        return round(float(np.median(e)), 1) if e else None
    out = {"overall_median_ape_pct": mape(results), "per_unit": {}, "per_phone_unit": {}}
    for unit in UNIT_ORDER:
        out["per_unit"][unit] = {"median_ape_pct": mape([r for r in results if r["unit"] == unit]),
                                 "n": sum(r["unit"] == unit for r in results)}
    for phone in sorted({r["phone"] for r in results}):
        for unit in UNIT_ORDER:
            sel = [r for r in results if r["phone"] == phone and r["unit"] == unit]
            if not sel:
                continue
            rho = spearmanr([r["measured_ms"] for r in sel], [r["predicted_ms"] for r in sel]).statistic \
                if len(sel) > 2 else math.nan
            out["per_phone_unit"][f"{phone}/{unit}"] = {"median_ape_pct": mape(sel), "n": len(sel),
                                                       "spearman": None if math.isnan(rho) else round(float(rho), 3)}
    return out
