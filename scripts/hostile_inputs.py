"""Try the commands the way a careless or malicious user and a faulty machine would, and count
the outcomes that are neither a clear error nor correct behaviour.

    python scripts/hostile_inputs.py [--keep DIR] [-k SUBSTRING]

Every case runs ``python -m linkpaper ...`` (``linkpaper.cli.main``) or
``scripts/collect_results.py`` in this process, inside a fresh folder of a sandbox, and is
judged by what a user sees and what is left on disk:

* ``error``: exit status 2, exactly one ``error:`` line on stderr (naming what the case expects),
  no traceback;
* ``ok``: exit status 0 (and the case's own check of the result, e.g. files kept);
* ``differs``: exit status 1 with a WARNING (``test`` of a run whose checkpoint is not its own);
* always: no file written or deleted outside the case's folder, and no ``*.tmp`` / ``*.partial``
  / ``*.synthllp-tmp`` left anywhere in it.

Anything else (a traceback, another exit status, a second line, a file outside its folder, a case
running past 120 s) is a failure and is listed. The exit status is the number of failures
(0: every case ended in a clear error or in correct behaviour). It needs the LLP annotations
($LINKPAPER_DATA) and takes a few minutes on a CPU (it trains three one-epoch runs on
``synth:tiny``). Killing ``grid --executor local`` is tested in ``tests/test_grid_shutdown.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pickle
import resource
import shutil
import signal
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkpaper.cli import main as linkpaper_main
from linkpaper.data.files import resolve_data_dir

SMALL = ["--model-override", "hidden_dim=32", "--model-override", "num_layers=1", "--model-override", "ff_dim=64"]
TRAIN = [
    "train",
    "--model",
    "valor++",
    "--data",
    "synth:tiny",
    "--epochs",
    "1",
    "--batch-size",
    "16",
    "--threads",
    "1",
    "--quiet",
    *SMALL,
]
LEFTOVER = (".tmp", ".partial", ".synthllp-tmp")
CASE_SECONDS = 120


@dataclass
class Case:
    name: str
    argv: Callable[[Path], list]  # the command line, given the case folder
    expect: str  # "error", "ok" or "differs"
    message: str = ""  # a text the output must hold
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path], str | None] | None = None  # after the run: a problem, or None
    collect: bool = False  # scripts/collect_results.py instead of python -m linkpaper
    file_size_limit: int | None = None  # RLIMIT_FSIZE during the run: a full disk


# ------------------------------------------------------------------------------------ fixtures


class Fixtures:
    """Things several cases copy: a finished run, a second run, an annotation folder."""

    def __init__(self, root: Path, data_dir: Path):
        self.root, self.data_dir = root, data_dir
        self.annotations = root / "annotations"
        shutil.copytree(data_dir / "llp", self.annotations / "llp", ignore=shutil.ignore_patterns("demo_frames"))
        shutil.copytree(data_dir / "leap", self.annotations / "leap")
        self.run = root / "run"
        self.other = root / "other"
        self.unfinished = root / "unfinished"
        for folder, extra in ((self.run, ["--seed", "5"]), (self.other, ["--seed", "6"])):
            _quiet(linkpaper_main, [*TRAIN, *extra, "--data-dir", str(self.annotations), "--out", str(folder)])
        shutil.copytree(self.run, self.unfinished)  # as if stopped after its first of 3 epochs
        record = json.loads((self.unfinished / "results.json").read_text())
        record.update(complete=False)
        for key in ("test", "test_row", "predictions"):
            record.pop(key, None)
        record["config"]["epochs"] = 3
        (self.unfinished / "results.json").write_text(json.dumps(record))
        grid = ROOT / "results" / "synth_small_grid" / "link" / "seed87"
        self.grid = root / "grid"
        (self.grid / "link" / "seed87").mkdir(parents=True)
        for name in ("results.json", "test_predictions.npz"):
            shutil.copyfile(grid / name, self.grid / "link" / "seed87" / name)

    def copy_run(self, case_dir: Path, source: Path | None = None) -> Path:
        target = case_dir / "run"
        shutil.copytree(source or self.run, target)
        return target

    def copy_annotations(self, case_dir: Path) -> Path:
        target = case_dir / "data"
        shutil.copytree(self.annotations, target)
        return target


def _quiet(function, argv) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = function(argv)
    if status != 0:
        raise RuntimeError(f"fixture command failed: {argv}")
    return status


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _write_text(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def _bomb(path: Path, rows: int = 32_000) -> None:
    """A small .npz whose frame_prob member inflates to rows x 2 kB of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.array(["abcdefghijk_0_10"]))
        archive.writestr("filename.npy", buffer.getvalue())
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((1, 25), np.float32))
        archive.writestr("video_prob.npy", buffer.getvalue())
        with archive.open("frame_prob.npy", "w", force_zip64=True) as member:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f4", "fortran_order": False, "shape": (rows, 10, 2, 25)}
            )
            member.write(header.getvalue())
            for _ in range(rows * 2000 // 2**20):
                member.write(bytes(2**20))
            member.write(bytes(rows * 2000 % 2**20))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


# ------------------------------------------------------------------------------------ the cases


def cases(fx: Fixtures) -> list[Case]:
    data = str(fx.data_dir)
    out = []

    def add(*args, **kwargs):
        out.append(Case(*args, **kwargs))

    # 1. data lost -------------------------------------------------------------------------------
    def grid_copy(d):
        shutil.copytree(fx.grid, d / "src")

    def src_unchanged(d):
        same = (d / "src/link/seed87/test_predictions.npz").read_bytes() == (
            fx.grid / "link/seed87/test_predictions.npz"
        ).read_bytes()
        return None if same else "SRC's test_predictions.npz was changed"

    add(
        "collect --predictions absolute",
        lambda d: [d / "src", d / "dst", "--predictions", str((d / "src/link/seed87").resolve())],
        "error",
        "absolute path",
        grid_copy,
        src_unchanged,
        collect=True,
    )
    add(
        "collect --predictions ../src/...",
        lambda d: [d / "src", d / "dst", "--predictions", "../src/link/seed87"],
        "error",
        "leaves SRC",
        grid_copy,
        src_unchanged,
        collect=True,
    )
    add(
        "collect DST inside SRC",
        lambda d: [d / "src", d / "src" / "collected"],
        "error",
        "inside SRC",
        grid_copy,
        collect=True,
    )
    add(
        "collect DST is a file",
        lambda d: [d / "src", d / "file"],
        "error",
        "is a file",
        lambda d: (grid_copy(d), _write_text(d / "file", "x")),
        collect=True,
    )
    add(
        "collect DST under a file",
        lambda d: [d / "src", d / "file" / "dst"],
        "error",
        "lies under",
        lambda d: (grid_copy(d), _write_text(d / "file", "x")),
        collect=True,
    )
    add(
        "collect full disk (records)",
        lambda d: [d / "src", d / "dst"],
        "error",
        "cannot write",
        grid_copy,
        collect=True,
        file_size_limit=8_000,
    )
    add(
        "collect full disk (float16 predictions)",
        lambda d: [d / "src", d / "dst", "--predictions", "link/seed87"],
        "error",
        "cannot write",
        grid_copy,
        collect=True,
        file_size_limit=500_000,
    )
    add(
        "collect a good grid",
        lambda d: [d / "src", d / "dst", "--predictions", "link/seed87"],
        "ok",
        "",
        grid_copy,
        lambda d: None if (d / "dst/link/seed87/test_predictions.npz").is_file() else "nothing copied",
        collect=True,
    )

    def escaping_data(d):
        target = fx.copy_annotations(d)
        csv = target / "llp" / "AVVP_train.csv"
        lines = csv.read_text().splitlines()
        lines[1] = "../../../VV_0_10\t" + lines[1].split("\t", 1)[1]
        csv.write_text("\n".join(lines) + "\n")

    add(
        "synth --data-dir with an escaping id",
        lambda d: ["synth", "--preset", "tiny", "--data-dir", d / "data", "--out", d / "a/b/c/out", "--no-progress"],
        "error",
        "is not an LLP filename",
        escaping_data,
    )

    def synth_with_edited_list(d):
        _quiet(
            linkpaper_main,
            ["synth", "--preset", "tiny", "--data-dir", data, "--out", str(d / "a/b/out"), "--no-progress"],
        )
        csv = d / "a/b/out/splits/AVVP_train.csv"
        csv.write_text(csv.read_text() + "../../../VV_0_10\tDog\n")
        np.save(d / "a" / "VV.npy", np.zeros(1))
        np.save(d / "a/b" / "VV.npy", np.zeros(1))

    add(
        "synth --overwrite over an edited split list",
        lambda d: [
            "synth",
            "--preset",
            "tiny",
            "--seed",
            "1",
            "--data-dir",
            data,
            "--out",
            d / "a/b/out",
            "--overwrite",
            "--no-progress",
        ],
        "ok",
        "",
        synth_with_edited_list,
        lambda d: (
            None if (d / "a/VV.npy").is_file() and (d / "a/b/VV.npy").is_file() else "a file outside --out was deleted"
        ),
    )

    def synth_seed0(d):
        _quiet(
            linkpaper_main, ["synth", "--preset", "tiny", "--data-dir", data, "--out", str(d / "out"), "--no-progress"]
        )

    add(
        "synth into another generation",
        lambda d: ["synth", "--preset", "tiny", "--seed", "1", "--data-dir", data, "--out", d / "out", "--no-progress"],
        "error",
        "another SynthLLP generation",
        synth_seed0,
    )
    add(
        "synth --out is a file",
        lambda d: ["synth", "--preset", "tiny", "--out", d / "file", "--no-progress"],
        "error",
        "is a file",
        lambda d: _write_text(d / "file", "x"),
    )

    # 2. inputs checked ----------------------------------------------------------------------------
    add(
        "test a finished run",
        lambda d: ["test", d / "run"],
        "ok",
        "these scores are the ones its record holds",
        lambda d: fx.copy_run(d),
    )
    add(
        "test with another run's checkpoint",
        lambda d: ["test", d / "run"],
        "differs",
        "differ from the ones",
        lambda d: shutil.copyfile(fx.other / "checkpoint_best.pt", fx.copy_run(d) / "checkpoint_best.pt"),
    )

    def flipped(d):
        path = fx.copy_run(d) / "checkpoint_best.pt"
        payload = bytearray(path.read_bytes())
        payload[len(payload) // 2] ^= 0xFF
        path.write_bytes(bytes(payload))

    add("test with a bit-flipped checkpoint", lambda d: ["test", d / "run"], "error|differs|ok", "", flipped)

    def edited_annotations(d):
        run = fx.copy_run(d)
        target = fx.copy_annotations(d)
        csv = target / "llp" / "AVVP_eval_audio.csv"
        csv.write_text(csv.read_text() + "zzzzzzzzzzz_0_10\t0\t3\tDog\n")
        _edit_json(run / "results.json", lambda r: r["config"].update(data_dir=str(target)))

    add(
        "test with edited annotations",
        lambda d: ["test", d / "run"],
        "error",
        "AVVP_eval_audio.csv: sha256",
        edited_annotations,
    )

    def foreign_architecture(d):
        import torch

        path = fx.copy_run(d) / "checkpoint_best.pt"
        state = torch.load(path, weights_only=True)
        state["model"] = {"other.weight": torch.zeros(3, 3)}
        torch.save(state, path)

    add(
        "test with a checkpoint of another architecture",
        lambda d: ["test", d / "run"],
        "error",
        "do not fit the run's model",
        foreign_architecture,
    )
    add(
        "test an unfinished run",
        lambda d: ["test", d / "run"],
        "ok",
        "the run is unfinished",
        lambda d: fx.copy_run(d, fx.unfinished),
    )

    def resume_changed(d):
        target = fx.copy_annotations(d)
        _quiet(linkpaper_main, [*TRAIN, "--data-dir", str(target), "--out", str(d / "run")])
        _edit_json(d / "run" / "results.json", lambda r: r.update(complete=False))  # as if interrupted
        csv = target / "llp" / "AVVP_eval_audio.csv"
        csv.write_text(csv.read_text() + "zzzzzzzzzzz_0_10\t0\t3\tDog\n")

    add(
        "--resume after the annotations changed",
        lambda d: [*TRAIN, "--data-dir", d / "data", "--out", d / "run", "--resume"],
        "error",
        "trained on other inputs",
        resume_changed,
    )
    add(
        "--resume over a damaged record",
        lambda d: [*TRAIN, "--out", d / "run", "--resume"],
        "error",
        "not valid JSON",
        lambda d: _write_text(fx.copy_run(d) / "results.json", "{"),
    )

    # 4./limits ------------------------------------------------------------------------------------
    for flag, value, text in (
        ("--seed", "-1", "out of range"),
        ("--seed", str(2**32), "out of range"),
        ("--threads", "100000", "out of range"),
        ("--threads", "10000", "out of range"),
        ("--epochs", str(10**9), "out of range"),
        ("--batch-size", str(10**12), "out of range"),
        ("--batch-size", "0", "positive integer"),
        ("--data", "synth:tiny:-3", "out of range"),
    ):
        add(
            f"train {flag} {value}",
            lambda d, f=flag, v=value: [*TRAIN, f, v, "--out", d / "run"],
            "error",
            text,
            check=lambda d: "--out was created" if (d / "run").exists() else None,
        )
    for extra, text in (
        (["--seed-base", "-1"], "out of range"),
        (["--seeds", "5000"], "out of range"),
        (["--executor", "local", "--jobs", "100000"], "out of range"),
        (["--seed-base", str(2**32 - 1), "--seeds", "2"], "out of range"),
    ):
        add(
            f"grid {' '.join(extra)}",
            lambda d, e=extra: ["grid", "--variants", "valor++", "--data", "synth:tiny", *e, "--out", d / "grid"],
            "error",
            text,
            check=lambda d: "an empty --out was left" if (d / "grid").exists() else None,
        )
    add("synth --seed -1", lambda d: ["synth", "--seed", "-1", "--stats"], "error", "out of range")
    add(
        "--model-override plsim_labels=gated",
        lambda d: [*TRAIN, "--model", "link", "--model-override", "plsim_labels=gated", "--out", d / "run"],
        "error",
        "--plsim-labels",
    )

    # JSON records --------------------------------------------------------------------------------
    def grid_run(d):
        return d / "grid" / "valorpp" / "seed87"

    for label, payload, text in (
        ("200,000 deep", "[" * 200_000 + "]" * 200_000, "levels deep"),
        ("a 5,000-digit integer", '{"seed": ' + "9" * 5000 + "}", "Exceeds the limit"),
        ("not UTF-8", b"\xff\xfe{}", "decode"),
        ("a list", "[1, 2]", "a JSON list"),
    ):

        def setup(d, p=payload):
            _write_text(grid_run(d) / "results.json", p)

        add(f"test: results.json {label}", lambda d: ["test", grid_run(d)], "error", text, setup)
        add(
            f"grid --summarise-only: results.json {label}",
            lambda d: [
                "grid",
                "--variants",
                "valor++",
                "--seeds",
                "1",
                "--data",
                "synth:tiny",
                "--out",
                d / "grid",
                "--summarise-only",
            ],
            "error",
            text,
            setup,
        )
        add(f"collect: results.json {label}", lambda d: [d / "grid", d / "dst"], "error", text, setup, collect=True)
    for label, value in (("NaN", float("nan")), ("1e308", 1e308), ("true", True)):

        def nan_record(d, v=value):
            run = fx.copy_run(d)
            target = d / "grid" / "valorpp" / "seed5"
            target.parent.mkdir(parents=True)
            shutil.move(run, target)
            _edit_json(target / "results.json", lambda r: r["test_row"].__setitem__(0, v))

        add(
            f"grid --summarise-only: {label} in test_row",
            lambda d: [
                "grid",
                "--variants",
                "valor++",
                "--seeds",
                "1",
                "--seed-base",
                "5",
                "--data",
                "synth:tiny",
                "--epochs",
                "1",
                "--batch-size",
                "16",
                *SMALL,
                "--data-dir",
                fx.annotations,
                "--out",
                d / "grid",
                "--summarise-only",
            ],
            "error",
            "test_row",
            nan_record,
        )
    add(
        "grid: a corrupt submitit/jobs.json",
        lambda d: [
            "grid",
            "--variants",
            "valor++",
            "--seeds",
            "1",
            "--data",
            "synth:tiny",
            "--out",
            d / "grid",
            "--summarise-only",
        ],
        "error",
        "jobs.json",
        lambda d: _write_text(d / "grid" / "submitit" / "jobs.json", '{"a": '),
    )

    # files ---------------------------------------------------------------------------------------
    add(
        "evaluate a zip bomb",
        lambda d: ["evaluate", d / "bomb.npz", "--split", "test"],
        "error",
        "videos but video_prob has 1",
        lambda d: _bomb(d / "bomb.npz"),
    )
    add(
        "evaluate a file that is not a zip",
        lambda d: ["evaluate", d / "p.npz", "--split", "test"],
        "error",
        "not a zip",
        lambda d: _write_text(d / "p.npz", "hello"),
    )
    add(
        "evaluate a truncated npz",
        lambda d: ["evaluate", d / "p.npz", "--split", "test"],
        "error",
        "p.npz",
        lambda d: _write_text(d / "p.npz", (fx.run / "test_predictions.npz").read_bytes()[:5000]),
    )

    def glove(d, payload):
        target = fx.copy_annotations(d)
        path = target / "leap" / "llp_label_glove_embeddings.pt"
        path.write_bytes(payload(path.read_bytes()))

    add(
        "synth with a truncated GloVe table",
        lambda d: ["synth", "--preset", "tiny", "--stats", "--data-dir", d / "data", "--no-progress"],
        "error",
        "GloVe class table",
        lambda d: glove(d, lambda b: b[: len(b) // 2]),
    )
    add(
        "synth with a garbage GloVe table",
        lambda d: ["synth", "--preset", "tiny", "--stats", "--data-dir", d / "data", "--no-progress"],
        "error",
        "GloVe class table",
        lambda d: glove(d, lambda b: b"\x80\x04garbage"),
    )
    add(
        "test a checkpoint that would run code",
        lambda d: ["test", d / "run"],
        "error",
        "could run code",
        lambda d: (fx.copy_run(d) / "checkpoint_best.pt").write_bytes(pickle.dumps({"model": _Evil()}, protocol=2)),
    )
    add(
        "test an empty checkpoint",
        lambda d: ["test", d / "run"],
        "error",
        "checkpoint_best.pt",
        lambda d: (fx.copy_run(d) / "checkpoint_best.pt").write_bytes(b""),
    )
    add(
        "download into a --data-dir under a file",
        lambda d: ["download", "annotations", "--data-dir", d / "file" / "data"],
        "error",
        "cannot create",
        lambda d: _write_text(d / "file", "x"),
    )
    add(
        "grid --out under a file",
        lambda d: ["grid", "--variants", "valor++", "--data", "synth:tiny", "--out", d / "file" / "grid"],
        "error",
        "is a file",
        lambda d: _write_text(d / "file", "x"),
    )

    def non_utf8_llp(d):
        folder = d / os.fsdecode(b"caf\xe9")
        _quiet(linkpaper_main, ["synth", "--preset", "tiny", "--data-dir", data, "--out", str(folder), "--no-progress"])

    add(
        "train on an llp: folder whose path is not UTF-8",
        lambda d: [*TRAIN[:4], "llp:" + str(d / os.fsdecode(b"caf\xe9")), *TRAIN[5:], "--out", d / "run"],
        "ok",
        "",
        non_utf8_llp,
    )
    add(
        "train with a full disk",
        lambda d: [*TRAIN, "--out", d / "run"],
        "error",
        "cannot write",
        file_size_limit=20_000,
    )
    return out


# ------------------------------------------------------------------------------------ running them


class _Timeout(Exception):
    pass


def _files(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def run_case(case: Case, sandbox: Path, number: int) -> tuple[str, str]:
    """("pass" | "FAIL", detail) of one case."""
    folder = sandbox / f"case{number:03d}"
    folder.mkdir()
    if case.setup:
        case.setup(folder)
    before = {p: t for p, t in _files(sandbox).items() if not p.is_relative_to(folder)}
    argv = [str(a) for a in case.argv(folder)]
    out, err = io.StringIO(), io.StringIO()
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_xfsz = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def alarm(signum, frame):
        raise _Timeout()

    previous_alarm = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CASE_SECONDS)
    status: int | str
    try:
        if case.file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (case.file_size_limit, limit[1]))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if case.collect:
                status = _collect_main(argv)
            else:
                status = linkpaper_main(argv)
    except _Timeout:
        status = "timeout"
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        status = "traceback"
        err.write(traceback.format_exc())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous_alarm)
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, previous_xfsz)
    stdout, stderr = out.getvalue(), err.getvalue()
    problems = []
    expected = case.expect.split("|")
    if status == 2 and "error" in expected:
        lines = stderr.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            problems.append(f"exit 2 but stderr is not one 'error:' line: {stderr.strip()[:300]!r}")
    elif status == 0 and "ok" in expected or status == 1 and "differs" in expected and "WARNING" in stdout:
        pass
    else:
        problems.append(f"expected {case.expect}, got exit {status}: {(stderr or stdout).strip()[-400:]!r}")
    if "Traceback" in stderr:
        problems.append("a traceback was printed")
    if case.message and case.message not in stdout + stderr:
        problems.append(f"the output does not say {case.message!r}: {(stderr or stdout).strip()[:300]!r}")
    after = {p: t for p, t in _files(sandbox).items() if not p.is_relative_to(folder)}
    if after != before:
        changed = sorted(str(p) for p in set(after) ^ set(before)) or ["(modified files)"]
        problems.append(f"files outside the case folder changed: {changed[:3]}")
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(LEFTOVER)]
    if leftovers:
        problems.append(f"partial files left: {[str(p) for p in leftovers[:3]]}")
    if case.check and not problems:
        problem = case.check(folder)
        if problem:
            problems.append(problem)
    return ("FAIL", "; ".join(problems)) if problems else ("pass", f"exit {status}")


def _collect_main(argv) -> int:
    import importlib.util

    spec = importlib.util.spec_from_file_location("collect_results", ROOT / "scripts" / "collect_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="sandbox folder to keep (default: a temporary one)")
    parser.add_argument("-k", default="", help="run only the cases whose name holds this text")
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir()
    if not (data_dir / "llp" / "AVVP_eval_audio.csv").is_file():
        print(f"error: the LLP annotations are not under {data_dir} (set LINKPAPER_DATA)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="linkpaper-hostile-") as tmp:
        sandbox = args.keep or Path(tmp)
        sandbox.mkdir(parents=True, exist_ok=True)
        fixtures = Fixtures(sandbox / "fixtures", data_dir)
        chosen = [case for case in cases(fixtures) if args.k in case.name]
        failures = 0
        for number, case in enumerate(chosen, 1):
            verdict, detail = run_case(case, sandbox, number)
            failures += verdict == "FAIL"
            print(f"{verdict:4}  {case.name}: {detail}", flush=True)
        print(f"{len(chosen)} cases, {failures} ended in anything but a clear error or correct behaviour")
    return min(failures, 100)


if __name__ == "__main__":
    raise SystemExit(main())
