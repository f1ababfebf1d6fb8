"""Today's regime (ML programs on iOS 16+): one model across chips, per-source offsets, cross-validation.

The Neural Engine model (Core ML ``.all``) is fitted on the public 2022+ rows
(``today_data``) jointly over the A14, A15, A16 and A17 Pro phones, with the cost model of
``model.py``: every parameter has one shared value, centred on each chip's
published figures (``priors``), and no per-chip deviation (``PHONE_DEV``): a phone
of any chip, fitted or not (A12, A13), gets its own priors plus the shared values
(``transfer`` would also carry a fitted chip's deviation if ``PHONE_DEV`` allowed
one). The regime term is what differs from the 2020 model: ANE rules the
regime no longer has (``atoms.REGIME_DROPS``) and its own per-network overhead
and per-class costs, all refitted. Layers that still fall off the ANE run on the
2020 CPU/GPU models, transferred to the phone the same way (no public iOS 16+
``.cpuOnly`` / ``.cpuAndGPU`` timings exist to refit them). The per-inference
floor (``overhead``) depends on the OS each row records (``FLOOR_PRIOR``): rows of
iOS 17 or later pay it times one fitted factor; ``theta(phone, os)`` gives either.

Cross-validation (each refit from the prior centre, as the shipped fit):
leave-one-model-out drops a model family everywhere; leave-one-source-out drops
a source and predicts it without its offset; leave-one-phone-out drops one
measured phone and predicts its rows (its chip then has only the other phones).
"""

from __future__ import annotations

import numpy as np

from nas.hardware.devices import get_device
from nas.latency.costmodel.atoms import regime_traits
from nas.latency.costmodel.calibdata import Row
from nas.latency.costmodel.fit import Dataset, UnitFit, fit_all, fit_unit
from nas.latency.costmodel.model import net_ms
from nas.latency.costmodel.priors import prior_for
from nas.latency.costmodel.today_data import CHIP_PHONE
from nas.latency.regime import DEFAULT_RUNTIME

PHONES = tuple(CHIP_PHONE.values())   # one representative per fitted chip
# No per-chip deviation: every chip's Neural Engine differs from the others only by its published peak and
# bandwidth. Tried with the cross-validation in view (experiments/today_speed/README.md): a per-chip peak
# deviation of prior width 0.5 (the 2020 fit's), 0.25, 0.15, 0.1, 0.05 and none; none was best on leave one
# phone out and leave one model out, and is the simplest; a per-chip floor made both worse.
PHONE_DEV: dict[str, float] = {}
# The per-inference floor by OS (``Row.os``): rows that record iOS 17 or later pay the fitted ``overhead`` times
# one fitted factor (log prior centre 0 = no change, width FLOOR_PRIOR); rows of iOS 16 or of no stated OS pay
# it as fitted. Per OS, not per chip: the floor is the runtime's fixed cost per prediction (experiments/
# today_speed/README.md).
FLOOR_PRIOR: dict[str, float] = {"ios17+": 1.0}
NEW_OS = 17
# The parameters the OS factor scales: the per-inference floor only, or also the per-layer (launch) cost.
FLOOR_PARAMS: tuple[str, ...] = ("overhead",)


def floor_group(os_major: str) -> str | None:
    """The floor group of an OS major version ("17" -> "ios17+"); None = the fitted (iOS 16) floor."""
    return "ios17+" if "ios17+" in FLOOR_PRIOR and os_major.isdigit() and int(os_major) >= NEW_OS else None


def transfer(fit: UnitFit, ref: str, phone: str) -> dict[str, float]:
    """``fit``'s shared values (fitted on ``ref``'s chip and others) moved to ``phone``'s priors."""
    pr_ref, pr = prior_for(ref, fit.unit), prior_for(phone, fit.unit)
    names = pr.names(fit.unit)
    shared = {n: float(fit.x[i]) for i, n in enumerate(names)} if fit.x is not None else {n: 0.0 for n in names}
    th = {n: pr.mean[n] + shared[n] for n in names}
    ref_chip, chip = get_device(ref).chip, get_device(phone).chip
    if ref_chip == chip:   # a phone of the fitted chip keeps that chip's deviation
        th = {n: th[n] + (fit.theta[n] - pr_ref.mean[n] - shared[n]) for n in names}
    return th


class TodayModel:
    """The fitted regime: ANE thetas per chip representative, offsets per source, 2020 CPU/GPU for fallbacks."""

    def __init__(self, fits2020: dict, ref2020: str, ane: dict[str, UnitFit]):
        self.fits2020, self.ref2020, self.ane = fits2020, ref2020, ane
        fitted = next((f for f in ane.values() if f.fitted), None)
        self.offsets = fitted.offsets if fitted else {}
        self.floor_shift = fitted.floor_shift if fitted else {}   # group -> fitted log factor on overhead

    def fallback(self, phone: str) -> dict[str, dict]:
        return {u: transfer(self.fits2020[self.ref2020][u], self.ref2020, phone) for u in ("cpu", "gpu")}

    def theta(self, phone: str, os_major: str = "") -> dict[str, float]:
        """ANE parameters of ``phone`` on iOS ``os_major`` ("": the fitted floor, iOS 16 / not stated)."""
        chip = get_device(phone).chip
        rep = CHIP_PHONE.get(chip)
        if rep in self.ane and self.ane[rep].fitted:
            th = transfer(self.ane[rep], rep, phone)
        else:
            ref = next(p for p, f in self.ane.items() if f.fitted)
            th = transfer(self.ane[ref], ref, phone)
        group = floor_group(os_major)
        if group:   # no rows of the group in the fit: its prior centre, no shift
            for n in FLOOR_PARAMS:
                th[n] += self.floor_shift.get(group, 0.0)
        return th

    def unit_fits(self, phone: str, os_major: str = "") -> dict[str, UnitFit]:
        fb = self.fallback(phone)
        return {"cpu": UnitFit(phone, "cpu", fb["cpu"]), "gpu": UnitFit(phone, "gpu", fb["gpu"]),
                "ane": UnitFit(phone, "ane", self.theta(phone, os_major))}


def fit_2020(rows2020: list[Row], phones2020: tuple[str, ...]) -> dict:
    return fit_all(Dataset(rows2020), phones2020)


def fit_today(ds: Dataset, keep: np.ndarray, fits2020: dict, ref2020: str) -> TodayModel:
    """Fit the ANE of today's regime on ``ds.rows[keep]``."""
    tmp = TodayModel(fits2020, ref2020, {})
    fb = {p: tmp.fallback(p) for p in PHONES}
    groups = [floor_group(r.os) for r in ds.rows]
    ane = fit_unit(ds, keep.copy(), PHONES, "ane", fb, phone_dev=PHONE_DEV,
                   floor_groups=(groups, FLOOR_PRIOR) if any(groups) else None, shift_params=FLOOR_PARAMS)
    return TodayModel(fits2020, ref2020, ane)


def predict(model: TodayModel, ds: Dataset, idx, with_offset: bool = True) -> np.ndarray:
    """Predicted ms of rows ``idx`` on their measured phones, with their source's offset if known."""
    out = np.empty(len(idx))
    for j, i in enumerate(idx):
        r = ds.rows[i]
        phone = r.device or r.phone
        v = net_ms(ds.batch, "ane", model.theta(phone, r.os), model.fallback(phone))[ds.net_index[i]]
        off = model.offsets.get(r.source, 0.0) if with_offset and not r.article else 0.0
        out[j] = v * np.exp(off)
    return out


def _result(r: Row, pred: float, kind: str, left_out: str) -> dict:
    return {"cv": kind, "left_out": left_out, "model": r.model, "source": r.source, "device": r.device,
            "chip": get_device(r.device).chip, "measured_ms": r.ms, "predicted_ms": round(float(pred), 4)}


def cross_validate(ds: Dataset, fits2020: dict, ref2020: str, on_fold=None) -> list[dict]:
    """Leave one model family, one source and one phone out, each in turn: refit, predict the rows left out.
    ``on_fold(done, total, label)``, if given, is called after each refit (a progress bar's hook)."""
    rows = ds.rows
    out = []
    groups = {"model": lambda r: r.family, "source": lambda r: r.source, "phone": lambda r: r.device}
    folds = [(kind, labels, g) for kind, key in groups.items()
             for labels in [np.array([key(r) for r in rows])] for g in sorted(set(labels))]
    for n, (kind, labels, g) in enumerate(folds, 1):
        keep = labels != g
        model = fit_today(ds, keep, fits2020, ref2020)
        idx = np.flatnonzero(~keep)
        for i, p in zip(idx, predict(model, ds, idx, with_offset=(kind != "source"))):
            out.append(_result(rows[i], p, kind, str(g)))
        if on_fold:
            on_fold(n, len(folds), f"{kind} {g} out")
    return out


def summarize_cv(results: list[dict]) -> dict:
    """Median absolute % error per CV kind: overall, per measured phone, per chip, per phone and source (a source
    measured on one phone only loses its offset when that phone is left out: its level is then a guess)."""
    def med(sel):
        e = [abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in sel]
        return {"median_ape_pct": round(float(np.median(e)), 1), "n": len(e)} if e else None
    out = {}
    for kind in ("model", "source", "phone"):
        sel = [r for r in results if r["cv"] == kind]
        out[kind] = {"overall": med(sel),
                     "per_device": {d: med([r for r in sel if r["device"] == d])
                                    for d in sorted({r["device"] for r in sel})},
                     "per_chip": {c: med([r for r in sel if r["chip"] == c]) for c in sorted({r["chip"] for r in sel})},
                     "per_device_source": {f"{d}/{s}": med([r for r in sel if r["device"] == d and r["source"] == s])
                                           for d, s in sorted({(r["device"], r["source"]) for r in sel})}}
    return out


DROP = regime_traits(DEFAULT_RUNTIME)   # ANE rules the regime lacks + ANE fusions it has (atoms.FUSIONS)
