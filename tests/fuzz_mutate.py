"""Seeded mutations of valid input files, for the hostile-input fuzzer (tests/test_fuzz_inputs.py).

A mutation starts from the bytes of a valid file (shipped, or produced by a run) and returns the bytes
of a damaged or crafted one: structural edits of the parsed document (a key deleted or duplicated, a
value replaced by a hostile one: wrong type, NaN/inf/negative/huge number, a big list, deep nesting),
line edits (truncation, a line deleted, duplicated or garbled) and byte-level attacks (non-UTF-8
bytes, a BOM, an empty file, YAML tags that would run code, "billion laughs" aliases). Everything is
drawn from a ``random.Random`` so a failing case is reproduced by its seed.
"""

from __future__ import annotations

import json
import random

import yaml

MARKER = "NAS_FUZZ_PWNED"          # a crafted YAML tag would create this file if any loader ran it

HOSTILE = [None, True, False, -1, 0, -0.5, 1e308, 10**400, float("nan"), float("inf"), float("-inf"),
           "", "x", "../../../etc/passwd", "/etc/passwd", "\x00", "é" * 3, [], {}, [1, 2], {"a": 1},
           [[[[[]]]]], 2**63, -(2**63), 1.5, "1", "NaN", "x\x1b[2J"]


def hostile_value(rng: random.Random):
    r = rng.random()
    if r < 0.08:
        return list(range(rng.choice([1000, 20_000])))                  # big, bounded list
    if r < 0.12:
        v: object = 1
        for _ in range(rng.choice([50, 400])):                             # deep nesting
            v = [v] if rng.random() < 0.5 else {"k": v}
        return v
    return rng.choice(HOSTILE)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:50]):
            yield from _paths(v, prefix + (i,))


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def mutate_doc(doc, rng: random.Random):
    """Change one node of a parsed document in place (returns the new root)."""
    paths = list(_paths(doc))
    path = rng.choice(paths)
    op = rng.choice(["replace", "replace", "replace", "delete", "swap_type", "copy_sibling"])
    if not path:
        return hostile_value(rng) if op != "swap_type" else [doc]
    parent, key = _get(doc, path[:-1]), path[-1]
    if op == "delete":
        del parent[key]
    elif op == "swap_type":
        v = parent[key]
        parent[key] = (list(v.values()) if isinstance(v, dict) else {str(i): x for i, x in enumerate(v)}
                       if isinstance(v, list) else [v] if rng.random() < 0.5 else str(v))
    elif op == "copy_sibling" and isinstance(parent, list):
        parent.insert(key, parent[key])
    else:
        parent[key] = hostile_value(rng)
    return doc


def mutate_text_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    op = rng.choice(["truncate", "delete", "duplicate", "garble", "cut_line"])
    if op == "truncate":
        return data[:rng.randrange(len(data) + 1)]
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "garble" and lines[i]:
        j = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:j] + bytes([rng.choice(b"{}[]:,\"'#&*!|>-% \t0x")]) + lines[i][j + 1:]
    else:
        lines[i] = lines[i][:len(lines[i]) // 2]
    return b"\n".join(lines)


def mutate_bytes(data: bytes, rng: random.Random, *, yaml_kind: bool) -> bytes:
    op = rng.choice(["empty", "bom", "binary", "nul"] + (["tag", "laughs", "deep", "anchor"] if yaml_kind
                                                       else ["deep"]))
    if op == "empty":
        return b""
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "binary":
        i = rng.randrange(len(data) + 1)
        return data[:i] + b"\xff\xfe\x80" + data[i:]
    if op == "nul":
        return data.replace(b"\n", b"\x00\n", 1)
    if op == "tag":
        return (f"!!python/object/apply:os.system ['touch {MARKER}']\n").encode()
    if op == "laughs":
        lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for k in range(1, 9):
            lines.append(f"{chr(97 + k)}: &{chr(97 + k)} [" + ", ".join([f"*{chr(96 + k)}"] * 10) + "]")
        return ("\n".join(lines) + "\n").encode() + data
    if op == "anchor":
        return data.replace(b": ", b": &x ", 1).replace(b"\n", b"\nzz_alias: *x\n", 1)
    depth = rng.choice([200, 2000, 100_000])
    return (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)


def dump(doc, kind: str) -> bytes:
    if kind == "json":
        return json.dumps(doc).encode()
    if kind == "jsonl":
        rows = doc if isinstance(doc, list) else [doc]
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    return yaml.safe_dump(doc, sort_keys=False).encode()


def load(data: bytes, kind: str):
    if kind == "json":
        return json.loads(data)
    if kind == "jsonl":
        return [json.loads(l) for l in data.decode().splitlines() if l.strip()]
    return yaml.safe_load(data)


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """One seeded mutation of a valid file's bytes; ``kind`` is yaml, json, jsonl or text (lines)."""
    r = rng.random() if kind != "text" else 0.55 + 0.45 * rng.random()
    if r < 0.55:
        doc = load(data, kind)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            doc = mutate_doc(doc, rng)
        try:
            return dump(doc, kind)
        except (RecursionError, ValueError):
            return data[: len(data) // 2]
    if r < 0.85:
        return mutate_text_lines(data, rng)
    if kind in ("json", "jsonl") and rng.random() < 0.3:
        return duplicate_json_key(data, rng)
    return mutate_bytes(data, rng, yaml_kind=kind == "yaml")


def duplicate_json_key(data: bytes, rng: random.Random) -> bytes:
    """A key said twice in one JSON object (``{"k": 0, "k": ...``): plain ``json.loads`` keeps the last."""
    import re
    spots = [m for m in re.finditer(rb'\{\s*("[^"\\]*")\s*:', data)]
    if not spots:
        return data
    m = rng.choice(spots)
    return data[:m.start()] + b"{" + m.group(1) + b": " + rng.choice([b"0", b'"x"', b"null"]) + b", " \
        + data[m.start() + 1:]


# -- torch checkpoints (a dict of tensors and plain values, as ``torch.save`` writes it) -------------

def hostile_tensor(t, rng: random.Random):
    """A tensor in place of ``t``: another shape, dtype or rank, NaN/inf values, or an empty one."""
    import torch
    op = rng.choice(["shape", "dtype", "nan", "inf", "scalar", "empty", "huge"])
    if op == "shape":
        return torch.zeros(*(s + rng.choice([1, 2]) for s in t.shape)) if t.dim() else torch.zeros(2)
    if op == "dtype":
        return t.to(torch.float64 if t.dtype != torch.float64 else torch.int64)
    if op in ("nan", "inf") and t.is_floating_point() and t.numel():
        t = t.clone()
        t.view(-1)[rng.randrange(t.numel())] = float(op)
        return t
    if op == "scalar":
        return torch.tensor(1.0)
    if op == "huge" and t.is_floating_point():
        return torch.full_like(t, 1e38)
    return torch.zeros(0, dtype=t.dtype)


def _state_paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _state_paths(v, prefix + (k,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj[:50]):
            yield from _state_paths(v, prefix + (i,))


def mutate_state(obj, rng: random.Random, log: list | None = None):
    """Change one node of a loaded checkpoint (tensors included); returns the new root. What was done
    is appended to ``log`` (for a failing case's message)."""
    import torch
    path = rng.choice([p for p in _state_paths(obj) if p])
    parent, key = _get(obj, path[:-1]), path[-1]
    if isinstance(parent, tuple):
        return obj                                   # tuples are immutable; this draw changes nothing
    v = parent[key]
    op = rng.choice(["replace", "replace", "tensor", "delete", "extra"])
    if log is not None:
        log.append(f"{op} {'.'.join(map(str, path))} ({type(v).__name__})")
    if op == "tensor" and isinstance(v, torch.Tensor):
        parent[key] = hostile_tensor(v, rng)
    elif op == "delete":
        del parent[key]
    elif op == "extra" and isinstance(parent, dict):
        parent[rng.choice(["extra", 7, "net.extra.weight"])] = rng.choice([torch.zeros(3), 1, "x"])
    elif isinstance(v, torch.Tensor) and rng.random() < 0.7:
        parent[key] = hostile_tensor(v, rng)
    else:
        parent[key] = hostile_value(rng)
    return obj
