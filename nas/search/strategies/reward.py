"""MnasNet's latency-aware reward: ``ACC * (LAT / T) ** w`` (Tan et al. 2019, eq. 2)."""

from __future__ import annotations

SOFT_W = -0.07


def mnas_reward(accuracy: float, latency_ms: float, target_ms: float, *, mode: str = "soft",
                w: float = SOFT_W) -> float:
    """Soft: ``w`` on both sides of the target. Hard: ``w = -1`` above the target, 0 below."""
    if mode == "soft":
        exponent = w
    elif mode == "hard":
        exponent = -1.0 if latency_ms > target_ms else 0.0
    else:
        raise ValueError(f"reward mode must be 'soft' or 'hard', got {mode!r}")
    return accuracy * (latency_ms / target_ms) ** exponent
