"""The torch side of an export: weights, backbone cut, input normalization, classifier head.

Input normalization is exact. Core ML's ``ImageType`` takes one scale for all
channels and a per-channel bias, so the image input applies ``x / 255 - mean``
(``scale=1/255``, ``bias=-mean``) and the per-channel ``1 / std`` is folded into
the first convolution's weights: scaling is linear and maps zero to zero, so the
zero padding of that convolution stays exact. When the network does not start
with a plain ``conv`` block, a per-channel multiply is the first op instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from nas.arch.build import build
from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEAD_TYPES = ("gap", "fc")  # --backbone-only cuts before the first of these


class ExportError(NasError):
    """An export that cannot be done as asked (bad weights, labels, options)."""


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from disk, loaded with ``weights_only=True`` (no pickled code runs)."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such weights file") from None
    except Exception as e:
        raise ExportError(f"{path}: not a loadable state dict ({type(e).__name__}: {e})") from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ExportError(f"{path}: expected a state dict (a mapping of names to tensors), as "
                          f"`torch.save(model.state_dict(), path)` writes")
    return sd


def apply_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load ``sd`` strictly; the error names the first tensor (in model order) that does not fit."""
    own = model.state_dict()
    for name, t in own.items():
        if name not in sd:
            raise ExportError(f"{source}: tensor {name!r} {tuple(t.shape)} of the architecture is missing "
                              f"from the weights")
        if tuple(sd[name].shape) != tuple(t.shape):
            raise ExportError(f"{source}: tensor {name!r} has shape {tuple(sd[name].shape)} in the weights "
                              f"but {tuple(t.shape)} in the architecture")
    extra = [k for k in sd if k not in own]
    if extra:
        raise ExportError(f"{source}: tensor {extra[0]!r} in the weights has no place in the architecture "
                          f"({len(extra)} unexpected tensor(s))")
    for name, t in own.items():
        _check_values(sd[name], t, name, source)
    model.load_state_dict(sd, strict=True)


def _check_values(v: torch.Tensor, t: torch.Tensor, name: str, source: str) -> None:
    """Values the converter cannot take: a NaN or inf weight (coremltools stops on an assertion, and a
    package would compute NaN), a variance below 0 (its square root in BatchNorm), a float tensor stored as
    complex or as an integer where the architecture has floats."""
    if not t.is_floating_point():
        return
    if not v.is_floating_point():
        raise ExportError(f"{source}: tensor {name!r} has dtype {str(v.dtype).removeprefix('torch.')} in the "
                          f"weights but floating point in the architecture")
    bad = ~torch.isfinite(v)
    if bad.any():
        raise ExportError(f"{source}: tensor {name!r} has {int(bad.sum())} non-finite value(s) (NaN or inf)")
    if name.endswith("running_var") and (v < 0).any():
        raise ExportError(f"{source}: tensor {name!r} (a BatchNorm variance) has {int((v < 0).sum())} "
                          f"negative value(s)")


FP16_MAX = float(torch.finfo(torch.float16).max)   # 65504: float16's largest finite value
FP16_WHY = ("beyond float16's largest value 65504: coremltools keeps the op that reads it in fp32 (a cast in and "
            "out), a CPU/GPU island off the Neural Engine that `nas check` reports as P1, and the latency tables "
            "do not price; rescale the weights, or export with --precision fp32 (all of it fp32)")


def check_fp16_range(module: nn.Module, names: dict[int, str], source: str) -> None:
    """Refuse a weight an fp16 export cannot hold, as coremltools sees it: a conv followed by a BatchNorm is
    folded into one weight and bias (``weight * gamma / sqrt(running_var + eps)``) before the converter picks
    each op's precision, so those are checked folded (a running_var of 1e6 folds to a small weight; a
    gamma of 1e4 over a running_var of 1e-12 overflows though no tensor does); every other float tensor of
    ``module`` as it is. ``names``: tensor id -> its name in the weights file."""
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    folded = set()
    for parent in module.modules():
        kids = list(parent.children())
        for conv, bn in zip(kids, kids[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.running_var is not None:
                folded.update((id(conv), id(bn)))
                w, b = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps,
                                            bn.weight, bn.bias)
                for t in (w, b):
                    big = float(t.detach().abs().max())
                    if big > FP16_MAX:
                        raise ExportError(f"{source}: tensor {names.get(id(conv.weight), 'conv weight')!r} folded "
                                          f"with the BatchNorm after it ({names.get(id(bn.running_var), 'bn')!r}"
                                          f" and its neighbours) reaches {big:.6g}, {FP16_WHY}")
    for m in module.modules():
        if id(m) in folded:
            continue
        for t in (*m.parameters(recurse=False), *m.buffers(recurse=False)):
            if t.is_floating_point() and t.numel() and float(t.detach().abs().max()) > FP16_MAX:
                raise ExportError(f"{source}: tensor {names.get(id(t), '(unnamed)')!r} holds "
                                  f"{float(t.detach().abs().max()):.6g}, {FP16_WHY}")


def head_index(net: NetSpec) -> int | None:
    """Index of the first resolved layer of the head (global pool / fc), or None."""
    for layer in resolve(net):
        if layer.block.type in HEAD_TYPES:
            return layer.index
    return None


def backbone_spec(net: NetSpec) -> NetSpec:
    """The description cut at the last feature map (before global pooling / fc)."""
    cut = head_index(net)
    if cut is None:
        return net
    if cut == 0:
        raise ExportError(f"{net.name}: the network starts with its head; nothing to keep for --backbone-only")
    last = resolve(net)[cut - 1]
    si, bi = (int(v) for v in last.position.split(".")[:2])
    stages = list(net.stages[:si]) + [net.stages[si][:bi + 1]]
    return NetSpec(net.name, net.input_size, tuple(stages), net.in_channels)


class _Scale(nn.Module):
    """Per-channel multiply, for networks whose first op is not a plain convolution."""

    def __init__(self, scale: tuple[float, ...]):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale).reshape(1, -1, 1, 1), persistent=False)

    def forward(self, x):
        return x * self.scale


def fold_input_scale(model: nn.Module, net: NetSpec, scale: tuple[float, ...]) -> bool:
    """Multiply input channel c by ``scale[c]`` inside the first conv's weights, when the network
    starts with a plain ``conv`` block. Returns False (nothing changed) otherwise."""
    first = resolve(net)[0]
    stem = model.stages[0][0]
    if not (first.block.type == "conv" and isinstance(stem, nn.Sequential) and isinstance(stem[0], nn.Conv2d)):
        return False
    conv: nn.Conv2d = stem[0]
    cin_g = conv.in_channels // conv.groups
    per_group = conv.out_channels // conv.groups
    s = torch.tensor(scale, dtype=conv.weight.dtype)
    with torch.no_grad():
        for o in range(conv.out_channels):
            g = o // per_group
            conv.weight[o] *= s[g * cin_g:(g + 1) * cin_g].reshape(-1, 1, 1)
    return True


class _Head(nn.Module):
    """The network up to a layer index, built from the same layer modules."""

    def __init__(self, model: nn.Module, upto: int):
        super().__init__()
        layers = [m for stage in model.stages for m in stage]
        self.layers = nn.Sequential(*layers[:upto])

    def forward(self, x):
        return self.layers(x)


@dataclass
class Prepared:
    module: nn.Module      # ready to trace
    spec: NetSpec          # what the package computes (cut when backbone_only)
    normalize: str         # folded | mul | none
    classifier: bool       # softmax appended for ClassifierConfig


def labels_problem(net: NetSpec, labels: tuple[str, ...] | None, backbone_only: bool) -> str | None:
    """Why ``labels`` cannot name ``net``'s classes (None when they can): the CLI checks this first, to
    name the labels file, before anything is written."""
    if labels is None:
        return None
    last = net.blocks[-1]
    if backbone_only or last.type != "fc":
        return "--labels needs a classifier (a network ending in fc, without --backbone-only)"
    if len(labels) != last.args.out:
        return f"{len(labels)} labels for {last.args.out} classes"
    if len(set(labels)) != len(labels):
        return "labels must be unique"
    return None


def prepare(net: NetSpec, *, weights: str | Path | dict | None, seed: int, image_input: bool,
            backbone_only: bool, labels: tuple[str, ...] | None, precision: str = "fp16") -> Prepared:
    """Build, load weights, normalize, cut and (for classifiers) append a softmax; with given weights and an
    fp16 export, refuse a weight fp16 cannot hold (``check_fp16_range``, on what is exported)."""
    if image_input and net.in_channels != 3:
        raise ExportError(f"{net.name}: an image input is RGB but the network takes {net.in_channels} "
                          f"channels; pass --tensor-input")
    why = labels_problem(net, labels, backbone_only)
    if why:
        raise ExportError(f"{net.name}: {why}")
    torch.manual_seed(seed)
    model = build(net).eval()
    if weights is not None:
        sd = load_state_dict(weights) if isinstance(weights, (str, Path)) else weights
        apply_state_dict(model, sd, str(weights) if isinstance(weights, (str, Path)) else "state dict")
    inv_std = tuple(1 / s for s in IMAGENET_STD)
    normalize = "none"
    if image_input:
        normalize = "folded" if fold_input_scale(model, net, inv_std) else "mul"
    spec = backbone_spec(net) if backbone_only else net
    module: nn.Module = _Head(model, len(resolve(spec))) if spec is not net else model
    if labels is not None:
        module = nn.Sequential(module, nn.Softmax(dim=1))
    if normalize == "mul":
        module = nn.Sequential(_Scale(inv_std), module)
    if weights is not None and precision == "fp16":       # (random weights never come near 65504)
        names = {id(t): n for n, t in (*model.named_parameters(), *model.named_buffers())}
        check_fp16_range(module, names, str(weights) if isinstance(weights, (str, Path)) else "state dict")
    return Prepared(module.eval(), spec, normalize, labels is not None)
