"""Write the quality of a SynthLLP generation's teachers to a JSON file (chapter 3 reads it).

    LINKPAPER_DATA=DIR python scripts/teacher_report.py --data synth:small --out results/synth_teachers/valor_like.json
    LINKPAPER_DATA=DIR python scripts/teacher_report.py --data llp:runs/old_synth --label "..." --out ...

``--data`` is any data specification (``synth:PRESET[:SEED]``, or ``llp:DIR`` for a folder that
``python -m linkpaper synth`` wrote, e.g. with an older version of the generator). The file holds
``linkpaper.data.synth.teacher_report`` over val + test, the data's description, its
generation settings and the commit of the code that read it. ``--test-labels FILE`` also keeps
the test split's ungated teacher labels (``.npz``: ``filenames``, ``audio`` and ``visual`` (N, 10,
25) bool, and ``source``, the generation's settings as JSON; about 100 kB), which chapter 9 needs
for a generation the present code no longer makes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from linkpaper.data.sources import load_data
from linkpaper.data.synth import teacher_report
from linkpaper.safe_io import atomic_write_json
from linkpaper.training.provenance import git_commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synth:small")
    parser.add_argument("--label", default="", help="what this generation is (kept in the file)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--test-labels", type=Path, help="also write the test split's ungated labels here (.npz)")
    args = parser.parse_args()
    data = load_data(args.data)
    report = {
        "label": args.label,
        "data": args.data,
        "description": data.describe(),
        "source": {k: v for k, v in data.source.items() if k in ("kind", "preset", "seed", "config", "teachers")},
        "code": git_commit(),
        **teacher_report(data),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, report)
    if args.test_labels:
        test = data.test
        tmp = args.test_labels.with_name(args.test_labels.name + ".partial.npz")
        np.savez_compressed(
            tmp,
            filenames=np.array(test.filenames),
            audio=test.pseudo_audio_ungated.numpy() > 0.5,
            visual=test.pseudo_visual_ungated.numpy() > 0.5,
            source=np.array(json.dumps(report["source"], sort_keys=True)),
        )
        tmp.replace(args.test_labels)
    print(
        f"wrote {args.out}: gated visual video precision {report['videos']['visual']['precision']:.3f}, "
        f"as predictions Seg Type@AV {report['as_predictions'][3]:.2f}"
    )


if __name__ == "__main__":
    main()
