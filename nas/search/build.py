"""A search's working parts built from its checked settings: the accuracy estimator and the trial backend.

Kept apart from the loop because others build the same parts: ``nas estimate``
scores networks with the very ``proxy`` and ``train`` estimators a search uses,
and experiments draw the proxy's fixed calibration sample (``REFERENCE_SEED``,
``REFERENCE_SIZE``) to compare estimators on the same footing.
"""

from __future__ import annotations

import numpy as np

from nas.search.accuracy import ZEROSHOT, PredictorEstimator, ProxyEstimator, ScoreEstimator, TrainEstimator
from nas.search.accuracy.data import load_digits, load_image_folder
from nas.search.backends import LocalBackend
from nas.search.config import SearchConfig
from nas.search.prepare import Prepared
from nas.spaces import Space

REFERENCE_SEED, REFERENCE_SIZE = 20190101, 12            # the proxy's fixed calibration sample of a space


def make_backend(cfg: SearchConfig):
    if cfg.backend == "local":
        return LocalBackend()
    from nas.search.backends.ray_tune import RayBackend
    return RayBackend(out=cfg.out, address=cfg.ray_address, workers=cfg.workers, gpus_per_trial=cfg.gpus_per_trial,
                      early_stop=cfg.early_stop, storage=cfg.ray_storage, resume=cfg.resume)


_REFERENCES: dict[tuple, ProxyEstimator] = {}


def proxy_estimator(space: Space, resolution: int = 64, batch: int = 16) -> ProxyEstimator:
    """The ``proxy`` estimator calibrated on the space's fixed reference sample (shared within a process)."""
    key = (space.name, str(space.decode(space.sample(np.random.default_rng(0)))), resolution, batch)
    if key not in _REFERENCES:   # calibration is deterministic: share it within a process
        rng = np.random.default_rng(REFERENCE_SEED)
        ref = [space.decode(c) for c in space.sample(rng, REFERENCE_SIZE)]
        _REFERENCES[key] = ProxyEstimator(reference=ref, resolution=resolution, batch=batch)
    return _REFERENCES[key]


def train_estimator(data: str | None, resolution: int, epochs: int) -> TrainEstimator:
    dataset = load_image_folder(data, resolution) if data else load_digits(resolution)
    return TrainEstimator(data=dataset, epochs=epochs, seed=0)


def make_estimator(prep: Prepared):
    cfg, space = prep.config, prep.space
    if prep.estimator is not None:
        return prep.estimator
    if cfg.accuracy in ZEROSHOT:
        return ScoreEstimator(cfg.accuracy)
    if cfg.accuracy == "proxy":
        return proxy_estimator(space, cfg.proxy_resolution, cfg.proxy_batch)
    train = train_estimator(cfg.data, cfg.train_resolution, cfg.train_epochs)
    if cfg.accuracy == "train":
        return train
    return PredictorEstimator(base=train, cardinalities=space.cardinalities)
