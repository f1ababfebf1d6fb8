"""Priors of the cost model per (phone, unit), from the chips' published figures.

Peak compute and memory bandwidth come from ``calibration/apple_soc_specs.yaml``
(copied from the project's shared data; every value there carries its source).
A chip with a published CPU matrix-block peak (A13: AMX, ``cpu_ml_accelerator_ops_per_s``)
also gets ``amx``, the FLOP/s of its dense convolutions and FC layers on the CPU.
Where a figure is missing, the prior says what it assumed instead; all priors
are wide (log-normal, sigma ~1) because marketing peaks are not achieved rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from nas.errors import NasError
from nas.hardware.devices import get_device

SPECS = Path(__file__).resolve().parents[3] / "calibration" / "apple_soc_specs.yaml"
UNITS = ("cpu", "gpu", "ane")
PARAMS = ("peak", "bw", "launch", "dw", "gconv", "eltwise", "concat", "memory", "overhead", "transfer", "xfer_bw")

# Assumptions where the specs file has no number (not fitted; centres of wide priors).
CPU_FLOPS_PER_CYCLE = 32      # per performance core: 4 x 128-bit NEON FMA pipes x 4 fp32 lanes x 2
GPU_FLOPS_PER_CYCLE = 256     # per GPU core at fp16 (order of magnitude, no Apple figure)
GPU_CLOCK_HZ = 1.1e9          # no Apple figure
# Chips without a published bandwidth borrow a neighbour's (same LPDDR generation where known).
BW_LIKE = {"A11": "A12", "A14": "A13", "A17_Pro": "A16", "A18": "A16", "A18_Pro": "A16", "A19": "A16",
           "A19_Pro": "A16"}
# ... times Apple's relative claim where one exists (A18 / A18 Pro: "17 percent more memory bandwidth", against the
# A17 Pro, itself assumed like the A16; specs notes). Assumptions, not published figures: the prior is wide.
# A19 / A19 Pro: no bandwidth and no relative claim found; Wikipedia gives the memory's data rate (LPDDR5X-8533,
# -9600 in the 17 Pro / Pro Max). Assumed: the A16's 51.2 GB/s is LPDDR5-6400 on a 64-bit bus (6.4 GT/s x 8 B),
# and the A19s keep that bus, so bandwidth scales with the data rate: 8533 / 6400 and 9600 / 6400.
BW_SCALE = {"A18": 1.17, "A18_Pro": 1.17, "A19": round(8533 / 6400, 4), "A19_Pro": 1.5}
BW_SCALE_WHY = {"A19": "LPDDR5X-8533 (Wikipedia) over the A16's assumed LPDDR5-6400, same 64-bit bus assumed",
                "A19_Pro": "LPDDR5X-9600 (Wikipedia) over the A16's assumed LPDDR5-6400, same 64-bit bus assumed"}
# A phone whose memory runs at another rate than its chip's usual one (Wikipedia: the iPhone Air's A19 Pro at 8533).
BW_SCALE_PHONE = {"iphoneair": (round(8533 / 6400, 4), "the iPhone Air's LPDDR5X-8533 (Wikipedia) over the A16's "
                                                       "assumed LPDDR5-6400, same 64-bit bus assumed")}
_INT8 = ("35 TOPS is 'up to 2x' the A16; the specs note (coremltools docs) ties A17 Pro's gain to an int8-int8 path, "
         "which an fp16 ML program does not take")
NE_INT8_PEAK = {"A17_Pro": _INT8, "A18": "35 TOPS, the A17 Pro's figure: " + _INT8,
                "A18_Pro": "35 TOPS, the A17 Pro's figure: " + _INT8,
                "A19": "the A18's 35 TOPS, assumed: " + _INT8, "A19_Pro": "the A18 Pro's 35 TOPS, assumed: " + _INT8}
# Chips without a published Neural Engine figure borrow their predecessor's (A19 / A19 Pro: none found; the same
# 16 cores). Apple's A19 "Neural Accelerators" sit in the GPU cores, which this cost model does not represent.
NE_LIKE = {"A19": "A18", "A19_Pro": "A18_Pro"}
ACHIEVED = {"cpu": 0.5, "gpu": 0.3, "ane": 0.2}   # prior fraction of peak reached by real layers
# Parameters only some chips have; fitted (one shared value, like PARAMS) where the chip has them and
# always listed after PARAMS, so a joint fit's vector starts with the same names on every chip.
# ``amx``: on a CPU with matrix blocks, dense convs and FC layers run on them, not on the NEON ``peak``
# (depthwise and element-wise layers stay on NEON). The A13's 1 TOPS figure is a marketing peak whose
# precision the sources disagree on, hence the wide prior.
CHIP_PARAMS = ("amx",)
# Parameters only some units have (after PARAMS, before CHIP_PARAMS). ``wbw``: on the CPU every layer's
# weights are read once per inference at their own rate, a cost that does not depend on the input size (the
# chernykh MobileNet v2 sweep's time has a resolution-independent part that grows with width, as the weights
# do); prior: the chip's bandwidth prior, as for ``bw``. GPU: cross-validated worse (experiments/article_speed).
# GPU (cost model 1.4): ``wino``, the speed-up of dense 3x3 stride-1 convs over other dense convs (Metal
# kernels can take Winograd's fewer multiplies for them: 2.25x for F(2x2, 3x3), 4x for F(4x4, 3x3); prior
# 2.25x); ``split``, channel splits' own multiplier (otherwise the layout ops'); ``occ``, the output elements a
# GPU needs in flight to reach its rate (a conv with fewer runs at out / occ of it): prior
# ``GPU_OCC_PER_CORE`` per published GPU core. ANE (cost model 1.5): ``xfer_cpu``, the fixed cost of a switch
# between the ANE and the CPU (a block that falls off to the CPU); ``transfer`` stays the ANE <-> GPU one (a
# Metal command buffer to submit and wait for), prior: the same centre.
UNIT_PARAMS = {"cpu": ("wbw",), "gpu": ("wino", "split", "occ"), "ane": ("xfer_cpu",)}
GPU_OCC_PER_CORE = 5000   # ~128 lanes x ~10 threads in flight x 4 channels per texel (order of magnitude)


@dataclass(frozen=True)
class Prior:
    """Log-space centre and width of each parameter, with where the centre came from."""

    mean: dict[str, float]
    sigma: dict[str, float]
    sources: dict[str, str]

    def names(self, unit: str) -> tuple[str, ...]:
        """Fitted parameters: the unit's share of ``PARAMS``, its own ``UNIT_PARAMS``, then the chip-only ones."""
        own = tuple(n for n in UNIT_PARAMS.get(unit, ()) if n in self.mean)
        return (PARAMS if unit == "ane" else PARAMS[:-2]) + own + tuple(n for n in CHIP_PARAMS if n in self.mean)


def _chip(specs: dict, chip: str) -> dict:
    try:
        return specs["chips"][chip]
    except KeyError:
        raise NasError(f"{SPECS}: no chip {chip!r} under chips") from None


def _val(chip: dict, key: str):
    v = chip.get(key) or {}
    return v.get("value"), v.get("source")


def prior_for(phone: str, unit: str, specs_path: Path = SPECS) -> Prior:
    """Prior of the (phone, unit) model: peak FLOP/s and bandwidth from the chip's published figures."""
    specs = yaml.safe_load(Path(specs_path).read_text())
    dev = get_device(phone)
    chip = _chip(specs, dev.chip)
    src: dict[str, str] = {}
    bw, bw_src = _val(chip, "memory_bandwidth_gb_s")
    if bw is None:   # not published: assumed as fast as the neighbouring chip with the same memory generation
        like = BW_LIKE[dev.chip]
        bw, bw_src = _val(_chip(specs, like), "memory_bandwidth_gb_s")
        bw_src = f"assumed equal to {like} ({_s(bw_src)}); {dev.chip} has no published figure"
        if phone in BW_SCALE_PHONE or dev.chip in BW_SCALE:
            scale, why = BW_SCALE_PHONE.get(phone) or (BW_SCALE[dev.chip], BW_SCALE_WHY.get(
                dev.chip, "Apple's relative claim, specs note"))
            bw = round(bw * scale, 2)
            bw_src += f", times {scale} ({why})"
    src["bw"] = f"{bw} GB/s: {_s(bw_src)}"
    if unit == "cpu":
        cores, _ = _val(chip, "cpu_performance_cores")
        ghz, ghz_src = _val(chip, "cpu_max_clock_ghz")
        if ghz is None:   # A17 Pro: no sourced clock; assumed no slower than the A16
            ghz, ghz_src = _val(_chip(specs, "A16"), "cpu_max_clock_ghz")
            ghz_src = f"assumed equal to A16 ({_s(ghz_src)}); {dev.chip} has no sourced clock"
        peak = cores * ghz * 1e9 * CPU_FLOPS_PER_CYCLE
        src["peak"] = (f"{cores} performance cores x {ghz} GHz ({_s(ghz_src)}) x {CPU_FLOPS_PER_CYCLE} "
                       f"fp32 FLOP/cycle (assumed NEON width)")
        amx, amx_src = _val(chip, "cpu_ml_accelerator_ops_per_s")
        if amx is not None:
            src["amx"] = f"{amx:.3g} ops/s CPU matrix blocks (marketing peak): {_s(amx_src)}"
    elif unit == "gpu":
        cores, c_src = _val(chip, "gpu_cores")
        if dev.gpu_cores is not None:   # chips shipped with different GPU core counts (A15: 4 or 5)
            by_phone = chip.get("gpu_cores_by_phone") or {}   # a phone's own sourced count (iPhone 14: 5)
            if phone in (by_phone.get("value") or {}):
                c_src = by_phone.get("source")
            cores, c_src = dev.gpu_cores, f"{dev.marketing}: {_s(c_src)}"
        peak = cores * GPU_CLOCK_HZ * GPU_FLOPS_PER_CYCLE
        src["peak"] = (f"{cores} GPU cores ({_s(c_src)}) x {GPU_FLOPS_PER_CYCLE} fp16 FLOP/cycle x "
                       f"{GPU_CLOCK_HZ / 1e9} GHz (assumed; no Apple figure)")
    else:
        ops, o_src = _val(chip, "ne_peak_ops_per_s")
        if ops is None and dev.chip == "A13":   # Apple: A13 NE up to 20 % faster than A12 (specs note)
            a12, a12_src = _val(_chip(specs, "A12"), "ne_peak_ops_per_s")
            ops, o_src = a12 * 1.2, f"A12 figure ({_s(a12_src)}) x 1.2, Apple's relative A13 claim"
        if ops is None and dev.chip in NE_LIKE:   # no published figure: the predecessor's, assumed
            like = NE_LIKE[dev.chip]
            ops, o_src = _val(_chip(specs, like), "ne_peak_ops_per_s")
            o_src = f"assumed equal to {like} ({_s(o_src)}); {dev.chip} has no published figure"
        if dev.chip in NE_INT8_PEAK:   # the marketing peak counts an int8 path an fp16 model does not use
            ops, o_src = ops / 2, f"{_s(o_src)}, halved: {NE_INT8_PEAK[dev.chip]}"
        if ops is None or not dev.ane_for_third_party:
            ops, o_src = 1e12, "no usable Neural Engine (ane-rules G1); placeholder, never used"
        peak = float(ops)
        src["peak"] = f"{ops:.3g} ops/s marketing peak: {_s(o_src)}"
    mean = {
        "peak": math.log(peak * ACHIEVED[unit]), "bw": math.log(bw * 1e9 * 0.6),
        "launch": math.log({"cpu": 20e-6, "gpu": 60e-6, "ane": 30e-6}[unit]),
        "dw": math.log(0.1), "gconv": math.log(0.3), "eltwise": 0.0, "concat": 0.0, "memory": 0.0, "gather": 0.0, "shuffle": 0.0, "split": 0.0,
        "overhead": math.log({"cpu": 0.3e-3, "gpu": 1.5e-3, "ane": 1.0e-3}[unit]),
        "transfer": math.log(0.2e-3), "xfer_bw": math.log(5e9)}
    if "xfer_cpu" in UNIT_PARAMS.get(unit, ()):
        mean["xfer_cpu"] = mean["transfer"]
        src["xfer_cpu"] = "ANE <-> CPU switch cost (the GPU's is `transfer`), prior = the transfer prior, wide"
    if "amx" in src:
        mean["amx"] = math.log(float(amx) * ACHIEVED["cpu"])
    if unit == "gpu":
        gpu_own = set(UNIT_PARAMS.get(unit, ()))
        if "wino" in gpu_own:
            mean["wino"] = math.log(2.25)
            src["wino"] = "speed-up of dense 3x3 stride-1 convs (Winograd F(2x2, 3x3): 2.25x), wide prior"
        if "occ" in gpu_own:
            mean["occ"] = math.log(cores * GPU_OCC_PER_CORE)
            src["occ"] = f"output elements to fill the GPU: {cores} cores x {GPU_OCC_PER_CORE} (assumed), wide prior"
    if "wbw" in UNIT_PARAMS.get(unit, ()):
        mean["wbw"] = mean["bw"]
        src["wbw"] = f"weights read once per inference; prior = the bandwidth prior ({src['bw']})"
    sigma = {"peak": 1.0, "bw": 0.7, "launch": 1.5, "dw": 1.5, "gconv": 1.5, "eltwise": 1.0,
             "concat": 1.0, "memory": 1.5, "gather": 1.5, "shuffle": 1.5, "split": 1.5, "overhead": 1.5, "transfer": 1.5, "xfer_bw": 1.5,
             "amx": 1.0, "wbw": 0.7, "wino": 1.0, "occ": 2.0, "xfer_cpu": 1.5}
    src.update(launch="wide prior, fitted", dw="efficiency of depthwise conv vs dense, wide prior",
               gconv="efficiency of grouped conv vs dense, wide prior", overhead="wide prior, fitted",
               transfer="ANE <-> GPU/CPU switch cost, wide prior",
               xfer_bw="bytes/s of the tensor moved at an ANE <-> GPU/CPU switch, wide prior", eltwise="multiplier on "
               "memory-bound element-wise layers, prior 1", concat="multiplier on concatenations, prior 1",
               memory="multiplier on pad/upsample layers, prior 1",
               gather="multiplier on gather (index select) layers, prior 1",
               shuffle="multiplier on transposes (channel shuffle), prior 1",
               split="multiplier on channel splits, prior 1")
    return Prior(mean, sigma, src)


def _s(source) -> str:
    if isinstance(source, list):
        return "; ".join(str(s) for s in source)
    return str(source)
