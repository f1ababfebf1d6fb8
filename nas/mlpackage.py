"""Where a Core ML package keeps its model spec, found without leaving the package.

An ``.mlpackage`` is a folder: ``Manifest.json`` names, under ``rootModelIdentifier``, the item whose ``path``
(relative to ``Data/``) is the protobuf spec. coremltools follows that path wherever it leads. A crafted
package whose manifest names ``../../../../etc/passwd``, or whose ``Data`` is a symbolic link out, had a file
outside it read as its model (``nas check`` checked another package's network under this one's name;
hostile11). ``spec_file`` reads the manifest with the project's strict JSON reader and refuses a spec outside
the package's ``Data`` folder; ``nas check`` (``nas.export.mil.load_spec``) and a resumed profiling bundle
(``nas.profiling.bundlecheck``) call it before anything reads the spec.
"""

from __future__ import annotations

from pathlib import Path

from nas.fsutil import loads_json


def spec_file(package: Path) -> Path:
    """The package's spec file (inside ``Data/``); ``ValueError`` saying what is wrong otherwise."""
    package = Path(package)
    try:
        manifest = loads_json((package / "Manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"no readable Manifest.json ({getattr(e, 'strerror', None) or e})") from None
    try:
        path = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["path"]
    except (KeyError, TypeError, IndexError):
        raise ValueError("Manifest.json names no root model (itemInfoEntries.<rootModelIdentifier>.path)") from None
    if not isinstance(path, str):
        raise ValueError(f"Manifest.json: the root model's path is not text ({type(path).__name__})")
    data = (package / "Data").resolve()
    if not data.is_relative_to(package.resolve()):
        raise ValueError("its Data folder is a symbolic link out of the package")
    spec = (data / path).resolve()
    if not spec.is_relative_to(data):
        raise ValueError(f"Manifest.json names {path[:80]!r}, outside the package's Data folder")
    return spec


def read_spec(package: Path):
    """The package's spec, parsed from ``spec_file`` (read only: coremltools' ``ModelPackage`` rewrites
    Manifest.json when it opens a package)."""
    from coremltools.proto import Model_pb2
    spec = Model_pb2.Model()
    spec.ParseFromString(spec_file(package).read_bytes())
    return spec
