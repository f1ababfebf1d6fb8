"""One call that fits today's regime, cross-validates it and writes its predicted tables.

Tables: ``{phone}-{unit}.coreml-mlprogram-ios16.yaml`` for ``TODAY_PHONES``. The
``ane`` tables are the regime's fitted model at the per-inference floor of
``TABLE_OS`` (iOS 17 or later: what a user runs today; the iOS 16 floor is in
their provenance); ``cpu`` / ``gpu`` carry the 2020 CPU/GPU models moved to the
phone's chip figures (no public iOS 16+ timings of those units exist), and their
provenance says so.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from nas.fsutil import write_atomic
from nas.hardware.devices import get_device
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all
from nas.latency.costmodel.calibrate import PHONES as PHONES_2020, _rel, table_name
from nas.latency.costmodel.atoms import FUSIONS
from nas.latency.costmodel.fit import Dataset
from nas.latency.costmodel.priors import prior_for
from nas.latency.costmodel.tables import MODEL_NAME, MODEL_VERSION, build_table, coverage, natural
from nas.latency.costmodel.today_data import (ATTENTION_NOTE, DOCS_FILE, REFERENCE, REFERENCE_LEVEL, TEST_ROWS,
                                              TODAY_FILE, load_today, row_label)
from nas.latency.costmodel.today_fit import (DROP, FLOOR_PRIOR, cross_validate, fit_2020, fit_today, floor_group,
                                             predict, summarize_cv)
from nas.latency.regime import DEFAULT_RUNTIME, RUNTIMES
from nas.latency.table import save_table
from nas.latency.units import PREDICTED as PREDICTED_UNITS

TODAY_PHONES = ("iphonexs", "iphone11", "iphone12", "iphone13", "iphone13pro", "iphone14", "iphone15", "iphone15pro",
                "iphone16", "iphone16e", "iphone16pro", "iphone17", "iphone17e", "iphoneair", "iphone17pro")
REF_2020 = "iphone11"     # the 2020 fit's phone whose shared CPU/GPU values are moved to other chips
UNITS = ("cpu", "gpu", "ane")
TABLE_OS = "17"           # the ANE tables' per-inference floor: iOS 17 or later
TABLE_OS_TEXT = "iOS 17 or later"
FLOOR_NOTE = ("the per-inference floor (overhead) depends on the OS a row records, not on the chip: rows of iOS 17+ "
              "(Apple's coremltools docs, Xcode 15, A16 / A17 Pro) fit a lower one than rows of iOS 16 or no stated "
              "OS; these tables use the iOS 17+ floor. Only 4 rows (2 models) record iOS 17: the floor's drop is "
              "measured on MobileNetV2 and ResNet-50 alone (experiments/today_speed/README.md)")


def calibrate_today(out_dir: str | Path | None, report_path: str | Path | None, *, cv: bool = True,
                    phones=TODAY_PHONES, files_2020=DEFAULT_FILES, today_file=TODAY_FILE, docs_file=DOCS_FILE,
                    on_fold=None) -> dict:
    rows2020, _ = load_all(files_2020)
    fits2020 = fit_2020(rows2020, PHONES_2020)
    rows, excluded, tests = load_today(today_file, docs_file)
    ds = Dataset(rows + tests, DROP)
    keep = np.arange(len(ds.rows)) < len(rows)
    model = fit_today(ds, keep, fits2020, REF_2020)
    pred = predict(model, ds, range(len(ds.rows)))
    in_sample = [{"row": row_label(r), "measured_ms": r.ms, "predicted_ms": round(float(p), 4),
                  "calibration": bool(k)} for r, p, k in zip(ds.rows, pred, keep)]
    cv_rows = cross_validate(Dataset(rows, DROP), fits2020, REF_2020, on_fold) if cv else []
    report = {
        "model": MODEL_NAME, "model_version": MODEL_VERSION, "runtime": DEFAULT_RUNTIME,
        "runtime_meaning": RUNTIMES[DEFAULT_RUNTIME],
        "calibration": {"file": _rel(today_file), "rows": len(rows), "reference_source": REFERENCE,
                        "also": (f"{_rel(docs_file)}: the coremltools_docs sources (A16, A17 Pro)"
                                 if docs_file else None),
                        "reference_level_sources": REFERENCE_LEVEL, "compute_units": "MLComputeUnits.all",
                        "rows_per_source": dict(sorted(Counter(r.source for r in rows).items())),
                        "rows_per_device": dict(sorted(Counter(r.device for r in rows).items())),
                        "models": sorted({r.model for r in rows})},
        "cpu_gpu_from": {"files": [_rel(f) for f in files_2020], "phone": REF_2020,
                         "note": "2020 CPU/GPU models (NeuralNetwork .mlmodel, iOS 13) moved to each chip's "
                                 "published figures: no public iOS 16+ .cpuOnly/.cpuAndGPU timings to refit them"},
        "regime_term": {"ane_rules_dropped": [d for d in DROP if d not in FUSIONS],
                        **({"ane_fusions": {f: FUSIONS[f] for f in DROP if f in FUSIONS}}
                           if any(f in FUSIONS for f in DROP) else {}), "refitted": "every ANE parameter incl. the per-network "
                        "overhead", "source_offsets": {k: round(v, 4) for k, v in sorted(model.offsets.items())}},
        "excluded": _excluded(excluded), "attention_models": ATTENTION_NOTE,
        "test_rows": sorted(f"{s}:{m}@{d}" for s, m, d in TEST_ROWS),
        "fitted_parameters": {p: natural(f.theta) for p, f in model.ane.items() if f.fitted},
        "floor": _floor(model, rows),
        "in_sample": in_sample,
        "in_sample_median_ape_pct": _med([r for r in in_sample if r["calibration"]]),
        "test_rows_ape_pct": [round(abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100, 1)
                              for r in in_sample if not r["calibration"]],
        "cv": cv_rows, "cv_summary": summarize_cv(cv_rows) if cv else {},
    }
    if out_dir is not None:
        write_today_tables(report, model, rows, Path(out_dir), phones, rows2020)
    if report_path is not None:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(report_path, json.dumps(report, indent=1) + "\n")
    return report


def _floor(model, rows) -> dict:
    """The fitted per-inference floor per OS group, with the rows behind each."""
    rep = next(p for p, f in model.ane.items() if f.fitted)
    ms = {"ios16_or_unstated": float(np.exp(model.theta(rep)["overhead"]) * 1e3)}
    ms.update({g: float(np.exp(model.theta(rep)["overhead"] + v) * 1e3) for g, v in model.floor_shift.items()})
    groups = Counter(floor_group(r.os) or "ios16_or_unstated" for r in rows)
    return {"overhead_ms": {k: round(v, 4) for k, v in ms.items()}, "rows": dict(sorted(groups.items())),
            "rows_by_os": dict(sorted(Counter(r.os or "not stated" for r in rows).items())),
            "prior_width_log": FLOOR_PRIOR, "tables_assume": TABLE_OS_TEXT, "note": FLOOR_NOTE}


def _med(sel) -> float | None:
    e = [abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in sel]
    return round(float(np.median(e)), 1) if e else None


def _excluded(excluded) -> dict:
    by_reason: dict[str, set] = {}
    for e in excluded:
        by_reason.setdefault(e.reason, set()).add(f"{e.source}:{e.model}")
    return {reason: sorted(v) for reason, v in sorted(by_reason.items())}


def _cv_for(report: dict, phone: str) -> dict:
    s = report.get("cv_summary") or {}
    chip = get_device(phone).chip
    out = {}
    for kind, name in (("model", "leave_one_model_out"), ("source", "leave_one_source_out"),
                       ("phone", "leave_one_phone_out")):
        k = s.get(kind) or {}
        out[name] = {"overall": k.get("overall"), "this_chip": (k.get("per_chip") or {}).get(chip),
                     "per_device": k.get("per_device")}
    return out


def write_today_tables(report: dict, model, rows, out_dir: Path, phones, rows2020=()) -> list[Path]:
    """``rows2020``: the 2020 rows whose CPU/GPU models the cpu/gpu tables carry (their coverage)."""
    layers = coverage(sorted({r.spec for r in rows}, key=lambda s: s.name))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p in phones:
        fits = model.unit_fits(p, TABLE_OS)
        chip = get_device(p).chip
        fitted_chip = any(get_device(r.device).chip == chip for r in rows)
        for unit in UNITS:
            prov = {"model": MODEL_NAME, "model_version": MODEL_VERSION, "runtime_meaning": report["runtime_meaning"],
                    "form": "roofline per Core ML layer + launch cost + ANE fallback/transfers + network overhead "
                            "(nas/latency/costmodel/model.py); one model across chips (today_fit.py)",
                    "priors": {k: prior_for(p, unit).sources[k] for k in ("peak", "bw")},
                    "fitted_parameters": natural(fits[unit].theta),
                    "note": "predicted, not measured: replace with `nas profile-ops` + `nas tables import`",
                    # the setting of the timings it was fitted to (nas.latency.units): .all for the ANE table
                    "compute_units": "MLComputeUnits." + PREDICTED_UNITS[unit]}
            if unit == "ane":
                cvp = _cv_for(report, p)
                # a fitted chip quotes its leave-one-model-out error; another chip the leave-one-phone-out one
                kind = "leave_one_model_out" if fitted_chip else "leave_one_phone_out"
                err = (cvp[kind]["this_chip"] if fitted_chip else cvp[kind]["overall"]) or {}
                prov.update({
                    "calibration": report["calibration"], "regime_term": report["regime_term"],
                    "calibration_chip": chip if fitted_chip else f"none: no {chip} rows; this chip's published "
                                                                  f"figures with the fitted chips' shared values",
                    "loo_mape_pct": err.get("median_ape_pct"), "loo_kind": kind, "cross_validation": cvp,
                    "os_assumed": TABLE_OS_TEXT, "floor": report["floor"],
                    "excluded_rows": report["excluded"], "attention_models": report["attention_models"],
                    "test_rows": report["test_rows"]})
            else:
                prov.update({"calibration": report["cpu_gpu_from"], "loo_mape_pct": None,
                             "regime_calibrated": False})
            specs = ([r.spec for r in rows] if unit == "ane" else
                     [r.spec for r in rows2020 if r.phone == REF_2020 and r.unit == unit])
            table = build_table(p, unit, fits, layers, prov, DEFAULT_RUNTIME, specs)
            path = out_dir / table_name(p, unit, DEFAULT_RUNTIME)
            save_table(table, path)
            written.append(path)
    return written


def format_today(report: dict) -> str:
    c = report["calibration"]
    lines = [f"{report['runtime']}: {c['rows']} rows from {c['file']} (reference source {c['reference_source']}); "
             f"in-sample median APE {report['in_sample_median_ape_pct']}%; held-out test rows "
             f"{', '.join(report['test_rows'])}: APE {report['test_rows_ape_pct']}%",
             "  source offsets (log): " + ", ".join(f"{k} {v:+.3f}" for k, v in
                                                    report["regime_term"]["source_offsets"].items()),
             "  per-inference floor (ms): " + ", ".join(f"{k} {v}" for k, v in report["floor"]["overhead_ms"].items())
             + f"; tables assume {report['floor']['tables_assume']}"]
    for kind, v in (report.get("cv_summary") or {}).items():
        lines.append(f"  leave-one-{kind}-out: overall {v['overall']['median_ape_pct']}% (n={v['overall']['n']}); "
                     + ", ".join(f"{d} {x['median_ape_pct']}%" for d, x in v["per_device"].items()))
    return "\n".join(lines)
