"""The whole networks that check a table adds up: K calibration and M validation networks of a space.

Isolated op times do not add up to a network's time (issue 17: 8-37 % off on a CPU, worse on the
Neural Engine, where Core ML compiles a whole network into one program). So every profile -- local
or a device bundle -- also times whole networks: *calibration* networks (drawn with
``CALIBRATION_SEED``) fit the in-network correction (``nas.profiling.correction``), *validation*
networks (drawn with ``VALIDATION_SEED``, the default seed of ``nas tables validate``; any that
equals a calibration network is dropped, so the two sets are disjoint) measure how well the
corrected sums predict networks the fit never saw. The same seeds serve the local protocol and the
bundles, so a phone's figures and this machine's are about the same networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nas.arch.dsl import format_net, parse_net
from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.spaces.base import Space

CALIBRATION_SEED = 1_000_003
VALIDATION_SEED = 0
NET_PREFIX = "__net__"
ROLES = ("calibration", "validation")


@dataclass(frozen=True)
class ProtocolNet:
    role: str       # calibration | validation
    space: str
    seed: int       # the draw's seed (CALIBRATION_SEED or VALIDATION_SEED)
    index: int      # position in that draw
    net: NetSpec

    @property
    def key(self) -> str:
        return f"{NET_PREFIX}/{self.role}/{self.space}/{self.index}"

    @property
    def weight_seed(self) -> int:
        """The torch seed of its random weights (as ``nas.profiling.local.measure_nets``)."""
        return self.seed + self.index

    def layers(self) -> list[str]:
        """Its layers' table keys, in order (what a table sum adds up)."""
        return [l.key for l in resolve(self.net)]

    def to_manifest(self) -> dict:
        return {"role": self.role, "space": self.space, "seed": self.seed, "index": self.index,
                "arch": format_net(self.net), "layers": self.layers()}

    @classmethod
    def from_manifest(cls, d: dict, where: str) -> "ProtocolNet":
        try:
            return cls(d["role"], d["space"], int(d["seed"]), int(d["index"]), parse_net(d["arch"], name=d["space"]))
        except (KeyError, TypeError, ValueError) as e:
            raise NasError(f"{where}: network: {e}") from None


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as possible, the first ones taking the remainder."""
    return [total // parts + (i < total % parts) for i in range(parts)]


def draw(space: Space, calibrate: int, validate: int) -> list[ProtocolNet]:
    """``calibrate`` calibration and up to ``validate`` validation networks of ``space`` (disjoint)."""
    cal = space.sample(np.random.default_rng(CALIBRATION_SEED), calibrate) if calibrate else []
    val = space.sample(np.random.default_rng(VALIDATION_SEED), validate) if validate else []
    seen = {tuple(int(v) for v in c) for c in cal}
    out = [ProtocolNet("calibration", space.name, CALIBRATION_SEED, i, space.decode(c, name=f"calibration{i}"))
           for i, c in enumerate(cal)]
    out += [ProtocolNet("validation", space.name, VALIDATION_SEED, i,
                        space.decode(c, name=f"{space.name}_{VALIDATION_SEED}_{i}"))
            for i, c in enumerate(val) if tuple(int(v) for v in c) not in seen]
    return out


def draw_all(spaces: Sequence[Space], calibrate: int, validate: int) -> list[ProtocolNet]:
    """K and M spread over several spaces (a bundle for every shipped space)."""
    return [n for s, k, m in zip(spaces, split(calibrate, len(spaces)), split(validate, len(spaces)))
            for n in draw(s, k, m)]
