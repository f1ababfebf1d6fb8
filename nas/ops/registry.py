"""Registry of block types: each entry is a block's whole contract.

A block type is a short code (``ir``, ``conv``, ``ghost`` ...) bound to a frozen
dataclass of arguments, a torch builder and a shape rule. The dataclass fields
declare the DSL token table through ``tok(...)``; the registry checks that a
token letter means the same field in every block (so ``k`` is always the kernel).
Blocks know nothing of latency prices: tables are keyed by ``latency_key``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable

from nas.errors import SpecError

Shape = tuple[int, int, int]  # (channels, height, width) of one sample

ACTIVATIONS = ("relu", "relu6", "hswish", "swish", "hsigmoid", "sigmoid", "prelu", "leaky", "none")


def tok(token: str, default: Any = dataclasses.MISSING, *, choices: tuple[str, ...] | None = None,
        always: bool = False, doc: str = "") -> Any:
    """Declare a block argument and its DSL token (``tok("k", 3)`` -> ``k3``).

    ``always`` prints the token even at its default, for fields a reader of a
    latency key expects to see (kernel, stride, expansion).
    """
    meta = {"token": token, "choices": choices, "doc": doc, "always": always}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Token:
    """One DSL token of a block: letter(s), the field it sets and how to read it."""

    key: str
    field: str
    kind: str  # int | float | bool | str | ints
    default: Any
    required: bool
    always: bool
    choices: tuple[str, ...] | None
    doc: str


@dataclass(frozen=True)
class BlockType:
    """A registered block: arguments, builder, shape rule and documentation."""

    code: str
    args: type
    build: Callable[[Any, Shape], Any]           # (args, in_shape) -> torch.nn.Module
    out_shape: Callable[[Any, Shape], Shape]     # (args, in_shape) -> out shape
    doc: str
    searchable_skip: bool = False                # an identity candidate (FBNet "skip")
    tokens: tuple[Token, ...] = ()

    def token(self, key: str) -> Token | None:
        for t in self.tokens:
            if t.key == key:
                return t
        return None


def _kind_of(tp: Any) -> str:
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is bool:
        return "bool"
    if tp is str:
        return "str"
    if typing.get_origin(tp) is tuple and typing.get_args(tp)[:1] == (int,):
        return "ints"
    raise TypeError(f"unsupported block argument type {tp!r}")


class Registry:
    """Named block types. Raises on duplicates; a miss lists every valid name."""

    def __init__(self) -> None:
        self._types: dict[str, BlockType] = {}
        self._token_fields: dict[str, str] = {}

    def register(self, code: str, args: type, *, build: Callable, out_shape: Callable, doc: str,
                 searchable_skip: bool = False) -> BlockType:
        if code in self._types:
            raise ValueError(f"block type {code!r} registered twice")
        if not code.isalpha() or not code.islower():
            raise ValueError(f"block code {code!r} must be lower-case letters")
        hints = typing.get_type_hints(args)
        tokens = []
        for f in dataclasses.fields(args):
            key = f.metadata.get("token")
            if key is None:
                raise ValueError(f"{code}.{f.name} has no DSL token; declare it with tok()")
            known = self._token_fields.get(key)
            if known is not None and known != f.name:
                raise ValueError(f"token {key!r} of {code!r} means {f.name!r}, elsewhere {known!r}")
            required = f.default is dataclasses.MISSING
            tokens.append(Token(key, f.name, _kind_of(hints[f.name]), None if required else f.default,
                                required, f.metadata.get("always", False), f.metadata.get("choices"), f.metadata.get("doc", "")))
        if "r" in {t.key for t in tokens}:
            raise ValueError("token 'r' is reserved for repeats")
        for t in tokens:
            self._token_fields[t.key] = t.field
        bt = BlockType(code, args, build, out_shape, doc, searchable_skip, tuple(tokens))
        self._types[code] = bt
        return bt

    def get(self, code: str) -> BlockType:
        try:
            return self._types[code]
        except KeyError:
            raise SpecError(f"unknown block type {code!r}; known: {', '.join(sorted(self._types))}",
                            field="type") from None

    def __contains__(self, code: str) -> bool:
        return code in self._types

    def codes(self) -> list[str]:
        return sorted(self._types)


REGISTRY = Registry()


def register(code: str, *, out_shape: Callable, doc: str, searchable_skip: bool = False):
    """Class decorator for an args dataclass; ``build`` is the class's ``build`` staticmethod."""

    def wrap(args_cls: type) -> type:
        REGISTRY.register(code, args_cls, build=args_cls.build, out_shape=out_shape, doc=doc,
                          searchable_skip=searchable_skip)
        return args_cls

    return wrap


def conv_out(size: int, kernel: int, stride: int, padding: int | None = None, dilation: int = 1,
             ceil_mode: bool = False) -> int:
    """Output size of a convolution/pooling window along one axis."""
    if padding is None:
        padding = dilation * (kernel - 1) // 2
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_shape(out: int, in_shape: Shape, kernel: int, stride: int, padding: int | None = None) -> Shape:
    """``(out, H', W')`` after a ``kernel`` x ``kernel`` window at ``stride`` (same padding unless given)."""
    _, h, w = in_shape
    return (out, conv_out(h, kernel, stride, padding), conv_out(w, kernel, stride, padding))


def kernel_stride_shape(a: Any, in_shape: Shape) -> Shape:
    """``out_shape`` of a block whose size is set by one window of its ``kernel`` and ``stride``."""
    return conv_shape(a.out, in_shape, a.kernel, a.stride)


def check_positive(name: str, value: int, allowed: tuple[int, ...] | None = None) -> None:
    if value < 1 or (allowed is not None and value not in allowed):
        want = f"one of {allowed}" if allowed else "a positive integer"
        raise SpecError(f"{name} must be {want}, got {value}", field=name)
