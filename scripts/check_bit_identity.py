"""Record the numbers a fixed set of runs gives, or compare two such recordings bit for bit.

    python scripts/check_bit_identity.py record OUT_DIR     # train the runs below, write OUT_DIR/*.json
    python scripts/check_bit_identity.py compare OLD_DIR NEW_DIR

The runs: four small models (valor++, link, +S, +S/leap; hidden 32, one layer) for 2 epochs on
``synth:tiny`` through ``linkpaper.training.engine.train``, and two default-size runs (valor++, link) for 2
epochs on ``synth:small`` through the command line (``python -m linkpaper train ... --out DIR``),
whose ``results.json`` is kept. A refactoring that claims "behaviour unchanged" records before
and after and compares: every number must be equal as written (JSON text), only timing
(``seconds``), the code version (``code``) and the hardware (``hardware``) may differ. A
configuration key added since (``linkpaper.training.runs.ADDED_CONFIG_KEYS``, e.g. ``precision``) that a
recording holds at the value a record without it means (``fp32``) is the same as its absence:
the comparison says which such keys it found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SMALL_MODELS = ("valor++", "link", "+S", "+S/leap")
CLI_MODELS = ("valor++", "link")
IGNORED = {"seconds", "code", "hardware"}


def _slug(name: str) -> str:
    return name.replace("+", "p").replace("/", "_")


def _as_dict(record) -> dict:
    return record.to_dict() if hasattr(record, "to_dict") else record


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def record(out: Path) -> None:
    from linkpaper.training.engine import train
    from linkpaper.training.recipe import TrainConfig

    out.mkdir(parents=True, exist_ok=True)
    for model in SMALL_MODELS:
        config = TrainConfig(
            model=model,
            model_overrides={"hidden_dim": 32, "num_layers": 1, "ff_dim": 64},
            data="synth:tiny",
            epochs=2,
            warmup_epochs=1,
            batch_size=16,
            seed=5,
            num_threads=1,
        )
        result = _as_dict(train(config, None, progress=False))
        kept = {
            "test_row": result["test_row"],
            "train_loss": [e["train_loss"] for e in result["epochs"]],
            "val": [e["val"] for e in result["epochs"]],
            "diagnostics": [e["diagnostics"] for e in result["epochs"]],
            "record": _strip(result),
        }
        (out / f"tiny_{_slug(model)}.json").write_text(json.dumps(kept, indent=1) + "\n")
        print(f"tiny {model}: test_row {result['test_row'][:3]} ...", flush=True)
    for model in CLI_MODELS:
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "linkpaper",
                    "train",
                    "--model",
                    model,
                    "--data",
                    "synth:small",
                    "--epochs",
                    "2",
                    "--warmup-epochs",
                    "1",
                    "--threads",
                    "1",
                    "--device",
                    "cpu",
                    "--out",
                    str(run),
                ],
                check=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
            result = json.loads((run / "results.json").read_text())
        (out / f"cli_{_slug(model)}.json").write_text(json.dumps(_strip(result), indent=1) + "\n")
        print(f"cli {model}: test_row {result['test_row'][:3]} ...", flush=True)


def _without_added_keys(value, found: set):
    """``value`` with every ``config`` dict's ADDED_CONFIG_KEYS entries removed where they hold the
    value their absence means (their names are added to ``found``)."""
    from linkpaper.training.runs import ADDED_CONFIG_KEYS

    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "config" and isinstance(item, dict):
                kept = {k: v for k, v in item.items() if not (k in ADDED_CONFIG_KEYS and v == ADDED_CONFIG_KEYS[k])}
                found.update(set(item) - set(kept))
                item = kept
            out[key] = _without_added_keys(item, found)
        return out
    if isinstance(value, list):
        return [_without_added_keys(v, found) for v in value]
    return value


def compare(old: Path, new: Path) -> int:
    names = sorted(p.name for p in old.glob("*.json"))
    if not names:
        print(f"{old}: no recordings")
        return 2
    failures = 0
    for name in names:
        other = new / name
        if not other.is_file():
            print(f"MISSING {name}")
            failures += 1
            continue
        found: set = set()
        a = _without_added_keys(json.loads((old / name).read_text()), found)
        b = _without_added_keys(json.loads(other.read_text()), found)
        same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
        note = f" (added configuration keys at their default: {', '.join(sorted(found))})" if found else ""
        print(f"{'IDENTICAL' if same else 'DIFFERENT'} {name}{note}")
        failures += not same
    print("bit-identical" if not failures else f"{failures} recording(s) differ")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "record":
        record(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
