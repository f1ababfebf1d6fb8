"""Search settings that mean something only together with another one: declared once, here, as data.

Two callers check them. ``nas search`` refuses every option of ``NEEDS`` that
the user typed while its condition does not hold (``nas.cli.flagdeps`` builds
its search rules from this table, so the CLI and the library give the same
line). ``nas.search.prepare`` checks them for Python callers, who have no
command line: there a setting counts as asked for when ``asked`` says so (a
value other than the one that asks for nothing). A need without ``asked`` is
checked by the CLI only: experiments fill one ``SearchConfig`` for several
strategies at once (``trials``, ``train_epochs`` and ``accuracy="train"`` for
dnas and evolution alike, experiments/dnas_fbnet), so an unread number there is
not a mistake; a setting that asks for a feature the search would then not run
(a benchmark seed, a Ray cluster, a Pareto front, a sweep) is refused in both.

``holds`` reads ``SearchConfig``'s field names; the CLI hands it its parsed
arguments under the same names (``export`` being ``not --no-export``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nas.errors import NasError
from nas.search.config import DIFFERENTIABLE

TRAINED = ("train", "predictor")          # --accuracy kinds that build and train candidates (on --data)


@dataclass(frozen=True)
class Need:
    option: str                           # the long flag, as `nas search` spells it
    holds: Callable[[object], bool]       # the option is read when this holds
    needs: str                            # the condition in words, naming its flags
    why: str                              # may quote settings: "{a.accuracy}"
    asked: Callable[[object], bool] | None = None   # a Python caller's config asks for it (None: CLI only)

    def message(self, a) -> str:
        return f"{self.option} {self.needs}: {self.why.format(a=a)}"


def differentiable(a) -> bool:
    """The settings (parsed flags or a SearchConfig) ask for a differentiable search (dnas)."""
    return a.strategy in DIFFERENTIABLE


def _ray_trains(a) -> bool:              # what --backend ray can run: trained candidates, or a dnas sweep
    return (a.accuracy == "train" and not differentiable(a)) or (bool(a.dnas_sweep) and differentiable(a))


NEEDS: tuple[Need, ...] = (
    Need("--allow-other-device", lambda a: bool(a.table), "needs --table", "it accepts a --table file made for "
         "another device or unit; the shipped tables are found by --device/--unit"),
    Need("--bench-seed", lambda a: a.accuracy == "benchmark", "needs --accuracy benchmark",
         "it picks one seed of a benchmark's recorded accuracies", asked=lambda c: c.bench_seed is not None),
    Need("--data", lambda a: a.accuracy in TRAINED or differentiable(a), "needs --accuracy train or predictor, or "
         "--strategy dnas", "only training reads images; --accuracy {a.accuracy} does not"),
    Need("--train-epochs", lambda a: a.accuracy in TRAINED and not differentiable(a), "needs --accuracy train or "
         "predictor (not --strategy dnas)", "epochs per trained candidate; dnas takes its epochs from --budget"),
    Need("--train-resolution", lambda a: a.accuracy in TRAINED or differentiable(a), "needs --accuracy train or "
         "predictor, or --strategy dnas", "the image size of training; --accuracy {a.accuracy} does not train"),
    Need("--accuracy", lambda a: not differentiable(a), "cannot go with --strategy dnas",
         "dnas scores its candidates by the supernet's own held-out accuracy",
         asked=lambda c: c.accuracy == "benchmark"),   # a benchmark is loaded and checked against the space
    Need("--trials", lambda a: not differentiable(a), "cannot go with --strategy dnas",
         "dnas trains for the epochs of its --budget, it does not evaluate a number of candidates"),
    Need("--batch-size", lambda a: not differentiable(a), "cannot go with --strategy dnas",
         "it is the number of candidates an ask/tell strategy proposes at once"),
    Need("--seed-from", lambda a: a.strategy == "evolution", "needs --strategy evolution",
         "only evolution starts from given networks; {a.strategy} would ignore them"),
    Need("--dnas-sweep", differentiable, "needs --strategy dnas", "it is a grid of dnas settings",
         asked=lambda c: bool(c.dnas_sweep)),
    Need("--objective", lambda a: a.objective == "accuracy" or a.strategy == "nsga2", "needs --strategy nsga2",
         "only NSGA-II keeps a Pareto front of several objectives", asked=lambda c: c.objective != "accuracy"),
    Need("--storage", lambda a: not differentiable(a), "cannot go with --strategy dnas",
         "dnas trains a supernet, it has no trials to record as optuna trials"),
    Need("--study-name", lambda a: bool(a.storage), "needs --storage", "it names the study in that storage"),
    Need("--backend", lambda a: a.backend != "ray" or _ray_trains(a), "ray needs --accuracy train, or "
         "--strategy dnas with --dnas-sweep", "Ray runs trainings as trials, the candidates of --accuracy train "
         "or the runs of a sweep (dnas trains one supernet: give --dnas-sweep, or run it locally, e.g. "
         "--device-torch cuda)", asked=lambda c: c.backend == "ray"),
    Need("--ray-address", lambda a: a.backend == "ray", "needs --backend ray", "--backend local trains one "
         "candidate after another in this process", asked=lambda c: bool(c.ray_address)),
    *(Need(o, lambda a: a.backend == "ray", "needs --backend ray", "--backend local trains one candidate after "
           "another in this process") for o in ("--workers", "--gpus-per-trial", "--ray-storage")),
    Need("--early-stop", lambda a: a.early_stop == "none" or (a.backend == "ray" and not differentiable(a)),
         "needs --backend ray (and candidates, not --strategy dnas)", "ASHA stops Ray trials of trained candidates",
         asked=lambda c: c.early_stop != "none"),
)


def check_needs(cfg) -> None:
    """Refuse the first setting of a ``SearchConfig`` that asks for something its other settings do not run."""
    for need in NEEDS:
        if need.asked is not None and need.asked(cfg) and not need.holds(cfg):
            raise NasError(need.message(cfg))
