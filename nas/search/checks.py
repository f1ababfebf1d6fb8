"""Range checks of every numeric search setting, run first in ``prepare`` (before anything is written).

A bad value used to surface deep inside numpy, torch or the search loop -- after
the trial log's header was written, so the corrected rerun was refused. Each
check names the command-line flag and the allowed range.
"""

from __future__ import annotations

import math

from nas.bounds import MAX_SEED, int_in as _int_in
from nas.errors import NasError
MAX_TARGET_MS = 1e6           # 1000 s per image: far beyond any phone table
MAX_TRIALS = 1_000_000
MAX_BATCH = 4096
MAX_WORKERS = 1024
MAX_EPOCHS = 1000
RESOLUTION = (8, 1024)        # training/proxy image side in pixels


def check_config(cfg) -> None:
    """Refuse any out-of-range setting of a ``SearchConfig``, naming its flag."""
    t = cfg.target_ms
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 < t <= MAX_TARGET_MS:
        raise NasError(f"--target-ms must be a finite number of milliseconds in (0, {MAX_TARGET_MS:g}], got {t!r}")
    _int_in("--seed", cfg.seed, 0, MAX_SEED)
    _int_in("--trials", cfg.trials, 1, MAX_TRIALS)
    _int_in("--batch-size", cfg.batch_size, 1, MAX_BATCH)
    _int_in("--workers", cfg.workers, 1, MAX_WORKERS)
    _int_in("--train-epochs", cfg.train_epochs, 1, MAX_EPOCHS)
    _int_in("--train-resolution", cfg.train_resolution, *RESOLUTION)
    _int_in("proxy resolution", cfg.proxy_resolution, *RESOLUTION)
    _int_in("proxy batch", cfg.proxy_batch, 1, MAX_BATCH)
    g = cfg.gpus_per_trial
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or not 0 <= g <= 64:
        raise NasError(f"--gpus-per-trial must be a number in 0..64, got {g!r}")
