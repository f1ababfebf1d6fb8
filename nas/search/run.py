"""The search loop: ask the strategy, evaluate (or replay from the log), tell, repeat.

Resuming is replaying: the strategy is rebuilt from its seed and asked again;
proposals already in the log are checked to be the same and told from the log
instead of being evaluated, so an interrupted and resumed search makes exactly
the proposals and reaches exactly the result of an uninterrupted one.
"""

from __future__ import annotations

from typing import Callable, Sequence

from nas.errors import NasError
from nas.search.evaluate import Evaluator
from nas.search.storage import Trial
from nas.search.strategies.base import Strategy


def run(strategy: Strategy, evaluator: Evaluator, *, trials: int, batch_size: int,
        stored: Sequence[Trial] = (), on_trial: Callable[[Trial], None] | None = None,
        on_progress: Callable[[int], None] | None = None, source: str = "the trial log") -> list[Trial]:
    """Run ``trials`` evaluations in batches; ``stored`` trials (read from ``source``) are replayed."""
    if trials < 1 or batch_size < 1:
        raise ValueError(f"trials and batch_size must be >= 1, got {trials}, {batch_size}")
    done: list[Trial] = []

    def finished(trial: Trial) -> None:      # progress moves per trial, as the evaluator hands them on
        if on_trial:
            on_trial(trial)
        if on_progress:
            on_progress(1)

    while len(done) < trials:
        proposals = strategy.ask(min(batch_size, trials - len(done)))
        logged = list(stored[len(done):len(done) + len(proposals)])
        for trial, choices in zip(logged, proposals):
            if tuple(trial.result.choices) != tuple(choices):
                raise NasError(f"{source}: trial {trial.index} is {list(trial.result.choices)[:20]} but the "
                               f"strategy now proposes {list(choices)}: the log is from another search")
            evaluator.replay(trial)
        if on_progress and logged:
            on_progress(len(logged))
        fresh = evaluator.evaluate(proposals[len(logged):], first_index=len(done) + len(logged),
                                   on_trial=finished)
        batch = logged + fresh
        strategy.tell([t.result for t in batch])
        done += batch
    return done
