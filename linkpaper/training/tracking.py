"""Live training curves (``--log tensorboard``): each finished epoch, as TensorBoard scalars.

The run record (``results.json``) stays the source of truth; the log is a view of the same
per-epoch entry (``RunRecord.epochs[-1]``) written while the run goes, into
``RUN/tensorboard/``:

* ``loss/<term>``: every training loss term of the epoch (mean over its batches, ``total`` too);
* ``val/<level>/<score>``: the validation F-scores (segment and event level, Type@AV, ...);
* ``lr``: the epoch's learning rate;
* ``diagnostics/<name>``: the modules' scalars (CMIM's alpha and beta, S-LOSS's mu, PLSIM's
  active fractions, the alignment of the hidden features with the pseudo labels).

Open it with ``tensorboard --logdir RUN_OR_GRID_FOLDER``. TensorBoard is imported only when a
run asks for it (the ``[tracking]`` extra: ``pip install -e '.[tracking]'``).
"""

from __future__ import annotations

from pathlib import Path

from linkpaper.errors import ConfigError

LOG_DIR = "tensorboard"
"""The log's folder inside a run folder."""


class TensorBoardLog:
    """A ``SummaryWriter`` on ``run_dir/tensorboard`` that writes one epoch entry at a time."""

    def __init__(self, run_dir: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "--log tensorboard: the tensorboard package is not installed; install the [tracking] extra "
                "(pip install -e '.[tracking]') or leave --log out"
            ) from None
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / LOG_DIR))

    def log_epoch(self, entry: dict) -> None:
        """Write one ``RunRecord.epochs`` entry (``epoch``, ``lr``, ``train_loss``, ``val``,
        ``diagnostics``) as scalars at step ``epoch``."""
        epoch = entry["epoch"]
        self.writer.add_scalar("lr", entry["lr"], epoch)
        for name, value in entry["train_loss"].items():
            self.writer.add_scalar(f"loss/{name}", value, epoch)
        for level, scores in entry["val"].items():
            for name, value in scores.items():
                self.writer.add_scalar(f"val/{level}/{name}", value, epoch)
        for name, value in entry.get("diagnostics", {}).items():
            self.writer.add_scalar(f"diagnostics/{name}", value, epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class NoLog:
    """What a run without ``--log`` gets: nothing is written and nothing is imported."""

    def log_epoch(self, entry: dict) -> None:
        pass

    def close(self) -> None:
        pass


def open_log(kind: str | None, run_dir: str | Path | None):
    """The live log of a run: :class:`NoLog` for ``kind=None``, else a :class:`TensorBoardLog`
    in ``run_dir`` (which must be given: the log lives in the run folder)."""
    if kind is None:
        return NoLog()
    if run_dir is None:
        raise ConfigError(f"--log {kind}: the log is written into the run folder; give the run an --out folder")
    return TensorBoardLog(run_dir)
