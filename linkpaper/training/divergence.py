"""A run that diverges: finding the first NaN or infinite loss, and the one-line error that says where.

The loop (``linkpaper.training.engine``) hands every step's losses to a :class:`LossWatch`. On the CPU it
reads each loss as it comes (reading a CPU scalar costs nothing); on a GPU it keeps two device
flags and reads them once per epoch, so no step waits for a device-to-host copy, and still names
the first bad step. :func:`diverged` turns what stopped a run into a :class:`DivergenceError`
that names the epoch, the step and the likely cause (damaged inputs, features too large to be
features, or a model that diverged), and records why the run stopped in its ``results.json``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from linkpaper.errors import UserError
from linkpaper.training.runs import CHECKPOINT_LAST

CHECK_EACH_STEP = ("cpu",)
"""Devices where the loss is checked at every step (reading a CPU scalar costs nothing)."""

HUGE_FEATURE = 1e6
"""Feature values beyond this are not features (CLIP / CLAP / R(2+1)D values are O(1) to O(10))."""

# BCE refuses probabilities outside [0, 1]: NaN ones raise this on the CPU and a device-side
# assert on CUDA, before any loss value exists.
_PROBABILITY_ERRORS = ("all elements of input should be between 0 and 1", "device-side assert")


class DivergenceError(UserError):
    """Training produced a NaN or infinite loss (or predictions); the message names where."""


class NonFiniteLoss(Exception):
    """Raised by :class:`LossWatch` at the first non-finite loss (``step`` is 1-based).

    what: what was non-finite; inputs: {field: NaN/inf count} of the step's batch; exact: False
    when the device reported the failure later than the step that caused it.
    """

    def __init__(self, step: int, steps: int, what: str, inputs: dict[str, int], exact: bool = True):
        super().__init__(f"{what} at step {step} of {steps}")
        self.step, self.steps, self.what, self.inputs, self.exact = step, steps, what, inputs, exact


def nonfinite_inputs(tensors: dict, index=None) -> dict[str, int]:
    """{field: count of NaN/inf values} of the floating-point fields (rows ``index``), non-zero only."""
    counts = {}
    for name, tensor in tensors.items():
        if tensor is None or not torch.is_floating_point(tensor):
            continue
        rows = tensor if index is None else tensor[index]
        bad = int((~torch.isfinite(rows)).sum())
        if bad:
            counts[name] = bad
    return counts


def count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {count} value(s)" for name, count in counts.items())


def _loss_text(losses: dict) -> str:
    terms = [
        name for name, value in losses.items() if name != "total" and not bool(torch.isfinite(value.detach()).all())
    ]
    return "the training loss is NaN or infinite" + (f" (terms: {', '.join(terms)})" if terms else "")


class LossWatch:
    """The first non-finite loss of one epoch.

    order: the epoch's permutation of the training rows (N,); tensors: the split's {field: (N, ...)}
    on ``device``; steps: the epoch's optimiser steps. Call ``check`` after every step and
    ``end_of_epoch`` after the last; ``probability_error`` explains a BCE that met NaN
    probabilities. Off the CPU the good steps are counted on the device (``finite_prefix``).
    """

    def __init__(self, device: torch.device, steps: int, batch_size: int, order: torch.Tensor, tensors: dict):
        self.each_step = device.type in CHECK_EACH_STEP
        self.steps, self.batch_size, self.order, self.tensors = steps, batch_size, order, tensors
        self.seen_bad = torch.zeros((), dtype=torch.bool, device=device)
        self.finite_prefix = torch.zeros((), dtype=torch.int64, device=device)

    def _rows(self, step: int) -> torch.Tensor:
        return self.order[(step - 1) * self.batch_size : step * self.batch_size]

    def check(self, step: int, losses: dict, batch: dict) -> None:
        """Raise NonFiniteLoss if step ``step`` (1-based)'s loss is not finite (on the CPU)."""
        total = losses["total"].detach()
        if self.each_step:
            if not bool(torch.isfinite(total)):
                raise NonFiniteLoss(step, self.steps, _loss_text(losses), nonfinite_inputs(batch))
        else:
            self.seen_bad |= ~torch.isfinite(total)
            self.finite_prefix += (~self.seen_bad).long()

    def end_of_epoch(self) -> None:
        """Raise NonFiniteLoss for the first bad step found by the device flags (one host read)."""
        if not self.each_step and bool(self.seen_bad):
            bad = int(self.finite_prefix) + 1
            raise NonFiniteLoss(
                bad,
                self.steps,
                "the training loss is NaN or infinite",
                nonfinite_inputs(self.tensors, self._rows(bad)),
            )

    def probability_error(self, err: RuntimeError, step: int) -> NonFiniteLoss:
        """NonFiniteLoss for a BCE that met NaN probabilities at ``step`` (or, on CUDA, earlier);
        ``err`` itself is raised again when it is any other error."""
        if not any(text in str(err) for text in _PROBABILITY_ERRORS):
            raise err
        exact = "device-side assert" not in str(err)  # CUDA reports an assert at a later sync
        what = "the model's probabilities are NaN, so the loss cannot be computed"
        try:
            if bool(self.seen_bad):  # an earlier non-finite loss (deferred check) is the real first step
                step, exact, what = int(self.finite_prefix) + 1, True, "the training loss is NaN or infinite"
            inputs = nonfinite_inputs(self.tensors, self._rows(step))
        except RuntimeError:  # after a device-side assert the device cannot be read any more
            inputs = {}
        return NonFiniteLoss(step, self.steps, what, inputs, exact=exact)


def _largest_feature(data) -> float:
    """The largest finite |value| of the train split's float inputs."""
    largest = 0.0
    for tensor in data.train.tensor_fields().values():
        if tensor.is_floating_point() and tensor.numel():
            finite = tensor[torch.isfinite(tensor)]
            if finite.numel():
                largest = max(largest, float(finite.abs().max()))
    return largest


def diverged(err: Exception, epoch: int, record, run_dir: Path | None, data) -> DivergenceError:
    """The one-line error for a NaN/inf loss or prediction in ``epoch``; records it in results.json.

    err: the NonFiniteLoss or DivergenceError that stopped the run; record: its RunRecord;
    data: the AVVPData it trained on.
    """
    cache = ""
    if data.source.get("root"):
        cache = (
            f" (delete the feature cache {Path(data.source['root']) / '.linkpaper-cache'} so the files "
            "are validated again)"
        )
    if isinstance(err, NonFiniteLoss):
        what = f"epoch {epoch}, {'step' if err.exact else 'at or before step'} {err.step} of {err.steps}: {err.what}"
        if err.inputs:
            what += (
                f"; the batch's input features hold non-finite values ({count_text(err.inputs)}): "
                f"the feature files or their cache are damaged{cache}"
            )
        elif (largest := _largest_feature(data)) > HUGE_FEATURE:
            what += (
                f"; the input features are finite but reach {largest:.3g}, which overflows the model whatever "
                f"the learning rate: they are not usable features (rescale or re-extract them){cache}"
            )
        else:
            what += "; the inputs are finite, so the model diverged (try a smaller learning rate or another seed)"
        stopped = {"reason": "non-finite loss", "epoch": epoch, "step": err.step}
    else:
        what = f"epoch {epoch}, validation: {err}" + (cache if "input features" in str(err) else "")
        stopped = {"reason": "non-finite validation predictions", "epoch": epoch, "step": None}
    kept = record.epochs[-1]["epoch"] if record.epochs else None
    if run_dir is None:
        saved = "nothing was saved (no run folder)"
    elif kept is None:
        saved = "no epoch finished, so nothing was saved"
    else:
        saved = f"{run_dir / CHECKPOINT_LAST} keeps epoch {kept}, the last finite one"
        record.with_stopped(stopped).write(run_dir)
    return DivergenceError(f"stopped at {what}; {saved}")
