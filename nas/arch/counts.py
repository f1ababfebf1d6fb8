"""Parameter, MAC and feature-map counts of a whole network, summed from its resolved layers.

Everything here is read off the traced ops of each block (``nas.ops.features``)
at the network's own input size, so a count never needs a formula of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.ops.features import block_features


_WEIGHTED = ("conv", "dwconv", "gconv", "linear")   # op kinds of nas.ops.features that carry weights


@dataclass(frozen=True)
class NetCounts:
    params: int          # every torch parameter, BatchNorm included
    params_no_bn: int    # without BatchNorm scale/shift (the convention of TF-slim tables)
    macs: int            # conv + linear multiply-accumulates at the input size, batch 1
    layers: int          # resolved blocks
    fmap: int = 0        # elements written by every conv and linear layer for one image (feature-map volume)
    weighted: int = 0    # conv and linear layers (weighted depth, along every branch)
    outputs: int = 0     # channels of the last layer's output: the classes a classifier's head states

    @property
    def params_m(self) -> float:
        return self.params / 1e6


def count(net: NetSpec) -> NetCounts:
    params = bn = macs = fmap = weighted = 0
    layers = resolve(net)
    for layer in layers:
        f = block_features(layer.block, layer.in_shape)
        params += f.params
        bn += f.bn_params
        macs += f.macs
        for op in f.ops:
            if op.kind in _WEIGHTED:
                fmap += op.out_elems
                weighted += 1
    outputs = layers[-1].out_shape[0] if layers else 0
    return NetCounts(params, params - bn, macs, len(layers), fmap, weighted, outputs)
