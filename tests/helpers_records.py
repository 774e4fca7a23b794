"""A fabricated run record whose test scores at the selected and at the last epoch are set
(model selection), for the tests of the chapter readers."""

from __future__ import annotations


def selection_record(root, slug, model, seed, selected=66.0, last=None, best_epoch=20, source=None):
    """A run record whose test row holds ``selected`` and whose last-epoch row ``last`` (None: not
    recorded) in segment Type@AV (column 3) and event Type@AV (column 8)."""
    from linkpaper.training.runs import RunRecord

    folder = root / slug / f"seed{seed}"
    folder.mkdir(parents=True)
    row = [0.0] * 10
    row[3] = row[8] = selected
    last_row = None
    if last is not None:
        last_row = [0.0] * 10
        last_row[3] = last_row[8] = last
    source = source or {"kind": "synth", "preset": "small", "seed": 0}
    RunRecord(
        config={"model": model, "epochs": 60, "data": "synth:small", "warmup_epochs": 10, "device": "cpu"},
        data={"description": "SynthLLP small", "source": source},
        seed=seed,
        plsim={"used": False, "labels": "none"},
        epochs=[{"epoch": 1}],
        best_epoch=best_epoch,
        complete=True,
        test_row=row,
        last_epoch_test_row=last_row,
        code={"commit": "x"},
        hardware={},
    ).write(folder)
