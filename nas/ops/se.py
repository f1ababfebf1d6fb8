"""Squeeze-and-excite, declared once: the module, its DSL tokens, their checks and its builder.

Several blocks carry an optional SE (``ir``, ``er``, ``gb``) and ``se`` is one on its
own. They share one token set -- ``se`` ratio, ``sem`` (ratio of the mid channels,
not the input), ``sd`` rounding divisor, ``sa`` inner activation (default: the
block's ``a``), ``sg`` gate -- declared by the ``se_fields`` class decorator, which
inserts the fields where the block's token table had them (so canonical block
strings, latency keys and YAML field names stay what they were) and adds their
checks to the block's ``__post_init__``. ``block_se`` builds the torch module from
those fields, as timm's ``SqueezeExcite`` with ``rd_ratio``/``rd_divisor``/``gate_layer``.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import activation, make_divisible
from nas.ops.registry import ACTIVATIONS, check_positive, tok

SE_GATES = ("sigmoid", "hsigmoid")

# For a block's ``doc``: what the tokens added by ``se_fields`` mean.
SE_TOKENS_DOC = ("se SE ratio, sem (SE ratio of mid channels, not input), sd SE divisor, sa SE "
                 "activation (default: a), sg SE gate")


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): global pool, reduce, expand, gate, scale."""

    def __init__(self, channels: int, reduced: int, act: str = "relu", gate: str = "sigmoid"):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = activation(act, reduced)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = activation(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.gate(self.expand(self.act(self.reduce(self.pool(x)))))
        return x * s


def se_channels(base: int, ratio: float, divisor: int) -> int:
    """Reduced SE width: ``ratio`` of ``base`` channels, rounded by ``divisor`` (1 = truncate)."""
    return make_divisible(base * ratio, divisor)


def check_se_ratio(ratio: float) -> None:
    if ratio < 0 or ratio > 1:
        raise SpecError(f"SE ratio must be in [0, 1], got {ratio}", field="se")


def check_se(a) -> None:
    """The checks of the fields ``se_fields`` adds: a ratio in [0, 1] and a positive divisor."""
    check_se_ratio(a.se)
    check_positive("sd", a.se_divisor)


def se_fields(*, after: str | None = "act", ratio: float = 0.0, mid_token: bool = True, divisor: int = 1,
              act: str = "", gate: str = "sigmoid"):
    """Class decorator (below ``@dataclass``): add the SE fields to a block's arguments.

    The fields go right after field ``after`` (at the end when None), in the order
    ``se``, ``sem`` (only with ``mid_token``), ``sd``, ``sa``, ``sg``, with the given
    defaults; ``act`` "" means "the block's own activation". The block's
    ``__post_init__`` then also runs ``check_se``.
    """
    added = {"se": ("float", tok("se", ratio))}
    if mid_token:
        added["se_from_mid"] = ("bool", tok("sem", False))
    added |= {"se_divisor": ("int", tok("sd", divisor)),
              "se_act": ("str", tok("sa", act, choices=ACTIVATIONS)),
              "se_gate": ("str", tok("sg", gate, choices=SE_GATES))}

    def wrap(cls: type) -> type:
        if "__dataclass_fields__" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: apply se_fields below @dataclass")
        own = dict(cls.__dict__.get("__annotations__", {}))
        if after is not None and after not in own:
            raise TypeError(f"{cls.__name__} has no field {after!r} to put the SE fields after")
        annotations: dict[str, str] = {}
        for name, kind in own.items():
            annotations[name] = kind
            if name == after:
                annotations |= {n: k for n, (k, _) in added.items()}
        if after is None:
            annotations |= {n: k for n, (k, _) in added.items()}
        cls.__annotations__ = annotations
        for name, (_, field) in added.items():
            setattr(cls, name, field)
        own_post_init = cls.__dict__.get("__post_init__")

        def __post_init__(self) -> None:
            if own_post_init is not None:
                own_post_init(self)
            check_se(self)

        cls.__post_init__ = __post_init__
        return cls

    return wrap


def block_se(a, cin: int, channels: int, act: str) -> SqueezeExcite:
    """The SE of block arguments ``a`` (declared with ``se_fields``) on ``channels`` maps.

    The reduced width is ``make_divisible(base * se, sd)``, ``base`` being the
    block's input channels ``cin`` -- or ``channels`` when ``a`` sets ``sem``; the
    inner activation is ``sa``, else ``act`` (the block's own).
    """
    base = channels if getattr(a, "se_from_mid", False) else cin
    return SqueezeExcite(channels, se_channels(base, a.se, a.se_divisor), a.se_act or act, a.se_gate)
