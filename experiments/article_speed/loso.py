"""Leave-one-source-out for the 2020 regime: each calibration source predicted by a fit on the others.

The 2020 regime has two sources: the article's table (Hollemans 2020; iPhone X, XS and 11, the whole-model
timings format) and the public iPhone 11 Pro zoo (chernykh, iOS 13.5.1: MobileNet v2 widths and resolutions,
VGG; it stands for the iPhone 11, same A13). Leaving one out refits the cost model (``nas tables calibrate``'s
fit, from the prior centre) on the other alone and predicts every row of the left-out source on the phones
the remaining rows still fit; rows of a (phone, unit) the remaining rows cannot fit (the iPhone X and XS when
the article is left out) are counted as not predictable, not as errors. The public source is predicted
without its offset, which is what leaving a source out means. Per phone and unit: median |error| and n.

Usage: python experiments/article_speed/loso.py   (writes loso.json and loso.md beside this file, ~1 min)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nas.fsutil import write_atomic
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all
from nas.latency.costmodel.fit import UNIT_ORDER, Dataset, fit_all, predict_rows
from nas.latency.costmodel.tables import MODEL_VERSION
from nas.latency.costmodel.calibrate import PHONES

HERE = Path(__file__).parent


def loso(ds: Dataset, phones) -> tuple[list[dict], dict[str, int]]:
    results, unpredictable = [], {}
    src = np.array([r.source for r in ds.rows])
    for left_out in sorted(set(src)):
        fits = fit_all(ds, phones, keep=src != left_out)
        for phone in phones:
            idx = [i for i, r in enumerate(ds.rows) if r.source == left_out and r.phone == phone]
            for i, p in zip(idx, predict_rows(ds, fits[phone], idx) if idx else []):
                r = ds.rows[i]
                if not fits[phone][r.unit].fitted:
                    unpredictable[left_out] = unpredictable.get(left_out, 0) + 1
                    continue
                results.append({"left_out": left_out, "model": r.model, "phone": phone, "unit": r.unit,
                                "measured_ms": r.ms, "predicted_ms": round(float(p), 4)})
    return results, unpredictable


def main() -> None:
    rows, _ = load_all(DEFAULT_FILES)
    ds = Dataset(rows)
    results, unpredictable = loso(ds, PHONES)

    def med(sel):
        e = [abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in sel]
        return (round(float(np.median(e)), 1) if e else None), len(e)

    def shape(sel):
        """The same after one level per (phone, unit) taken from the left-out rows themselves (their median
        ratio): what is left is the shape error, the protocol's level removed."""
        out = []
        for key in {(r["phone"], r["unit"]) for r in sel}:
            part = [r for r in sel if (r["phone"], r["unit"]) == key]
            level = float(np.median([r["predicted_ms"] / r["measured_ms"] for r in part]))
            out += [{**r, "predicted_ms": r["predicted_ms"] / level} for r in part]
        return med(out)

    summary = {}
    for s in sorted({r["left_out"] for r in results}):
        sel = [r for r in results if r["left_out"] == s]
        summary[s] = {"overall": med(sel), "shape_only": shape(sel), "not_predictable_rows": unpredictable.get(s, 0),
                      "per_phone_unit": {f"{p}/{u}": med([r for r in sel if r["phone"] == p and r["unit"] == u])
                                         for p in PHONES for u in UNIT_ORDER
                                         if any(r["phone"] == p and r["unit"] == u for r in sel)}}
    out = {"cost_model": MODEL_VERSION, "command": "python experiments/article_speed/loso.py",
           "files": [str(Path(f).relative_to(HERE.parent.parent)) for f in DEFAULT_FILES], "summary": summary, "rows": results}
    write_atomic(HERE / "loso.json", json.dumps(out, indent=1) + "\n")
    lines = [f"# Leave one source out, 2020 regime (cost model {MODEL_VERSION})", "",
             "Median |error| (n) of each left-out source's rows, predicted by a fit on the other source alone "
             "(no offset for the left-out source). *Shape only*: the same after dividing each (phone, unit)'s "
             "predictions by their median ratio to the left-out rows, i.e. with the source's own level removed.", "",
             "| left out | overall | shape only | " + " | ".join(f"{p}/{u}" for p in PHONES for u in UNIT_ORDER) + " | rows not predictable |",
             "|---|---|---|" + "---|" * (len(PHONES) * len(UNIT_ORDER)) + "---|"]
    for s, v in summary.items():
        cells = [v["per_phone_unit"].get(f"{p}/{u}") for p in PHONES for u in UNIT_ORDER]
        fmt = lambda c: "–" if not c or c[0] is None else f"{c[0]} % ({c[1]})"  # noqa: E731
        lines.append(f"| {s} | {fmt(v['overall'])} | {fmt(v['shape_only'])} | " + " | ".join(fmt(c) for c in cells)
                     + f" | {v['not_predictable_rows']} |")
    write_atomic(HERE / "loso.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
