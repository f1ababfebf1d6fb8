"""The torch builder: one module per resolved layer, grouped by stage."""

from __future__ import annotations

from torch import nn

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.ops import REGISTRY


class Network(nn.Module):
    """A network built from a ``NetSpec``; ``stages[i]`` runs stage i's layers in order."""

    def __init__(self, net: NetSpec, *, upto_stage: int | None = None):
        super().__init__()
        self.spec = net
        layers = resolve(net)
        stages: list[list[nn.Module]] = [[] for _ in net.stages]
        for layer in layers:
            stages[layer.stage].append(REGISTRY.get(layer.block.type).build(layer.block.args,
                                                                            layer.in_shape))
        if upto_stage is not None:
            stages = stages[:upto_stage]
        self.stages = nn.Sequential(*(nn.Sequential(*s) for s in stages))
        self.out_shape = layers[-1].out_shape if upto_stage is None else \
            [l for l in layers if l.stage < upto_stage][-1].out_shape

        # A classifier ends in fc: return (N, classes) rather than the (N, C, 1, 1) blocks pass on.
        self.flatten = upto_stage is None and net.blocks[-1].type == "fc"

    def forward(self, x):
        y = self.stages(x)
        return y.flatten(1) if self.flatten else y


def build(net: NetSpec, *, upto_stage: int | None = None) -> Network:
    """Build the torch module of ``net`` (optionally only its first ``upto_stage`` stages)."""
    return Network(net, upto_stage=upto_stage)
