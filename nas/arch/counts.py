"""Parameter and MAC counts of a whole network, summed from its resolved layers."""

from __future__ import annotations

from dataclasses import dataclass

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.ops.features import block_features


@dataclass(frozen=True)
class NetCounts:
    params: int          # every torch parameter, BatchNorm included
    params_no_bn: int    # without BatchNorm scale/shift (the convention of TF-slim tables)
    macs: int            # conv + linear multiply-accumulates at the input size, batch 1
    layers: int          # resolved blocks

    @property
    def params_m(self) -> float:
        return self.params / 1e6


def count(net: NetSpec) -> NetCounts:
    params = bn = macs = 0
    layers = resolve(net)
    for layer in layers:
        f = block_features(layer.block, layer.in_shape)
        params += f.params
        bn += f.bn_params
        macs += f.macs
    return NetCounts(params, params - bn, macs, len(layers))
