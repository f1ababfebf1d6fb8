"""Hypothesis H (clock scaling), as a patch over ``priors.prior_for`` (nas/ untouched unless kept; README.md).

``V_CLOCK=<e>`` (e = 1 is H): on every unit (or those in ``V_CLOCK_UNITS``, comma-separated), the prior centres
of ``launch``, ``overhead`` and ``eltwise`` move by e x log(peak_ref / peak_chip), peak being the unit's prior
peak from the chip's published figures (the same one ``prior_for`` centres ``peak`` on); reference chip
``V_CLOCK_REF`` (default A13, ``today_calibrate.REF_2020``'s chip). Every parameter is one value shared by the
phones around per-phone centres, so the shift puts the peak ratio into each phone's theta -- no new parameter.
``install()`` patches every module that imported ``prior_for``.

H' (``V_CLOCK_FIT=1``, with ``V_CLOCK_UNITS``): the centres stay, and one fitted exponent per unit, ``cexp``
(log e, prior centre 0 = e 1, width 0.5), applies the ratio: launch, eltwise and overhead priced at
x (peak_ref / peak_chip)^e. The phone's log ratio rides in theta as ``clr``, a shared parameter pinned to its
per-phone centre (prior width 1e-4), so ``fit.fit_unit`` / ``today_fit.transfer`` carry it unchanged.
"""
from __future__ import annotations

import math
import os

from nas.hardware.devices import get_device
from nas.latency.costmodel import priors

_SHIPPED = priors.prior_for
SCALED = ("launch", "overhead", "eltwise")
REF_PHONE = {"A13": "iphone11", "A12": "iphonexs", "A11": "iphonex"}


def _ref_peak(unit: str) -> float:
    ref = os.environ.get("V_CLOCK_REF", "A13")
    return _SHIPPED(REF_PHONE[ref], unit).mean["peak"]


def prior_for(phone, unit, *args, **kw):
    p = _SHIPPED(phone, unit, *args, **kw)
    e = float(os.environ.get("V_CLOCK", "0") or 0)
    units = os.environ.get("V_CLOCK_UNITS", "cpu,gpu,ane").split(",")
    if not e or unit not in units:
        return p
    shift = e * (_ref_peak(unit) - p.mean["peak"])
    for n in SCALED:
        p.mean[n] += shift
        p.sources[n] = p.sources.get(n, "") + (f"; centre x (ref peak / {get_device(phone).chip} peak)^{e:g} = "
                                               f"x{math.exp(shift):.3g} (hypothesis H)")
    return p


def prior_for_fit(phone, unit, *args, **kw):
    p = _SHIPPED(phone, unit, *args, **kw)
    if unit in os.environ.get("V_CLOCK_UNITS", "cpu,gpu,ane").split(","):
        p.mean["clr"], p.sigma["clr"] = _ref_peak(unit) - p.mean["peak"], 1e-4
        p.mean["cexp"], p.sigma["cexp"] = 0.0, 0.5
        p.sources["cexp"] = "exponent on (ref peak / chip peak) of launch, eltwise, overhead (H'); prior 1, width 0.5"
    return p


def _scaled(th):
    if "clr" not in th:
        return th
    th = dict(th)
    d = math.exp(th.pop("cexp")) * th.pop("clr")   # popped: a theta is scaled once (net_ms, then atom_ms)
    for n in SCALED:
        th[n] = th[n] + d
    return th


def install():
    if os.environ.get("V_CLOCK_FIT"):
        return install_fit()
    _install(prior_for)


def install_fit():
    from nas.latency.costmodel import model
    units = os.environ.get("V_CLOCK_UNITS", "cpu,gpu,ane").split(",")
    priors.UNIT_PARAMS = {u: tuple(v) + (("clr", "cexp") if u in units else ())
                          for u, v in priors.UNIT_PARAMS.items()}
    atom_ms, net_ms = model.atom_ms, model.net_ms
    model.atom_ms = lambda a, th, unit: atom_ms(a, _scaled(th), unit)

    def net(batch, unit, th, fallback=None):   # block_ms reads model.atom_ms (patched); the overhead here
        return net_ms(batch, unit, _scaled(th), fallback)
    import nas.latency.costmodel.fit as fit
    import nas.latency.costmodel.today_fit as today_fit
    for m in (model, fit, today_fit):
        m.net_ms = net
    _install(prior_for_fit)


def _install(pf):
    import nas.latency.costmodel.calibrate as calibrate
    import nas.latency.costmodel.fit as fit
    import nas.latency.costmodel.today_calibrate as today_calibrate
    import nas.latency.costmodel.today_fit as today_fit
    for m in (priors, fit, calibrate, today_fit, today_calibrate):
        m.prior_for = pf
