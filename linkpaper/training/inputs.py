"""What a run was trained on, as checksums: recorded in every run record and compared wherever a
run continues or is re-scored (``train --resume``, grid reuse, ``test``).

A run record's ``data["inputs"]`` holds

* ``annotations``: the sha256 of every annotation file the data was built from (the three split
  lists, the two dense ground-truth files, and for SynthLLP the GloVe class table), keyed by file
  name; for ``llp:`` data the checksums ``load_llp`` recorded in ``data["source"]``;
* ``fingerprint``: a sha256 over every array of the three splits (file names, features, labels,
  teacher labels, ground truth) and the text tables: the data the model saw, number for number.

A changed annotation file changes the ground truth a run is scored on; a changed fingerprint
means other features (an ``llp:`` folder regenerated with another seed, edited files). Either
one is refused with one line naming what changed (:func:`check_inputs`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from linkpaper.errors import UserError

SYNTH_ANNOTATIONS = ("train", "val", "test", "eval_audio", "eval_visual", "glove")
"""The public files SynthLLP is generated from (``linkpaper.data.files.ANNOTATION_FILES`` keys)."""


def annotation_checksums(source: dict, data_dir=None) -> dict[str, str]:
    """``{file name: sha256}`` of the annotation files behind data whose ``source`` is given:
    what ``load_llp`` recorded, else (SynthLLP generated in memory) the files under ``data_dir``."""
    if isinstance(source.get("checksums"), dict):
        return dict(source["checksums"])
    from linkpaper.data.download import sha256_of
    from linkpaper.data.files import MissingDataError, annotation_path

    checksums = {}
    for key in SYNTH_ANNOTATIONS:
        try:
            path = annotation_path(key, data_dir)
        except MissingDataError:  # the GloVe table is optional (generation notes its absence)
            continue
        checksums[path.name] = sha256_of(path)
    return checksums


def data_fingerprint(data) -> str:
    """sha256 (32 hex digits) over the file names and every array of the three splits of an
    ``AVVPData`` and its text tables."""
    digest = hashlib.sha256()
    for split in (data.train, data.val, data.test):
        digest.update(f"{split.name}:{len(split)}\n".encode())
        digest.update("\n".join(split.filenames).encode())
        for name, tensor in sorted(split.tensor_fields().items()):
            array = np.ascontiguousarray(tensor.detach().cpu().numpy())
            digest.update(f"{name}{array.shape}{array.dtype}".encode())
            digest.update(memoryview(array).cast("B"))
    for table in (data.text_audio, data.text_visual):
        if table is not None:
            digest.update(np.ascontiguousarray(table.detach().cpu().numpy()).tobytes())
    return digest.hexdigest()[:32]


def run_inputs(data, data_dir=None) -> dict:
    """``{"annotations": {...}, "fingerprint": ...}`` of ``data`` (see the module docstring)."""
    return {"annotations": annotation_checksums(data.source, data_dir), "fingerprint": data_fingerprint(data)}


def input_changes(recorded: dict | None, current: dict) -> list[str]:
    """What differs between a record's inputs and the current ones: ``["AVVP_test_pd.csv: sha256
    1a2b3c4d... -> 5e6f...", "data fingerprint: ... -> ..."]``. A record without inputs (written
    before they were recorded) has nothing to compare: []."""
    if not isinstance(recorded, dict):
        return []
    changes = []
    old, new = recorded.get("annotations"), current.get("annotations", {})
    if isinstance(old, dict):
        for name in sorted(set(old) | set(new)):
            a, b = old.get(name), new.get(name)
            if a != b:
                changes.append(f"{name}: sha256 {_short(a)} -> {_short(b)}")
    if recorded.get("fingerprint") and current.get("fingerprint") and recorded["fingerprint"] != current["fingerprint"]:
        changes.append(
            f"data fingerprint {_short(recorded['fingerprint'])} -> {_short(current['fingerprint'])} "
            "(other features or labels)"
        )
    return changes


def _short(value) -> str:
    return "absent" if value is None else f"{str(value)[:12]}..."


def check_inputs(recorded: dict | None, current: dict, where, action: str) -> None:
    """Raise one UserError naming ``where`` (the record) and every change when the inputs a run was
    trained on differ from the current ones. ``action``: what was refused (``"--resume"``)."""
    changes = input_changes(recorded, current)
    if changes:
        raise UserError(
            f"{action}: {where} was trained on other inputs than the data now given ({'; '.join(changes)}); "
            "its numbers would mix two datasets. Restore the original data (or --data-dir), or train a new run "
            "into a new --out"
        )


def recorded_inputs(record) -> dict | None:
    """The ``data["inputs"]`` of a run record (a RunRecord or a results.json dict), or None."""
    data = record.get("data") if hasattr(record, "get") else None
    inputs = data.get("inputs") if isinstance(data, dict) else None
    return inputs if isinstance(inputs, dict) else None


def check_resume_inputs(run_dir, current: dict) -> None:
    """``train --resume``: refuse when the run's results.json records other inputs than ``current``."""
    from linkpaper.training.runs import RESULTS_FILE, read_results

    path = Path(run_dir) / RESULTS_FILE
    if path.is_file():
        check_inputs(recorded_inputs(read_results(run_dir, full=False)), current, path, "--resume")


def spec_annotation_checksums(spec: str, data_dir=None) -> dict[str, str] | None:
    """The ``annotations`` checksums a run on data ``spec`` would record, from the files alone
    (nothing generated or loaded); None when a file is missing (the run itself will say so)."""
    from linkpaper.data.download import sha256_of
    from linkpaper.data.files import MissingDataError, annotation_path
    from linkpaper.data.sources import parse_spec

    try:
        parsed = parse_spec(spec)
        if parsed["kind"] == "synth":
            return annotation_checksums({}, data_dir)
        from linkpaper.data.features import SPLIT_CSV, SPLITS_DIR, split_csv_path

        root = parsed["root"]
        used = [split_csv_path(root, name, data_dir) for name in SPLIT_CSV]
        used += [annotation_path("eval_audio", data_dir), annotation_path("eval_visual", data_dir)]
        return {
            (f"{SPLITS_DIR}/{path.name}" if path.parent == root / SPLITS_DIR else path.name): sha256_of(path)
            for path in used
        }
    except (MissingDataError, OSError, UserError):
        return None


def annotation_changes(record, current: dict[str, str] | None) -> list[str]:
    """:func:`input_changes` restricted to the annotation checksums (what a grid can check
    without loading the data)."""
    inputs = recorded_inputs(record)
    if inputs is None or current is None or not isinstance(inputs.get("annotations"), dict):
        return []
    return input_changes({"annotations": inputs["annotations"]}, {"annotations": current})


SYNTH_IDENTITY = ("preset", "seed", "config", "teachers")
"""The source entries that identify a SynthLLP generation (its knobs and its teachers)."""


def check_source(recorded: dict | None, current: dict, where, action: str) -> None:
    """For records without inputs (written before they were recorded): refuse SynthLLP data whose
    generation differs from the recorded one (other knobs, e.g. a calibration run's override,
    or teachers of another generator), with one line naming what differs."""
    if not isinstance(recorded, dict) or recorded.get("kind") != "synth" or current.get("kind") != "synth":
        return
    differing = [key for key in SYNTH_IDENTITY if recorded.get(key) != current.get(key)]
    if differing:
        raise UserError(
            f"{action}: {where} was trained on another SynthLLP generation than the data now given "
            f"({', '.join(differing)} differ); regenerate it with the recorded settings (data.source in the "
            "record) and pass it as data, or train a new run"
        )
