"""Calibration rows of today's regime (Core ML ML programs, iOS 16+) from the public 2022+ timings.

``calibration/public_coreml_latency_2022plus.yaml`` (a copy of the project's
shared file, every row with its source, protocol notes and flags) times
image-classification backbones on iPhone 12 / 12 Pro / 12 Pro Max (A14) and
iPhone 13 (A15), all with Core ML's default compute units (``.all``; Apple's docs
below add A16 and A17 Pro). Here each
row becomes a ``Row`` when this project can build its model (``MODEL_MAP``);
everything else is listed with the reason (``Excluded``). ``phone`` is the
chip's representative (``CHIP_PHONE``, e.g. A14 -> iphone12): one parameter set per
chip, the measured phone kept in ``device`` (leave-one-phone-out uses it).

Sources: ``REFERENCE`` (the MobileNetV4 paper: fp16 ML program on iOS 16.6.1,
coremltools 7.1 -- exactly what ``nas export`` writes) has no offset, and neither
has any source of the same protocol (``REFERENCE_LEVEL``: Xcode's Core ML
performance report, median prediction, compute units All, iOS 16+): one protocol,
one level, so data from the phones those sources timed fixes the chips' levels
instead of being absorbed by a per-source offset. Every other source (the
ModelBench app, or tool not stated) gets one multiplicative offset.

Apple's coremltools documentation (``DOCS_FILE``, the ``coremltools_docs_*``
sources: Xcode 15 performance tab, fp16 ML programs, iOS 17) adds the only public
A16 (iPhone 14 Pro) and A17 Pro (iPhone 15 Pro) timings of models this project
builds: MobileNetV2 and ResNet-50 (MobileNetV3-Small is a held-out article model).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from nas.arch.yaml_io import read_yaml
from nas.errors import SpecError
from nas.latency.costmodel.builders import mobilenet_v2
from nas.latency.costmodel.calibdata import CALIB_DIR, Row, _check_time, _decimals, _sigma

TODAY_FILE = CALIB_DIR / "public_coreml_latency_2022plus.yaml"
DOCS_FILE = CALIB_DIR / "public_coreml_latency.yaml"
REFERENCE = "mnv4_t6"
# source -> why its protocol is the reference's (Xcode's Core ML performance report, compute units All, iOS 16+)
REFERENCE_LEVEL = {
    "mnv4_t6": "the reference: Xcode 15 profiling, iOS 16.6.1, fp16 ML program (Appendix 0.B)",
    "repvit": "Xcode 14 benchmark tool (Core ML performance report), iOS 16, Compute Units All (README, screenshot)",
    "efficientformer": "V2 rows: Xcode 14 benchmark tool, iOS 16 (README); V1 rows are excluded",
    "iformer": "Core ML Tools on iOS, 'as done in' EfficientFormerV2 and RepViT (Xcode's benchmark tool)",
    "coremltools_docs": "Xcode 15 performance tab, median, compute unit selection all, fp16 ML program, iOS 17",
}
CHIP_PHONE = {"A14": "iphone12", "A15": "iphone13", "A16": "iphone15", "A17_Pro": "iphone15pro"}
DEVICE_OF = (("iPhone 12 Pro Max", "iphone12promax", "A14"), ("iPhone 12 Pro", "iphone12pro", "A14"),
             ("iPhone 12", "iphone12", "A14"), ("iPhone 13", "iphone13", "A15"),
             ("iPhone 14 Pro", "iphone14pro", "A16"), ("iPhone 15 Pro", "iphone15pro", "A17_Pro"))
# coremltools docs (public_coreml_latency.yaml) model -> (zoo model or mobilenet_v2 width, family, model text)
DOCS_MODELS = {"mobilenet_v2": (1.0, "mobilenet_v2", "MobileNetV2"), "resnet50": ("resnet_50", "resnet", "ResNet-50"),
               "mobilenet_v3_small": ("mobilenet_v3_small", "mobilenet_v3", "MobileNetV3-Small")}
# The OS of a row: the row's own device text ("iPhone 13 (iOS 16.6.1)"), else its source's statement below,
# else the source file's ``os`` field (Apple's docs: "iOS 17 (Xcode 15)"); "" where nothing says.
SOURCE_OS = {
    "repvit": ("16", 'protocol: "iPhone 12 with iOS 16"; README: "iPhone 12 (iOS 16) uses the benchmark tool from '
                     'XCode 14"; screenshot: iOS 16.5.1'),
    "efficientformer": ("16", 'README: "The latency reported in EffcientFormerV2 for iPhone 12 (iOS 16)" (V2 rows; '
                              'the V1 rows are excluded)'),
}
APPROX_SIGMA = 0.15      # values read off a plot
HELD_OUT = {"mobilenet_v3_small", "fbnet_c", "ghostnet_1_0", "efficientnet_lite0"}   # the article's, never fitted
# (source, model text, device text): kept out of calibration to test a new-phone prediction (tests/test_today.py)
TEST_ROWS = {("iformer", "MobileNetV3-Large (1.0x)", "iPhone 13")}
SKIP_SOURCES = {
    "starnet_t6": "duplicate of starnet_t19's iPhone 12 column under an iPhone 13 caption (the file's flag)",
    "starnet_t14": "device not named (the file's flag)",
    "iformer_t5_512": "backbone-only timings at 512x512; the zoo models include their classifier",
    "recnext": "only RecNeXt models (recursive convs, interpolation, linear attention): not buildable",
}
NN_FORMAT = ("StarNet exports NeuralNetwork-format .mlmodel files: squeeze-excite / h-swish models are 6-20x and "
             "A14 ShuffleNetV2 5-11x slower than in every ML-program source (the file's flag) -- another regime")
EFORMER_V1 = ("EfficientFormer V1 era: coremltools 5.2 (NeuralNetwork format by default) timed with "
              "coreml-performance on an older iOS, 1.1-2x slower than the V2-era iOS 16 numbers (the file's flag: "
              "do not pool) -- another regime")
# base model text (before " (") -> (zoo model or mobilenet_v2 width, family)
MODEL_MAP = {
    "MobileNetV1": ("mobilenet_v1", "mobilenet_v1"), "MobileNetV1-1.0": ("mobilenet_v1", "mobilenet_v1"),
    "MobileNetV2": (1.0, "mobilenet_v2"), "MobileNetV2-1.0": (1.0, "mobilenet_v2"),
    "MobileNetV2-0.5": (0.5, "mobilenet_v2"), "MobileNetV2-1.4": (1.4, "mobilenet_v2"),
    "MobileNetV2 x1.4": (1.4, "mobilenet_v2"), "MobileNetV2x1.4": (1.4, "mobilenet_v2"),
    "MobileNetV2-1.5": (1.5, "mobilenet_v2"), "MobileNetV2-2.0": (2.0, "mobilenet_v2"),
    "MobileNetV3-Large": ("mobilenet_v3_large", "mobilenet_v3"),
    "MobileNetV3-Small": ("mobilenet_v3_small", "mobilenet_v3"),
    "EfficientNet-B0": ("efficientnet_b0", "efficientnet"), "EfficientNet-B1": ("efficientnet_b1", "efficientnet"),
    "EfficientNet-B2": ("efficientnet_b2", "efficientnet"),
    "ShuffleNetV2-1.0": ("shufflenet_v2_1_0", "shufflenet_v2"),
    "ShuffleNetV2-1.5": ("shufflenet_v2_1_5", "shufflenet_v2"),
    "ShuffleNetV2-2.0": ("shufflenet_v2_2_0", "shufflenet_v2"),
    "GhostNet-0.5": ("ghostnet_0_5", "ghostnet"), "GhostNet-1.0": ("ghostnet_1_0", "ghostnet"),
    "GhostNet-1.3": ("ghostnet_1_3", "ghostnet"),
    "MobileOne-S0": ("mobileone_s0", "mobileone"), "MobileOne-S1": ("mobileone_s1", "mobileone"),
    "MobileOne-S2": ("mobileone_s2", "mobileone"), "MobileOne-S3": ("mobileone_s3", "mobileone"),
    "MobileOne-S4": ("mobileone_s4", "mobileone"),
    "MNv4-Conv-S": ("mobilenet_v4_conv_s", "mobilenet_v4"), "MNv4-Conv-M": ("mobilenet_v4_conv_m", "mobilenet_v4"),
    "MNv4-Conv-L": ("mobilenet_v4_conv_l", "mobilenet_v4"),
    "MobileNetV3-Large-0.75": ("mobilenet_v3_large_0_75", "mobilenet_v3"),
    "MobileNetV3-Large-0.5": ("mobilenet_v3_large_0_5", "mobilenet_v3"),
    "MNASNet-A1": ("mnasnet_a1", "mnasnet"), "MixNet-S": ("mixnet_s", "mixnet"), "ResNet-50": ("resnet_50", "resnet"),
}
# Convolutional models in the file that the zoo does not have yet, with why (attention models: see ATTENTION_NOTE).
NOT_BUILT = {
    "MobileNetV3-Small-0.75": "only StarNet's NeuralNetwork-format rows (another regime, see NN_FORMAT): not built",
    "EfficientNet-B3": "not in the zoo yet (B0-B2 are)",
    "GhostNetV3-1.0x": "GhostNetV3's reparameterized ghost modules differ from the zoo's GhostNet v1",
    "GhostNetV3-1.3x": "GhostNetV3's reparameterized ghost modules differ from the zoo's GhostNet v1",
    "GhostNetV3-1.6x": "GhostNetV3's reparameterized ghost modules differ from the zoo's GhostNet v1",
    "FasterNet-T0": "partial convolution (conv on a channel slice) is not in the DSL",
    "FasterNet-T1": "partial convolution (conv on a channel slice) is not in the DSL",
}
ATTENTION_NOTE = ("attention / token-mixer models (ViTs, MobileViT, EfficientFormer, FastViT, StarNet, RepViT, SHViT, "
                  "iFormer, ...) are left out: the DSL has no attention, layer-norm or token-mixing blocks")


@dataclass(frozen=True)
class Excluded:
    source: str
    model: str
    device: str
    reason: str


def _device(text: str, file: str, where: str) -> tuple[str, str]:
    for prefix, name, chip in DEVICE_OF:
        if str(text).startswith(prefix):
            return name, chip
    raise SpecError(f"unknown device {text!r}", file=file, field=where)


def os_major(text) -> str:
    """The iOS major version named in ``text`` ("iPhone 13 (iOS 16.6.1)" -> "16"), or ""."""
    m = re.search(r"\biOS\s+(\d+)", str(text or ""))
    return m.group(1) if m else ""


def _spec(target, res):
    from nas import zoo
    from nas.arch.spec import NetSpec
    if isinstance(target, float):
        return mobilenet_v2(target, int(res or 224))
    spec = zoo.get(target).spec
    if res and tuple(spec.input_size) != (int(res),) * 2:
        spec = NetSpec(spec.name, (int(res),) * 2, spec.stages, spec.in_channels)
    return spec


def _source_id(src: dict, row: dict) -> str:
    if src["id"] == "efficientformer" and "V1" in str(row.get("table", "")):
        return "efficientformer_v1"
    return src["id"]


def _exclusion(src_id: str, base: str, target, chip: str, row: dict) -> str | None:
    if src_id == "starnet_t19" and (base.startswith(("MobileNetV3", "GhostNet")) or
                                    (base.startswith("ShuffleNetV2") and chip == "A14")):
        return NN_FORMAT
    if src_id == "efficientformer_v1":
        return EFORMER_V1
    if "re-implementation" in row["model"]:
        return "not the zoo model (GeLU re-implementation of MobileNetV3-L)"
    if target in HELD_OUT:
        return "held-out article model: prediction only, never fitted"
    return None


def load_today(path: str | Path = TODAY_FILE, docs: str | Path | None = DOCS_FILE
               ) -> tuple[list[Row], list[Excluded], list[Row]]:
    """(calibration rows, excluded rows with reasons, test rows kept out of calibration); ``docs``: the file
    with Apple's coremltools-docs timings (None: leave them out)."""
    file = str(path)
    data = read_yaml(path)   # unreadable, non-UTF-8 or malformed: SpecError naming the file
    if not isinstance(data, list):
        raise SpecError("expected a list of sources", file=file)
    rows, excluded, tests = [], [], []
    for si, src in enumerate(data):
        if isinstance(src, dict) and src.get("id") in SKIP_SOURCES:
            excluded += [Excluded(src["id"], r["model"], str(r["device"]), SKIP_SOURCES[src["id"]])
                         for r in src.get("rows", [])]
            continue
        if not isinstance(src, dict) or not isinstance(src.get("id"), str) or not isinstance(src.get("rows"), list):
            raise SpecError("each source is a mapping with an id and a list of rows", file=file, field=f"[{si}]")
        for ri, r in enumerate(src["rows"]):
            where = f"[{si}].rows[{ri}]"
            if not isinstance(r, dict) or not isinstance(r.get("model"), str) or "device" not in r:
                raise SpecError("a row is a mapping with model, device and ms", file=file, field=where)
            base = r["model"].split(" (")[0].strip()
            mapped = MODEL_MAP.get(base)
            if mapped is None:
                reason = NOT_BUILT.get(base, ATTENTION_NOTE if base not in NOT_BUILT else "")
                excluded.append(Excluded(src["id"], r["model"], str(r["device"]), reason))
                continue
            device, chip = _device(r["device"], file, where + ".device")
            sid = _source_id(src, r)
            reason = _exclusion(sid, base, mapped[0], chip, r)
            if reason:
                excluded.append(Excluded(sid, r["model"], str(r["device"]), reason))
                continue
            ms = _check_time(r.get("ms"), file, where + ".ms")
            # published to at least one decimal (1.0 is "1.0", not "1"); plot readings get APPROX_SIGMA
            sigma = _sigma(ms, max(1, _decimals(ms)))
            sigma = math.hypot(APPROX_SIGMA, sigma) if r.get("approx") else sigma
            spec = _spec(mapped[0], r.get("res"))
            os_ = os_major(r["device"]) or SOURCE_OS.get(sid, ("",))[0]
            row = Row(spec.name, mapped[1], sid, CHIP_PHONE[chip], "ane", ms, sigma, spec, sid in REFERENCE_LEVEL,
                      device, os_)
            (tests if (src["id"], r["model"], str(r["device"])) in TEST_ROWS else rows).append(row)
    if docs is not None:
        r2, e2 = load_docs(docs)
        rows, excluded = rows + r2, excluded + e2
    return rows, excluded, tests


def load_docs(path: str | Path = DOCS_FILE) -> tuple[list[Row], list[Excluded]]:
    """The float16 rows of Apple's coremltools docs (``coremltools_docs_*`` sources): A16 and A17 Pro phones.
    Their input size is not stated; the torchvision models they name take 224 x 224."""
    file = str(path)
    data = read_yaml(path)   # unreadable, non-UTF-8 or malformed: SpecError naming the file
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SpecError("expected a mapping with a list of sources", file=file, field="sources")
    rows, excluded = [], []
    for si, src in enumerate(data["sources"]):
        if not isinstance(src, dict) or not str(src.get("id", "")).startswith("coremltools_docs"):
            continue
        for ri, r in enumerate(src.get("rows") or []):
            where = f"sources[{si}].rows[{ri}]"
            if not isinstance(r, dict) or r.get("variant") != "float16":
                continue
            device, chip = _device(src.get("device", ""), file, f"sources[{si}].device")
            mapped = DOCS_MODELS.get(r.get("model"))
            reason = ("not buildable (attention model or detector)" if mapped is None else
                      "held-out article model: prediction only, never fitted" if mapped[0] in HELD_OUT else None)
            if reason:
                excluded.append(Excluded("coremltools_docs", str(r.get("model")), device, reason))
                continue
            ms = _check_time(r.get("all_ms"), file, where + ".all_ms")
            spec = _spec(mapped[0], 224)
            rows.append(Row(spec.name, mapped[1], "coremltools_docs", CHIP_PHONE[chip], "ane", ms,
                            _sigma(ms, max(1, _decimals(ms))), spec, True, device, os_major(src.get("os"))))
    return rows, excluded


def row_label(r: Row) -> str:
    return f"{r.source}:{r.model}@{r.device}"


def base_name(model_text: str) -> str:
    return re.split(r"\s+\(", model_text)[0].strip()
