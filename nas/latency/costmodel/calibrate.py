"""One call that refits the cost model, cross-validates it and rewrites the predicted tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nas.arch.yaml_io import read_yaml
from nas.fsutil import json_text, write_atomic
from nas.latency.costmodel.calibdata import PUBLIC_SOURCES, Row, load_all
from nas.latency.costmodel.fit import UNIT_ORDER, Dataset, fit_all, loo, predict_rows, summarize
from nas.latency.costmodel.priors import prior_for
from nas.latency.costmodel.tables import MODEL_NAME, MODEL_VERSION, build_table, coverage, natural
from nas.latency.regime import ARTICLE_RUNTIME
from nas.latency.table import save_table


def table_name(phone: str, unit: str, runtime: str) -> str:
    """Shipped predicted tables name their regime: ``iphone11-cpu.coreml-neuralnetwork-ios13.yaml``."""
    return f"{phone}-{unit}.{runtime}.yaml"


PHONES = ("iphone11", "iphonexs", "iphonex")
ARTICLE = ("M. Hollemans, 'New mobile neural network architectures' (machinethink.net, April 2020): Core ML, "
           "mean of a 100-prediction loop, .cpuOnly/.cpuAndGPU/.all")


def _rel(p) -> str:
    root = Path(__file__).resolve().parents[3]
    try:
        return str(Path(p).resolve().relative_to(root))
    except ValueError:
        return str(p)


def _file_sources(files, rows: list[Row]) -> list[dict]:
    out = []
    for f in files:
        stem = Path(f).stem
        used = [r for r in rows if r.source == stem or (not r.article and stem.startswith("public"))]
        if stem == "coreml_iphone_latency_2020":
            src = ARTICLE
        elif stem.startswith("public"):
            src = "; ".join(f"{k}: {v[1]}" for k, v in PUBLIC_SOURCES.items())
        else:
            data = read_yaml(f)
            src = str(data.get("source", "user-supplied timings")) if isinstance(data, dict) else "user-supplied timings"
        out.append({"file": _rel(f), "source": src, "rows": len(used)})
    return out


def calibrate(files, out_dir: str | Path | None, report_path: str | Path | None, *, cv: bool = True,
              phones=PHONES, on_fold=None) -> dict:
    """Fit, cross-validate (leave one model out), write tables and the JSON report; return the report.
    ``on_fold(done, total, label)``: called after each cross-validation refit (progress)."""
    rows, skipped = load_all(files)
    ds = Dataset(rows)
    fits = fit_all(ds, phones)
    joint = {u: max(fits[p][u].joint_params for p in phones) for u in UNIT_ORDER}
    in_sample = []
    for p in phones:
        idx = [i for i, r in enumerate(rows) if r.phone == p and r.article]
        for i, v in zip(idx, predict_rows(ds, fits[p], idx)):
            in_sample.append({"model": rows[i].model, "phone": p, "unit": rows[i].unit,
                              "measured_ms": rows[i].ms, "predicted_ms": round(float(v), 4)})
    cv_rows = loo(ds, phones, on_fold) if cv else []
    for r in cv_rows:
        r["predicted_ms"] = round(r["predicted_ms"], 4)
    summary = summarize(cv_rows) if cv else {}
    report = {
        "model": MODEL_NAME, "model_version": MODEL_VERSION,
        "calibration": _file_sources(files, rows),
        "skipped_models": {_rel(k): v for k, v in skipped.items() if v},
        "n_fitted_parameters_per_unit": joint,
        "fits": {p: {u: {"fitted": f.fitted, "rows": f.n_rows, "phone_parameters": f.own_params,
                         "parameters": natural(f.theta), "source_offsets": {k: round(v, 4) for k, v in
                                                                            f.offsets.items()}}
                     for u, f in fits[p].items()} for p in phones},
        "n_fitted_parameters_total": sum(joint.values()),
        "in_sample": in_sample, "in_sample_summary": summarize(in_sample),
        "loo": cv_rows, "loo_summary": summary,
    }
    if out_dir is not None:
        write_tables(report, fits, rows, Path(out_dir), phones)
    if report_path is not None:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(report_path, json_text(report, indent=1, sort_keys=False) + "\n")
    return report


def write_tables(report: dict, fits: dict, rows: list[Row], out_dir: Path, phones) -> list[Path]:
    layers = coverage(sorted({r.spec for r in rows}, key=lambda s: s.name))   # every fitted network
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    s = report.get("loo_summary") or {}
    for p in phones:
        for unit in UNIT_ORDER:
            f = fits[p][unit]
            src_unit = unit if f.fitted else "gpu"
            pu = (s.get("per_phone_unit") or {}).get(f"{p}/{src_unit}", {})
            prior = prior_for(p, src_unit)
            prov = {
                "model": MODEL_NAME, "model_version": MODEL_VERSION,
                "form": "roofline per Core ML layer + launch cost + ANE fallback/transfers + network overhead "
                        "(nas/latency/costmodel/model.py)",
                "calibration": report["calibration"],
                "calibration_models": sorted({r.model for r in rows if r.phone == p and r.unit == src_unit}),
                "models_not_buildable": report["skipped_models"],
                "n_fitted_parameters": {"this_phone": fits[p][src_unit].own_params,
                                        "joint_fit_over_phones": report["n_fitted_parameters_per_unit"][src_unit]},
                "fitted_parameters": natural(fits[p][src_unit].theta),
                "priors": {k: prior.sources[k] for k in ("peak", "bw")},
                "loo_mape_pct": pu.get("median_ape_pct"),
                "loo_spearman": pu.get("spearman"),
                "loo_mape_pct_unit": ((s.get("per_unit") or {}).get(src_unit) or {}).get("median_ape_pct"),
                "loo_mape_pct_overall": s.get("overall_median_ape_pct"),
                "note": "predicted, not measured: replace with `nas profile-ops` + `nas tables import`",
            }
            specs = [r.spec for r in rows if r.phone == p and r.unit == src_unit]
            table = build_table(p, unit, fits[p], layers, prov, ARTICLE_RUNTIME, specs)
            path = out_dir / table_name(p, unit, ARTICLE_RUNTIME)
            save_table(table, path)
            written.append(path)
    return written


def format_report(report: dict) -> str:
    """Human-readable fit report (the CLI prints this)."""
    lines = [f"{report['model']} {report['model_version']}: "
             f"{report['n_fitted_parameters_total']} fitted parameters in all (per unit, joint over phones: "
             + ", ".join(f"{u} {n}" for u, n in report["n_fitted_parameters_per_unit"].items()) + ")"]
    for c in report["calibration"]:
        lines.append(f"  data {c['file']}: {c['rows']} rows")
    for k, v in report["skipped_models"].items():
        lines.append(f"  not buildable from {k}: {', '.join(sorted(set(v)))}")
    for p, units in report["fits"].items():
        for u, f in units.items():
            if f["fitted"]:
                lines.append(f"  {p}/{u}: {f['rows']} rows, {f['phone_parameters']} own parameters: " +
                             ", ".join(f"{k}={v:g}" for k, v in f["parameters"].items()))
            else:
                lines.append(f"  {p}/{u}: no measurements (ane-rules G1 on A11: uses the gpu model)")
    s = report.get("loo_summary")
    if s:
        lines.append(f"leave-one-model-out: overall median APE {s['overall_median_ape_pct']}%")
        for u, v in s["per_unit"].items():
            lines.append(f"  {u}: median APE {v['median_ape_pct']}% (n={v['n']})")
        for k, v in s["per_phone_unit"].items():
            lines.append(f"  {k}: median APE {v['median_ape_pct']}%, Spearman {v['spearman']} (n={v['n']})")
    ins = report["in_sample_summary"]
    lines.append(f"in-sample (fitted on all): overall median APE {ins['overall_median_ape_pct']}%")
    return "\n".join(lines)


def median_ape(rows: list[dict]) -> float:
    return float(np.median([abs(r["predicted_ms"] / r["measured_ms"] - 1) for r in rows])) * 100
