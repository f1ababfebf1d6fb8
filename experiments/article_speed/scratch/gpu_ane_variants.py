"""GPU / ANE variants tried after cost model 1.5, as patches over the shipped model (nas/ untouched unless kept).

``install()`` wraps ``model.atom_ms`` (GPU variant terms, each priced only when its parameter is in theta,
i.e. named on the harness's command line) and ``priors.prior_for`` (the new parameters' priors). With no
variant parameter and no flag the shipped model runs unchanged (the ``base`` run).
"""
from __future__ import annotations

import math

from nas.latency.costmodel import model, priors

_SHIPPED_ATOM_MS = model.atom_ms
_SHIPPED_PRIOR_FOR = priors.prior_for
# name: (prior centre (log), log-sigma, where the centre comes from)
NEW: dict[str, tuple[float, float, str]] = {}


def atom_ms(a, th, unit):
    return _SHIPPED_ATOM_MS(a, th, unit)


def prior_for(phone, unit, *args, **kw):
    p = _SHIPPED_PRIOR_FOR(phone, unit, *args, **kw)
    for k in priors.UNIT_PARAMS.get(unit, ()):
        if k in NEW:
            p.mean[k], p.sigma[k], p.sources[k] = NEW[k]
    return p


def install():
    model.atom_ms = atom_ms
    priors.prior_for = prior_for
    import nas.latency.costmodel.fit as fit
    fit.prior_for = prior_for
