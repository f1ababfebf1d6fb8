"""Every trial of a search as an optuna trial in an RDB study (``--storage sqlite:///PATH.db``).

Next to the JSON-lines log, each trial becomes one optuna trial of a study
that ``optuna.load_study``, a notebook or ``optuna-dashboard`` can open:

* ``params``: the decisions (decision name -> option label);
* ``values``: accuracy (maximize), then each latency (minimize) -- ``latency_ms``
  for one device, ``latency_ms@DEVICE/UNIT`` per pair for several;
* constraints: ``latency - target`` per latency (optuna's convention, <= 0 feasible);
* user attrs: ``dsl`` (the network), ``accuracy_kind``, ``latency_source`` and
  ``table_sha256`` per pair (where every per-layer latency was looked up),
  and what resuming needs (``nas_trial``, ``status``, ``choices``, ``metrics``).

A candidate over a target is never estimated, so it has no accuracy: it is
stored ``PRUNED`` with its latencies in ``metrics``; a failed one ``FAIL``.
The search settings are the study's ``nas_header`` user attr. ``--resume``
reads the stored trials back from the database (and the log, whichever holds
more; each fills in the other), so a search resumes from either.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path
from typing import Mapping, Sequence

from nas.errors import NasError
from nas.search.storage import Trial, check_header
from nas.search.strategies.base import Status


def default_study_name(space: str, strategy: str, seed: int) -> str:
    return f"nas-{space}-{strategy}-seed{seed}"


def check_storage(url: str, study_name: str, *, resume: bool) -> None:
    """Refuse a bad ``--storage`` before anything is written: URL, driver, file, study name."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError:           # a subclass of ArgumentError
        raise NasError(f"--storage {url!r}: no SQLAlchemy driver for {url.split(':', 1)[0]!r}") from None
    except ArgumentError:
        raise NasError(f"--storage {url!r} is not a database URL (e.g. sqlite:///search.db)") from None
    except ImportError as e:
        raise NasError(f"--storage {url!r}: its database driver is not installed ({e})") from None
    if parsed.get_backend_name() != "sqlite":
        return
    db = parsed.database
    if not db or db == ":memory:":
        raise NasError(f"--storage {url!r}: name a database file, e.g. sqlite:///search.db")
    path = Path(db)
    if not path.parent.is_dir():
        raise NasError(f"--storage {url!r}: folder {path.parent} does not exist")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            names = {r[0] for r in con.execute("select study_name from studies")} if "studies" in tables else set()
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        raise NasError(f"--storage {url!r}: {path} is not an SQLite database ({e})") from None
    if tables and "studies" not in tables:
        raise NasError(f"--storage {url!r}: {path} is an SQLite database but not an optuna one")
    if study_name in names and not resume:
        raise NasError(f"--storage {url!r} already holds study {study_name!r}: pass --resume to continue it, "
                       f"or choose another --study-name")


class StudyRecorder:
    """Appends trials to an optuna RDB study; reads them back for ``--resume``.

    Args:
        url: an optuna RDB URL.
        study_name: the study's name.
        space: the search space (decision names and option labels become params).
        targets: latency metric -> target ms (values and constraints follow its order).
        sources: latency metric -> ``{"summary": ..., "sha256": ...}`` of the table that priced it.
    """

    def __init__(self, url: str, study_name: str, *, space, targets: Mapping[str, float],
                 sources: Mapping[str, Mapping]):
        import optuna

        self._optuna, self.url, self.study_name = optuna, url, study_name
        self.targets, self.sources = dict(targets), {k: dict(v) for k, v in sources.items()}
        names = [d.name for d in space.decisions]
        self.names = names if len(set(names)) == len(names) else [f"{i}:{n}" for i, n in enumerate(names)]
        self.labels = [list(d.options) if len(set(d.options)) == len(d.options) else list(range(len(d.options)))
                       for d in space.decisions]
        self.distributions = {n: optuna.distributions.CategoricalDistribution(opts)
                              for n, opts in zip(self.names, self.labels)}
        self.metric_names = ["accuracy", *self.targets]
        self.study = None

    def open(self, header: dict, *, resume: bool) -> list[Trial]:
        """Create the study (or, resuming, load and check it); returns its stored trials."""
        optuna = self._optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        header = json.loads(json.dumps(header))
        exists = self.study_name in optuna.study.get_all_study_names(storage=self.url)
        if exists and not resume:
            raise NasError(f"--storage {self.url!r} already holds study {self.study_name!r}: pass --resume")
        if exists:
            self.study = optuna.load_study(study_name=self.study_name, storage=self.url)
            stored = self.study.user_attrs.get("nas_header")
            if not isinstance(stored, dict):
                raise NasError(f"--storage {self.url!r}: study {self.study_name!r} was not made by `nas search`")
            check_header(stored, header, f"{self.url} study {self.study_name!r}")
            return self._load()
        self.study = optuna.create_study(storage=self.url, study_name=self.study_name,
                                         directions=["maximize"] + ["minimize"] * len(self.targets))
        with warnings.catch_warnings():       # "experimental" since optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study.set_metric_names(self.metric_names)
        self.study.set_user_attr("nas_header", header)
        self.study.set_user_attr("latency_targets_ms", self.targets)
        self.study.set_user_attr("latency_sources", self.sources)
        return []

    def _load(self) -> list[Trial]:
        out = []
        for ft in self.study.get_trials(deepcopy=False):
            a = ft.user_attrs
            try:
                t = Trial.from_json({"trial": a["nas_trial"], "choices": a["choices"], "status": a["status"],
                                     "metrics": a["metrics"], "arch": a["dsl"],
                                     "accuracy_kind": a.get("accuracy_kind"), "wall_s": a.get("wall_s", 0.0)})
            except (KeyError, ValueError, TypeError) as e:
                raise NasError(f"--storage {self.url!r}: trial {ft.number} of study {self.study_name!r} is not a "
                               f"`nas search` trial ({e})") from None
            if t.index != len(out):
                raise NasError(f"--storage {self.url!r}: study {self.study_name!r} holds trial {t.index} at "
                               f"position {len(out)}")
            out.append(t)
        return out

    def append(self, trial: Trial) -> None:
        """Record one finished trial (committed before returning)."""
        TrialState = self._optuna.trial.TrialState
        r, m = trial.result, trial.result.metrics
        attrs = {"nas_trial": trial.index, "status": r.status.value, "choices": list(r.choices),
                 "metrics": m, "dsl": trial.arch, "accuracy_kind": trial.accuracy_kind,
                 "wall_s": round(trial.wall_s, 4),
                 "latency_source": {k: s.get("summary") for k, s in self.sources.items()},
                 "table_sha256": {k: s.get("sha256") for k, s in self.sources.items()}}
        lat = [m.get(k) for k in self.targets]
        constraints = {k: float(v - t) for v, (k, t) in zip(lat, self.targets.items()) if v is not None}
        if r.status is Status.OK:
            state, values = TrialState.COMPLETE, [float(r.accuracy), *map(float, lat)]
        elif r.status is Status.INFEASIBLE:
            state, values = TrialState.PRUNED, None
        else:
            state, values = TrialState.FAIL, None
        params = {n: self.labels[i][int(c)] for i, (n, c) in enumerate(zip(self.names, r.choices))}
        self.study.add_trial(self._optuna.trial.create_trial(
            state=state, values=values, params=params, distributions=self.distributions, user_attrs=attrs,
            constraints=constraints))


def reconcile(logged: Sequence[Trial], recorded: Sequence[Trial], log, recorder: StudyRecorder) -> list[Trial]:
    """The stored history from the log and the database: they must agree; the longer fills in the other."""
    for a, b in zip(logged, recorded):
        if tuple(a.result.choices) != tuple(b.result.choices) or a.result.status != b.result.status:
            raise NasError(f"trial {a.index} differs between {log.path} and study {recorder.study_name!r} in "
                           f"{recorder.url}: they are from different searches")
    for t in recorded[len(logged):]:
        log.append(t)
    for t in logged[len(recorded):]:
        recorder.append(t)
    return list(logged if len(logged) >= len(recorded) else recorded)


class Recording:
    """The search's ``on_trial``: the JSON-lines log first, then the study."""

    def __init__(self, log, recorder: StudyRecorder):
        self.log, self.recorder, self.study_name = log, recorder, recorder.study_name

    def __call__(self, trial: Trial) -> None:
        self.log.append(trial)
        try:
            self.recorder.append(trial)
        except Exception as e:  # noqa: BLE001 -- any database failure: the log holds the trial, resume refills
            raise NasError(f"--storage {self.recorder.url!r}: could not record trial {trial.index} "
                           f"({type(e).__name__}: {e}); it is in {self.log.path}, and --resume copies it "
                           f"into the study") from e


def open_recorder(prep, targets: Mapping[str, float], header: dict, log, logged: Sequence[Trial]):
    """Open ``--storage`` for a prepared search: (stored history, the ``on_trial`` that writes both)."""
    cfg = prep.config
    if prep.multi is not None:
        from nas.search.multi import table_info
        sources = {c.key: table_info(t) for c, t in zip(prep.multi.constraints, prep.multi.tables)}
    else:
        sources = {"latency_ms": prep.table_info}
    name = cfg.study_name or default_study_name(prep.space.name, cfg.strategy, cfg.seed)
    recorder = StudyRecorder(cfg.storage, name, space=prep.space, targets=targets, sources=sources)
    recorded = recorder.open(header, resume=cfg.resume)
    return reconcile(logged, recorded, log, recorder), Recording(log, recorder)
