"""What a bundle folder already holds, checked before ``nas profile-ops`` reuses it (``--resume``, ``--compress``).

A bundle is resumed by reusing every package already in its folder: each is hashed into the bundle id, its
output shape read into the manifest, and the phone runs it. Bundle folders are copied and shared, so what is
in one is input like any other file (docs/robustness.md). Before anything is converted or written:

- ``ops``, ``overheads`` and ``nets`` must be folders of the bundle itself: a symbolic link there made the
  packages be written outside the bundle folder (and read back from there), a file stopped the run with
  an ``OSError`` after the bundle's lock was taken;
- each package to reuse must be a package folder, not a symbolic link and with none inside (its files are
  hashed and copied to the phone: a link made them files from outside the bundle), that coremltools reads
  (a damaged one stopped the run with a protobuf ``DecodeError`` or ``RuntimeError`` traceback) and whose
  input has the shape of the model it stands for (packages are named by a hash of key and weight format: one
  copied in under another name was reused, and timed, as that model).

A refused package is named with its entry; deleting it and rerunning with ``--resume`` converts it again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from nas.errors import NasError

SUBFOLDERS = ("ops", "overheads", "nets")


def check_folders(root: Path) -> None:
    """``root``'s package folders are folders inside it, or absent."""
    for sub in SUBFOLDERS:
        p = root / sub
        if p.is_symlink():
            raise NasError(f"{p}: a symbolic link (to {os.readlink(p)}): the bundle's packages would be written "
                           f"and read outside {root}; replace it by a folder, or choose another --out")
        if p.exists() and not p.is_dir():
            raise NasError(f"{p}: a file where the bundle keeps its {sub} packages (a folder); remove it, or "
                           f"choose another --out")


def _links(path: Path) -> Path | None:
    """The first symbolic link inside ``path`` (not followed), or None."""
    for top, dirs, files in os.walk(path, followlinks=False):
        for name in dirs + files:
            if os.path.islink(os.path.join(top, name)):
                return Path(top, name)
    return None


def _input_shape(path: Path) -> list[int]:
    """The package's first input shape, read by ``nas.mlpackage.read_spec`` (its spec inside the package; read
    only, where coremltools' ``ModelPackage`` rewrites Manifest.json, a write into the folder being checked)."""
    from nas.mlpackage import read_spec
    return [int(v) for v in read_spec(path).description.input[0].type.multiArrayType.shape]


def check_reused(path: Path, key: str, in_shape: Sequence[int]) -> None:
    """Refuse a package already at ``path`` that cannot stand for entry ``key`` of input ``(1, *in_shape)``."""
    where = f"{path} (entry {key[:120]!r})"
    again = "; delete it and rerun with --resume to convert it again"
    if path.is_symlink():
        raise NasError(f"{where}: a symbolic link (to {os.readlink(path)}), not a package of the bundle{again}")
    if not path.is_dir():
        raise NasError(f"{where}: not a Core ML package (a file, not a package folder){again}")
    link = _links(path)
    if link is not None:
        raise NasError(f"{where}: holds a symbolic link, {link.relative_to(path)} (its target would be hashed and "
                       f"copied to the phone as part of the bundle){again}")
    try:
        got = _input_shape(path)
    except Exception as e:  # noqa: BLE001 -- protobuf, coremltools and OS errors of a damaged package alike
        why = (str(e).splitlines() or [""])[0][:200]
        raise NasError(f"{where}: not a readable Core ML package ({type(e).__name__}: {why}){again}") from None
    want = [1, *map(int, in_shape)]
    if got != want:
        raise NasError(f"{where}: a package of input {'x'.join(map(str, got)) or '(none)'}, not "
                       f"{'x'.join(map(str, want))}: another model's package under this name{again}")
