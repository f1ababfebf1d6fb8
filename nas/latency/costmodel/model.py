"""The cost model's form: a roofline per atom, launch costs, Neural Engine placement and transfers.

Per atom on unit ``u`` (parameters in log space, ``exp`` taken here)::

    compute = FLOPs / (peak_u * eff_u[class])          eff: 1, depthwise, grouped
              (dense conv / FC on a CPU with matrix blocks, A13 AMX: FLOPs / amx instead)
    memory  = (activation + weight elements) * bytes_u / bandwidth_u   (CPU: activation elements only)
    t       = pnorm(compute, memory) * mult_u[class] + launches * launch_u

``pnorm`` is a smooth maximum (p = 4) so the fit has gradients; ``mult`` is 1
for convs, ``eltwise`` for element-wise layers and pools, ``concat`` for
concatenations, ``memory`` for layout layers (gather, transpose, split, pad,
upsample; the classes are kept apart in ``atoms`` but share one multiplier --
separate ones did not cross-validate better). On the CPU a layer reads its
weights once per inference at their own rate ``wbw`` (``priors.UNIT_PARAMS``), added outside the
roofline (whose memory term then counts activations only): that cost does not shrink with the input
size, which the chernykh MobileNet v2 width x resolution sweep shows. Bytes per element: 4 on the CPU
(Core ML runs the CPU in fp32), 2 on GPU and ANE (fp16; ane-rules G3). On the GPU (cost model 1.4,
``priors.UNIT_PARAMS``) dense 3x3 stride-1 convs run ``wino`` times faster per FLOP than other dense convs
(Winograd-eligible), channel splits have their own multiplier, and every conv / FC layer adds the serial
work of one output, ``FLOPs per output x occ / rate``: with fewer than ``occ`` outputs in flight the GPU is
not full (occupancy; the direct-conv rate, without ``wino``, cross-validated better). A
network costs ``overhead_u + sum of its blocks`` -- exactly what a table built
from the same parameters prices.

On ``ane`` (Core ML ``.all``) a block with any atom that has an ANE rule
(``atoms.ANE_RULES``) runs entirely off the ANE (after an unsupported op Core ML
tends to stay off it; ane-rules G3 -- the article's SE / h-swish families
are far slower on ``.all`` than their MACs suggest). Core ML cuts the graph into
segments, one unit each (G3): the off-ANE block is one segment (cost model 1.5; 1.4
chose per layer and paid a transfer at every CPU/GPU switch, e.g. inside ShuffleNet's
units), on the GPU if a squeeze-excite broadcast (L7) put it there -- the article saw the
SE models' off-ANE parts on the GPU (``atoms.GPU_FALLBACK_RULES``) -- and otherwise on the
cheaper of the phone's CPU and GPU models (Core ML chooses by cost, G2/G4; ShuffleNet's
``.all`` runs at about its ``.cpuOnly`` speed).
The segment starts and ends on the ANE, so it pays two switches: a fixed cost
(``xfer_cpu`` to the CPU, ``transfer`` to the GPU: a Metal command buffer to submit
and wait for) plus the moved tensor's fp16 bytes at ``xfer_bw``. This keeps the
table additive (the segment is attributed to its block).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nas.latency.costmodel.atoms import CLASSES, AtomArrays

BYTES = {"cpu": 4.0, "gpu": 2.0, "ane": 2.0}
P_NORM = 4.0
UNIT_CODES = ("ane", "cpu", "gpu")
_C = {c: i for i, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class Batch:
    """Atoms of several networks (or of a list of table entries) stacked for vector pricing."""

    atoms: AtomArrays
    net_of_block: np.ndarray
    n_nets: int


def make_batch(per_net_blocks: list[list[tuple]], drop: tuple[str, ...] = ()) -> Batch:
    """``per_net_blocks[n]`` = the atoms of each block of network ``n``; ``drop``: rules the regime lacks."""
    from nas.latency.costmodel.atoms import stack
    blocks, owner = [], []
    for n, blks in enumerate(per_net_blocks):
        blocks += blks
        owner += [n] * len(blks)
    return Batch(stack(blocks, drop), np.array(owner, dtype=np.int64), len(per_net_blocks))


def atom_ms(a: AtomArrays, th: dict[str, float], unit: str) -> np.ndarray:
    """Time of every atom on ``unit`` in milliseconds."""
    eff = np.ones(len(CLASSES))
    eff[_C["dwconv"]] = np.exp(th["dw"])
    eff[_C["gconv"]] = np.exp(th["gconv"])
    mult = np.ones(len(CLASSES))
    mult[_C["eltwise"]] = np.exp(th["eltwise"])
    mult[_C["concat"]] = np.exp(th["concat"])
    mult[_C["memory"]] = np.exp(th["memory"])
    for c in ("gather", "shuffle", "split"):
        mult[_C[c]] = np.exp(th.get(c, th["memory"]))
    peak = np.full(len(CLASSES), np.exp(th["peak"]))
    if "amx" in th:   # a CPU with matrix blocks (A13 AMX, priors.CHIP_PARAMS) runs dense convs and FC on them
        peak[[_C["conv"], _C["linear"]]] = np.exp(th["amx"])
    effa = eff[a.cls]
    if "wino" in th:   # GPU: dense 3x3 stride-1 convs run at their own, higher rate (Winograd-eligible)
        k3 = (a.cls == _C["conv"]) & (a.kh == 3) & (a.kw == 3) & (a.stride == 1)
        effa = np.where(k3, effa * np.exp(th["wino"]), effa)
    comp = a.flops / (peak[a.cls] * effa)
    # On the CPU (``wbw``, priors.UNIT_PARAMS) weights are read once per inference at their own rate, outside
    # the roofline, whatever the input size; elsewhere they share the roofline's memory term with activations.
    wread = "wbw" in th
    mem = (a.act + (0.0 if wread else a.wts)) * BYTES[unit] / np.exp(th["bw"])
    t = (comp ** P_NORM + mem ** P_NORM) ** (1.0 / P_NORM) * mult[a.cls] + a.launches * np.exp(th["launch"])
    if "occ" in th:    # GPU occupancy: + the serial work of one output x occ / rate (FLOPs / out x occ / rate)
        t = t + np.where(a.out > 0, a.flops / (peak[a.cls] * eff[a.cls]) * np.exp(th["occ"]) / np.maximum(a.out, 1.0), 0.0)
    if wread:
        t = t + a.wts * BYTES[unit] / np.exp(th["wbw"])
    if unit == "ane" and a.ane_fused.any():   # activations fused into the preceding conv (atoms.FUSIONS)
        t = t * (1.0 - a.ane_fused)
    return t * 1e3


def block_ms(a: AtomArrays, unit: str, th: dict[str, float], fallback: dict[str, dict] | None = None):
    """Per-block time (ms) and the unit code each atom runs on (0 ane, 1 cpu, 2 gpu)."""
    if unit != "ane":
        code = np.full(len(a.cls), UNIT_CODES.index(unit))
        return np.bincount(a.block, atom_ms(a, th, unit), minlength=a.n_blocks), code
    assert fallback is not None, "ane needs the phone's cpu and gpu parameters for fallback"
    t_ane = atom_ms(a, th, "ane")
    off = block_off(a)
    half = a.act * BYTES["ane"] / 2.0    # in or out bytes of the atom (fp16)
    per_byte = np.exp(-th["xfer_bw"]) if "xfer_bw" in th else 0.0
    n = len(a.cls)
    first = np.r_[True, a.block[1:] != a.block[:-1]] if n else np.zeros(0, bool)
    last = np.r_[a.block[1:] != a.block[:-1], True] if n else np.zeros(0, bool)
    t_fb = {u: atom_ms(a, fallback[u], u) for u in ("cpu", "gpu")}
    seg = {}   # the off-ANE block as one segment on cpu or gpu: its atoms + a switch in and one back out
    for u, fixed in (("cpu", th.get("xfer_cpu", th["transfer"])), ("gpu", th["transfer"])):
        t = t_fb[u] + (first + last) * (np.exp(fixed) + half * per_byte) * 1e3
        seg[u] = np.bincount(a.block, np.where(off, t, 0.0), minlength=a.n_blocks)
    se = np.bincount(a.block, a.to_gpu, minlength=a.n_blocks) > 0   # atoms.GPU_FALLBACK_RULES: on the GPU
    on_cpu = (seg["cpu"] < seg["gpu"]) & (~se if FALLBACK == "block" else True)
    code = np.where(off, np.where(on_cpu[a.block], 1, 2), 0)
    blocks = np.bincount(a.block, np.where(off, 0.0, t_ane), minlength=a.n_blocks)
    if FALLBACK == "layer":   # cost model <= 1.4 (ablation only): each off-ANE atom on its cheaper unit,
        code = np.where(off, np.where(t_fb["cpu"] < t_fb["gpu"], 1, 2), 0)   # a switch per change
        prev = np.where(first, 0, np.r_[0, code[:-1]])
        moves = (code != prev) + (last & (code != 0))
        sw = (np.exp(th["transfer"]) + half * per_byte) * 1e3
        t = np.choose(code, [t_ane, t_fb["cpu"], t_fb["gpu"]]) + moves * sw
        return np.bincount(a.block, t, minlength=a.n_blocks), code
    return blocks + np.where(on_cpu, seg["cpu"], seg["gpu"]), code


# For experiments/article_speed/ablation.py only: "layer" = cost model 1.4's per-layer choice; "cheaper" = every
# off-ANE block on its cheaper unit (no GPU_FALLBACK_RULES); "block" = cost model 1.5 (shipped).
FALLBACK = "block"


def block_off(a: AtomArrays) -> np.ndarray:
    """Atoms off the ANE: every atom of a block that has an atom with a fallback rule (G3)."""
    if not len(a.cls):
        return np.zeros(0, bool)
    bad = np.bincount(a.block, ~a.ane_ok, minlength=a.n_blocks) > 0
    return bad[a.block]


def net_ms(batch: Batch, unit: str, th: dict[str, float], fallback=None) -> np.ndarray:
    """Total time (ms) of every network in the batch: overhead + sum of block times."""
    blocks, _ = block_ms(batch.atoms, unit, th, fallback)
    return np.exp(th["overhead"]) * 1e3 + np.bincount(batch.net_of_block, blocks, minlength=batch.n_nets)


def unit_used(a: AtomArrays, unit: str, th, fallback=None) -> list[str]:
    """Per block: the unit it runs on (on ``ane``, an off-ANE block runs whole on cpu or gpu)."""
    if unit != "ane":
        return [unit] * a.n_blocks
    _, code = block_ms(a, unit, th, fallback)
    per = np.bincount(a.block, code, minlength=a.n_blocks) > 0   # any atom off = the whole block off
    blk = np.zeros(a.n_blocks, np.int64)
    blk[a.block] = code
    return [UNIT_CODES[int(blk[b])] if per[b] else "ane" for b in range(a.n_blocks)]
