"""Multi-stage methods (JoMoLD): train the stage before, hand over, train the method.

    fit_stages(TrainConfig(model="jomold", ...), "runs/jomold_seed87")

trains ``jomold/estimator`` (the registry's ``previous_stage``) in ``OUT/estimator``, calls the
method's ``hand_over(estimator, data, config)``, writes what it handed over to
``OUT/hand_over.json`` and trains ``jomold`` in ``OUT`` with the hand-over applied to its fresh
network (``engine.fit``'s ``prepare``). Each stage is an ordinary run folder: an interrupted
command resumes whichever stage it was in, and a finished estimator is not trained again.
Every stage uses the run's seed and recipe fields (epochs, batch, lr, ...).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from linkpaper.data.sources import load_data
from linkpaper.models.registry import get_method
from linkpaper.safe_io import atomic_write_json
from linkpaper.training.runs import check_run_dir

HAND_OVER_FILE = "hand_over.json"


def stage_dir(out_dir: Path | None, stage: str) -> Path | None:
    """Where a previous stage's run folder lives: ``OUT/<stage name after the slash>``."""
    return None if out_dir is None else out_dir / stage.rpartition("/")[2]


def fit_stages(
    config, out_dir=None, data=None, *, resume: bool = False, stop_after: int | None = None, progress: bool = True
):
    """Train a method and every stage before it; returns the last stage's ``engine.Fitted``.

    ``stop_after`` applies to the last stage only (the earlier ones always finish). The last
    stage's record holds ``method.stages``: each earlier stage's name, run folder, best epoch
    and what it handed over.
    """
    from linkpaper.training.engine import fit

    config.validate()
    method = get_method(config.model)
    out_dir = Path(out_dir) if out_dir is not None else None
    if out_dir is not None:
        check_run_dir(out_dir, resume)  # a finished or unfinished final stage needs --resume, before any work
    if data is None:
        data = load_data(config.data, data_dir=config.data_dir)
    previous_config = dataclasses.replace(config, model=method.previous_stage)
    previous_dir = stage_dir(out_dir, method.previous_stage)
    previous_resume = resume or (previous_dir is not None and previous_dir.exists())
    if method.previous_stage and get_method(method.previous_stage).previous_stage:
        previous = fit_stages(previous_config, previous_dir, data, resume=previous_resume, progress=progress)
    else:
        previous = fit(previous_config, previous_dir, data, resume=previous_resume, progress=progress)
    prepare_model, handed = method.hand_over_function()(previous.model, data, config)
    stage = {
        "name": method.previous_stage,
        "run_dir": None if previous_dir is None else previous_dir.name,
        "best_epoch": previous.record.best_epoch,
        **handed,
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out_dir / HAND_OVER_FILE, stage)

    def prepare(model, record) -> None:
        prepare_model(model)
        record.extra["method"]["stages"] = [stage]

    return fit(config, out_dir, data, resume=resume, stop_after=stop_after, progress=progress, prepare=prepare)
