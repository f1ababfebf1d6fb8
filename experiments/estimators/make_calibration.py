"""Writes ``imagenet_calibration.yaml``: published ImageNet-1k top-1 of models that are NOT among the zoo's 36.

The calibration set fits the ImageNet-side weight of the task-aware estimator (``fit_capacity.py``), so it
must be disjoint from the zoo models scored as transfer. Each model is written out in the DSL at its own input
resolution, from the width rule of its reference implementation (below), with the figures and the source they
were copied from. ``tests/test_estimators_calibration.py`` checks each model's parameter count against the
published one and that no entry is a zoo model with a top-1.

Sources (every figure below was read off these; none is from memory):
  tfslim_v1   tensorflow/models research/slim/nets/mobilenet_v1.md, "Pre-trained Models" table
              (Million MACs, Million Parameters, Top-1): the 16 width x resolution checkpoints
  tfslim_v2   tensorflow/models research/slim/nets/mobilenet/README.md, "Imagenet Checkpoints" table
              (MACs (M), Parameters (M), Top 1): the 22 checkpoints (also tf.keras.applications.mobilenet_v2 docs)
  torchvision pytorch.org/vision/stable/models: each builder's IMAGENET1K_V1 weights (acc@1, num_params)
  mnv3_paper  Howard et al. 2019, Searching for MobileNetV3, Table 3 (Large 0.75: 73.3 top-1, 155M MAdds, 4.0M)

Usage: python experiments/estimators/make_calibration.py   (rewrites imagenet_calibration.yaml)
"""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).parent
OUT = HERE / "imagenet_calibration.yaml"

SOURCES = {
    "tfslim_v1": "tensorflow/models research/slim/nets/mobilenet_v1.md, table 'Pre-trained Models' (MobileNet_v1_<width>_<res>: Million MACs, Million Parameters, Top-1, Top-5)",
    "tfslim_v2": "tensorflow/models research/slim/nets/mobilenet/README.md, table 'Imagenet Checkpoints' (mobilenet_v2_<width>_<res>: MACs (M), Parameters (M), Top 1, Top 5); the same table is in the tf.keras.applications.mobilenet_v2 docs",
    "torchvision": "pytorch.org/vision/stable/models/generated/torchvision.models.<builder>.html, <Builder>_Weights.IMAGENET1K_V1: acc@1 (on ImageNet-1K), num_params",
    "mnv3_paper": "Howard et al. 2019, Searching for MobileNetV3 (arXiv:1905.02244), Table 3: Large 0.75 at 224, 73.3 top-1, 155M MAdds, 4.0M params",
}

# tfslim_v1: (width, resolution) -> (Million Parameters, Top-1). 1.0_224 is a zoo model (left out).
V1 = {(1.0, 192): (4.24, 70.0), (1.0, 160): (4.24, 68.0), (1.0, 128): (4.24, 65.2),
      (0.75, 224): (2.59, 68.4), (0.75, 192): (2.59, 67.2), (0.75, 160): (2.59, 65.3), (0.75, 128): (2.59, 62.1),
      (0.5, 224): (1.34, 63.3), (0.5, 192): (1.34, 61.7), (0.5, 160): (1.34, 59.1), (0.5, 128): (1.34, 56.3),
      (0.25, 224): (0.47, 49.8), (0.25, 192): (0.47, 47.7), (0.25, 160): (0.47, 45.5), (0.25, 128): (0.47, 41.5)}
# tfslim_v2: (width, resolution) -> (Parameters (M), Top 1). 1.4_224, 1.0_224 and 0.75_224 are zoo models.
V2 = {(1.3, 224): (5.34, 74.4),
      (1.0, 192): (3.47, 70.7), (1.0, 160): (3.47, 68.8), (1.0, 128): (3.47, 65.3), (1.0, 96): (3.47, 60.3),
      (0.75, 192): (2.61, 68.7), (0.75, 160): (2.61, 66.4), (0.75, 128): (2.61, 63.2), (0.75, 96): (2.61, 58.8),
      (0.5, 224): (1.95, 65.4), (0.5, 192): (1.95, 63.9), (0.5, 160): (1.95, 61.0), (0.5, 128): (1.95, 57.7),
      (0.5, 96): (1.95, 51.2),
      (0.35, 224): (1.66, 60.3), (0.35, 192): (1.66, 58.2), (0.35, 160): (1.66, 55.7), (0.35, 128): (1.66, 50.8),
      (0.35, 96): (1.66, 45.5)}


def _v1(width: float, res: int) -> str:
    """TF-slim mobilenet_v1: every depth d becomes max(int(d * width), 8); ReLU6; 1000-way logits."""
    d = lambda c: max(int(c * width), 8)  # noqa: E731
    ds = lambda c, s: f"ds_k3_s{s}_c{d(c)}_arelu6"  # noqa: E731
    stages = [f"conv_k3_s2_c{d(32)}_arelu6", ds(64, 1), f"{ds(128, 2)},{ds(128, 1)}", f"{ds(256, 2)},{ds(256, 1)}",
              ",".join([ds(512, 2)] + [ds(512, 1)] * 5), f"{ds(1024, 2)},{ds(1024, 1)}", "gap,fc_c1000"]
    return f"{res}:" + "|".join(stages)


def _make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _v2(width: float, res: int) -> str:
    """TF-slim mobilenet_v2 (V2_DEF): channels make_divisible(c * width, 8); the last 1x1 conv stays 1280
    below width 1 and is scaled above it; ReLU6; 1000-way logits."""
    c = lambda ch: _make_divisible(ch * width)  # noqa: E731
    ir = lambda r, s, ch: (f"ir_r{r}_" if r > 1 else "ir_") + f"k3_s{s}_e6_c{c(ch)}_arelu6"  # noqa: E731
    last = c(1280) if width > 1 else 1280
    stages = [f"conv_k3_s2_c{c(32)}_arelu6", f"ir_k3_s1_e1_c{c(16)}_arelu6", ir(2, 2, 24), ir(3, 2, 32),
              ir(4, 2, 64), ir(3, 1, 96), ir(3, 2, 160), ir(1, 1, 320), f"conv_k1_s1_c{last}_arelu6,gap,fc_c1000"]
    return f"{res}:" + "|".join(stages)


def _resnet(blocks: list[int], bottleneck: bool) -> str:
    """torchvision resnet: 7x7/2 stem + 3x3/2 max pool, basic or bottleneck (stride on the 3x3) stages."""
    out = ["conv_k7_s2_c64,pool_tmax_k3_s2_p1"]
    for i, (n, w) in enumerate(zip(blocks, (64, 128, 256, 512))):
        s = 1 if i == 0 else 2
        if bottleneck:
            first, rest = f"bottleneck_s{s}_c{4 * w}_m{w}", f"bottleneck_r{n - 1}_s1_c{4 * w}_m{w}"
        else:
            first, rest = f"basic_s{s}_c{w}", f"basic_r{n - 1}_s1_c{w}" if n > 2 else f"basic_s1_c{w}"
        out.append(f"{first},{rest}")
    return "224:" + "|".join(out + ["gap,fc_c1000"])


def entries() -> list[dict]:
    rows = []
    for (w, r), (p, t) in V1.items():
        rows.append({"name": f"mobilenet_v1_{w}_{r}", "family": "mobilenet_v1", "arch": _v1(w, r), "top1": t,
                     "params_m": p, "params_counted": "tfslim_v1", "source": "tfslim_v1"})
    for (w, r), (p, t) in V2.items():
        rows.append({"name": f"mobilenet_v2_{w}_{r}", "family": "mobilenet_v2", "arch": _v2(w, r), "top1": t,
                     "params_m": p, "params_counted": "no_bn", "source": "tfslim_v2"})
    for name, blocks, bott, top1, params in (("resnet_18", [2, 2, 2, 2], False, 69.758, 11_689_512),
                                             ("resnet_34", [3, 4, 6, 3], False, 73.314, 21_797_672),
                                             ("resnet_101", [3, 4, 23, 3], True, 77.374, 44.5),
                                             ("resnet_152", [3, 8, 36, 3], True, 78.312, 60_192_808)):
        count = {"params": params} if isinstance(params, int) else {"params_m": params}   # 101: only "44.5M" was
        rows.append({"name": name, "family": "resnet", "arch": _resnet(blocks, bott), "top1": top1,   # read here
                     **count, "params_counted": "all", "source": "torchvision"})
    rows.append({"name": "shufflenet_v2_0_5", "family": "shufflenet_v2", "top1": 60.552, "params": 1_366_792,
                 "params_counted": "all", "source": "torchvision",
                 "arch": "224:conv_k3_s2_c24,pool_tmax_k3_s2_p1|splitshuffle_k3_s2_c48,splitshuffle_r3_k3_s1_c48|"
                         "splitshuffle_k3_s2_c96,splitshuffle_r7_k3_s1_c96|"
                         "splitshuffle_k3_s2_c192,splitshuffle_r3_k3_s1_c192|conv_k1_s1_c1024,gap,fc_c1000"})
    rows.append({"name": "mobilenet_v3_large_0_75", "family": "mobilenet_v3", "zoo": "mobilenet_v3_large_0_75",
                 "top1": 73.3, "params_m": 4.0, "params_counted": "all", "source": "mnv3_paper"})
    return rows


def main() -> None:
    doc = {"about": "Published ImageNet-1k top-1 of models not among the zoo's 36 (written by make_calibration.py; "
                    "the calibration set of fit_capacity.py)", "sources": SOURCES, "models": entries()}
    OUT.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    print(f"{len(doc['models'])} models -> {OUT}")


if __name__ == "__main__":
    main()
