"""The article's model zoo, each model a YAML description under ``nas/zoo/models``.

A zoo file is a network description (``nas.arch.yaml_io``) plus metadata:
``paper``, ``reference`` (the implementation its layers follow), ``article``
(the figures the reference article quotes: ``params_m``, ``top1``, and
``params_counted``: ``all`` | ``no_bn`` | ``backbone`` | ``backbone_no_bn`` -- which convention the
quoted count uses; ``backbone`` counts only the first ``backbone_stages``
stages, the feature extractor without its classifier) and ``notes``. ``unavailable.yaml`` lists the article's
models whose published details are too thin to rebuild faithfully.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nas.arch.spec import NetSpec
from nas.arch.yaml_io import net_from_dict, read_yaml
from nas.errors import SpecError

MODELS_DIR = Path(__file__).parent / "models"


@dataclass(frozen=True)
class ZooModel:
    name: str
    spec: NetSpec
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def article(self) -> dict:
        return self.meta.get("article") or {}


@lru_cache(maxsize=None)
def _load_all() -> dict[str, ZooModel]:
    models = {}
    for path in sorted(MODELS_DIR.glob("*.yaml")):
        data = read_yaml(path)
        spec = net_from_dict(data, file=str(path))
        if spec.name != path.stem:
            raise SpecError(f"name {spec.name!r} differs from the file name", file=str(path), field="name")
        meta = {k: v for k, v in data.items() if k not in ("name", "input_size", "in_channels", "stages")}
        models[spec.name] = ZooModel(spec.name, spec, meta)
    return models


def names() -> list[str]:
    return list(_load_all())


def get(name: str) -> ZooModel:
    models = _load_all()
    if name not in models:
        raise SpecError(f"unknown zoo model {name!r}; known: {', '.join(models)}", field="model")
    return models[name]


def unavailable() -> list[dict]:
    """Models the article covers that are not rebuilt, each with the reason."""
    path = Path(__file__).parent / "unavailable.yaml"
    return list(read_yaml(path)) if path.exists() else []


def backbone(model: ZooModel) -> NetSpec:
    """The feature extractor: the first ``backbone_stages`` stages (all stages if unset)."""
    n = model.meta.get("backbone_stages") or len(model.spec.stages)
    return NetSpec(model.name + "_backbone", model.spec.input_size, model.spec.stages[:n],
                   model.spec.in_channels)
