"""The released LLP features and VALOR checkpoints: which files, where they go, how they are checked.

``python -m linkpaper download features|checkpoints`` fetches them (transport, resume and the
manifest: ``linkpaper.data.remote``); ``python -m linkpaper test --checkpoint valor++`` scores a
released checkpoint on LLP test. Under the data directory (``--data-dir``, ``$LINKPAPER_DATA``)::

    <data dir>/downloads/CLIP.zip, CLAP.zip, han_feats.zip   the archives as downloaded
    <data dir>/downloads/manifest.json                        size + sha256 of each, what was unpacked
    <data dir>/valor_features/                                the VALOR layout (linkpaper.data.layout)
        CLIP/..., CLAP/..., feats/r2plus1d_18/                   read with --data llp:<data dir>/valor_features
        feats/vggish/, feats/res152/                             HAN's streams (VALOR and VALOR+ inputs)
    <data dir>/checkpoints/model_VALOR++/checkpoint_best.pt   and model_VALOR, model_VALOR+

The hosts (book/decisions.md#ref-feature-layout): CLIP and CLAP features with VALOR's segment
pseudo labels are the Hugging Face dataset ``NTUBarista/valor_features``; R(2+1)D, VGGish and
ResNet-152 features are HAN's release, one public Google Drive file whose ``feats`` folder holds
one sub-folder per stream; the checkpoints are the model repository
``NTUBarista/valor_trained_models``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data import remote
from linkpaper.data.files import resolve_data_dir
from linkpaper.data.layout import SPLIT_CSV, VALOR_LAYOUT, feature_file
from linkpaper.errors import ConfigError, UserError

HF_FEATURES_REPO = "NTUBarista/valor_features"
HF_MODELS_REPO = "NTUBarista/valor_trained_models"
HAN_DRIVE_ID = "10CeaI1G9uIyz5dKnd7XTeH9-qOehC7CL"

DOWNLOADS_DIR = "downloads"
FEATURES_DIR = "valor_features"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_FILE = "checkpoint_best.pt"

HAN_LAYOUT: dict[str, str] = {"vggish": "feats/vggish", "res152": "feats/res152", "r2plus1d": VALOR_LAYOUT["visual_3d"]}
"""HAN's release under the features root (its ``feats`` folder): VGGish (10, 128), ResNet-152 at
8 frames per second (80, 2048) and R(2+1)D (10, 512), float32, one ``<id11>.npy`` per video."""


@dataclass(frozen=True)
class Stream:
    """One per-video folder an archive holds: its path under the features root and its arrays."""

    folder: str
    shapes: tuple[tuple[int, int], ...]  # accepted shapes (CLAP: released maps or pooled)
    labels: bool = False  # int64 {0, 1} pseudo labels instead of float32 features


@dataclass(frozen=True)
class Archive:
    """One downloadable archive: where it is hosted and the streams unpacked from it."""

    file: str  # its name under <data dir>/downloads/
    host: str  # "hf" (HF_FEATURES_REPO) or "drive" (HAN_DRIVE_ID)
    remote: str  # the file name in the Hub repository, or the Drive file id
    streams: tuple[Stream, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return (
            remote.hf_url(HF_FEATURES_REPO, self.remote, "dataset")
            if self.host == "hf"
            else remote.drive_page(self.remote)
        )


_LABELS = (NUM_SEGMENTS, NUM_CLASSES)
_HAN_ZIP = "han_feats.zip"
FEATURE_SETS: dict[str, Archive] = {
    "clip": Archive("CLIP.zip", "hf", "CLIP.zip", (
        Stream(VALOR_LAYOUT["visual"], ((NUM_SEGMENTS, 768),)),
        Stream(VALOR_LAYOUT["pseudo_visual"], (_LABELS,), labels=True))),
    "clap": Archive("CLAP.zip", "hf", "CLAP.zip", (
        Stream(VALOR_LAYOUT["audio"], ((64, 768), (NUM_SEGMENTS, 768))),
        Stream(VALOR_LAYOUT["pseudo_audio"], (_LABELS,), labels=True))),
    "r2plus1d": Archive(_HAN_ZIP, "drive", HAN_DRIVE_ID, (Stream(HAN_LAYOUT["r2plus1d"], ((NUM_SEGMENTS, 512),)),)),
    "han": Archive(_HAN_ZIP, "drive", HAN_DRIVE_ID, (
        Stream(HAN_LAYOUT["vggish"], ((NUM_SEGMENTS, 128),)),
        Stream(HAN_LAYOUT["res152"], ((80, 2048),)))),
}  # fmt: skip
"""``--only`` name -> archive and streams. ``r2plus1d`` and ``han`` share HAN's one Drive file."""


@dataclass(frozen=True)
class ReleasedModel:
    """A released VALOR checkpoint: its folder in the model repository and the config it fits."""

    folder: str
    overrides: dict  # ModelConfig fields (book/decisions.md#ref-valor-network)
    inputs: dict  # AVVPSplit field -> stream folder under the features root
    needs: tuple[str, ...]  # the --only feature sets these inputs come from


_HAN_INPUTS = {"audio": HAN_LAYOUT["vggish"], "visual": HAN_LAYOUT["res152"], "visual_3d": HAN_LAYOUT["r2plus1d"]}
RELEASED_MODELS: dict[str, ReleasedModel] = {
    "valor++": ReleasedModel("model_VALOR++", {},
                             {"audio": VALOR_LAYOUT["audio"], "visual": VALOR_LAYOUT["visual"],
                              "visual_3d": VALOR_LAYOUT["visual_3d"]}, ("clap", "clip", "r2plus1d")),
    "valor+": ReleasedModel("model_VALOR+", {"hidden_dim": 256, "num_layers": 4, "audio_dim": 128, "visual_dim": 2048},
                            _HAN_INPUTS, ("han", "r2plus1d")),
    "valor": ReleasedModel("model_VALOR", {"hidden_dim": 512, "num_layers": 1, "audio_dim": 128, "visual_dim": 2048},
                           _HAN_INPUTS, ("han", "r2plus1d")),
}  # fmt: skip
"""``--checkpoint`` name -> the released model. VALOR and VALOR+ read HAN's VGGish and ResNet-152
streams; all three read R(2+1)D (the network and its sizes: book/decisions.md#ref-valor-network)."""


def parse_only(text: str | None, known: dict, option: str = "--only") -> list[str]:
    """``"clip,clap"`` -> ["clip", "clap"] (all of ``known`` when None); unknown names -> ConfigError."""
    if text is None:
        return list(known)
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ConfigError(
            f"{option} {text!r}: unknown name(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}"
        )
    return list(dict.fromkeys(names))


def features_root(data_dir=None) -> Path:
    """``<data dir>/valor_features``: the folder to pass as ``--data llp:...``."""
    return resolve_data_dir(data_dir) / FEATURES_DIR


def checkpoint_path(name: str, data_dir=None) -> Path:
    return resolve_data_dir(data_dir) / CHECKPOINTS_DIR / RELEASED_MODELS[name].folder / CHECKPOINT_FILE


# --------------------------------------------------------------------------- verification


def expected_videos(root: Path, data_dir=None) -> list[str]:
    """The 11-character ids of every video of the three split lists (LLP's, or ``root/splits/``)."""
    from linkpaper.data.annotations import read_weak_labels, video_id
    from linkpaper.data.features import split_csv_path

    ids: dict[str, None] = {}
    for split in SPLIT_CSV:
        for name in read_weak_labels(split_csv_path(root, split, data_dir)).filenames:
            ids[video_id(name)] = None
    return list(ids)


def check_stream(folder: Path, stream: Stream, ids: list[str], deep: bool = True, progress: bool = True) -> str | None:
    """None when every video of ``ids`` has a valid file in ``folder``, else one line saying what is wrong.

    ``deep`` reads every array (shape, dtype, finite values, labels in {0, 1}); otherwise only the
    ``.npy`` headers and file sizes are checked (a quick check for a second call).
    """
    from tqdm.auto import tqdm

    from linkpaper.data.features import _check_array, _load_npy
    from linkpaper.evaluation.npyfile import NpyHeaderError, check_npy_size, read_npy_header

    if not folder.is_dir():
        return f"{folder}: missing (expected {len(ids)} videos)"
    problems: dict[str, list[str]] = {}
    kind_name = "labels" if stream.labels else "features"
    for vid in tqdm(ids, desc=f"checking {stream.folder}", unit="video", leave=False, disable=not progress):
        path = folder / feature_file(vid)
        if not path.is_file():
            problems.setdefault("missing", []).append(path.name)
            continue
        try:
            if deep:
                array = _load_npy(path)
                shape, dtype = array.shape, array.dtype
            else:
                with open(path, "rb") as f:
                    shape, _, dtype = read_npy_header(f)
                    check_npy_size(shape, dtype, os.fstat(f.fileno()).st_size - f.tell())
        except (ValueError, NpyHeaderError, OSError) as err:
            problems.setdefault("unreadable", []).append(f"{path.name} ({str(err)[:80]})")
            continue
        if tuple(shape) not in stream.shapes:
            problems.setdefault("wrong shape", []).append(f"{path.name} {tuple(shape)}")
            continue
        ok_dtype = np.issubdtype(dtype, np.integer) or dtype == np.bool_ if stream.labels else dtype == np.float32
        if not ok_dtype:
            problems.setdefault("wrong dtype", []).append(f"{path.name} {dtype}")
            continue
        if deep:
            issue = _check_array(array, "pseudo_audio" if stream.labels else "visual", tuple(shape))
            if issue:
                problems.setdefault(issue[0], []).append(f"{path.name} {issue[1]}")
    if not problems:
        return None
    parts = [f"{len(v)} {kind} (first: {', '.join(v[:3])})" for kind, v in problems.items()]
    expected = " or ".join(str(s) for s in stream.shapes)
    dtype_text = "integer {0,1}" if stream.labels else "float32"
    return f"{folder}: {'; '.join(parts)} of {len(ids)} videos (expected {kind_name} of shape {expected}, {dtype_text})"


# --------------------------------------------------------------------------- features


def _member_plan(archive: Path, streams: tuple[Stream, ...]) -> list[remote.Member]:
    """Which archive members go to which stream folder.

    A member ``.../<folder>/<id11>.npy`` belongs to the stream whose folder path its parent
    folder ends with (``CLIP/features``), or, when the archive has no such path, whose last
    folder name it shares (``features``): VALOR's zips hold ``CLIP/...`` / ``CLAP/...`` and HAN's
    file a ``feats`` folder, possibly below a top folder.
    """
    _, names = remote.archive_names(archive)
    by_parent: dict[str, list[str]] = {}
    for name in names:
        split = remote.leaf_folder(name)
        if split and split[1].endswith(".npy"):
            by_parent.setdefault(split[0], []).append(name)
    plan = []
    for stream in streams:
        exact = [p for p in by_parent if p == stream.folder or p.endswith("/" + stream.folder)]
        leaf = PurePosixPath(stream.folder).name
        loose = [p for p in by_parent if PurePosixPath(p).name == leaf]
        parents = exact or loose
        if not parents:
            raise remote.DownloadError(
                f"{archive}: no {stream.folder}/ folder of .npy files in the archive "
                f"({len(names)} files); is it the right file? Delete it and run the command "
                "again (or add --force)"
            )
        if len(parents) > 1:
            raise remote.DownloadError(
                f"{archive}: several folders could be {stream.folder} "
                f"({', '.join(sorted(parents)[:4])}); unpack it by hand into {stream.folder}"
            )
        for name in by_parent[parents[0]]:
            plan.append(remote.Member(name, f"{stream.folder}/{PurePosixPath(name).name}"))
    return plan


def _fetch_archive(archive: Archive, target: Path, progress: bool) -> remote.Fetched:
    if archive.host == "hf":
        return remote.fetch_hf(HF_FEATURES_REPO, archive.remote, target, repo_type="dataset", progress=progress)
    return remote.fetch_drive(archive.remote, target, progress=progress)


def download_features(
    data_dir=None, only: list[str] | None = None, force: bool = False, progress: bool = True
) -> dict[str, str]:
    """Download, unpack and verify the feature sets ``only`` (default: all of ``FEATURE_SETS``).

    Per archive: a file the manifest already records is checked (size, sha256) instead of
    downloaded; a file placed in ``downloads/`` by hand is accepted and recorded; otherwise it
    is downloaded (resuming a ``.part`` file). Its streams are then unpacked all-or-nothing and
    every video of the split lists is checked (shape, dtype, values). Streams already unpacked
    and recorded get a quick header check. Returns {name: status line}.
    """
    root_data = resolve_data_dir(data_dir)
    names = only or list(FEATURE_SETS)
    downloads = root_data / DOWNLOADS_DIR
    manifest = remote.Manifest(downloads / remote.MANIFEST_NAME)
    root = root_data / FEATURES_DIR
    ids = expected_videos(root, root_data)
    by_file: dict[str, list[str]] = {}
    for name in names:
        by_file.setdefault(FEATURE_SETS[name].file, []).append(name)
    status: dict[str, str] = {}
    for file, sets in by_file.items():
        archive = FEATURE_SETS[sets[0]]
        streams = tuple(s for n in sets for s in FEATURE_SETS[n].streams)
        target = downloads / file
        entry = manifest.get(file)
        unpacked = (entry or {}).get("unpacked", {})
        if force:
            target.unlink(missing_ok=True)
            entry, unpacked = None, {}
            manifest.forget(file)
        todo = [s for s in streams if s.folder not in unpacked or not (root / s.folder).is_dir()]
        done = [s for s in streams if s not in todo]
        how = "present"
        if todo or (entry and target.is_file()):
            if target.is_file() and entry:
                remote.check_against_manifest(target, entry)
            elif target.is_file():
                how = "found in downloads/ (placed by hand)"
                fetched = remote.Fetched(target, target.stat().st_size, remote.sha256_file(target, progress), "local")
                manifest.record(file, url=archive.url, size=fetched.size, sha256=fetched.sha256, unpacked={})
                entry = manifest.get(file)
            elif todo:
                fetched = _fetch_archive(archive, target, progress)
                how = "downloaded"
                manifest.record(file, url=archive.url, size=fetched.size, sha256=fetched.sha256, unpacked={})
                entry = manifest.get(file)
        for stream in done:  # recorded earlier: a quick check that nothing went missing since
            problem = check_stream(root / stream.folder, stream, ids, deep=False, progress=progress)
            if problem:
                raise remote.DownloadError(
                    f"{problem}; it was complete when unpacked. Run the command again with "
                    f"--force --only {','.join(sets)} to download and unpack it anew"
                )
        if todo:
            plan = _member_plan(target, tuple(todo))

            def check(tmp: Path, todo=todo, target=target) -> None:
                problems = [p for s in todo if (p := check_stream(tmp / s.folder, s, ids, progress=progress))]
                if problems:
                    shown = "; ".join(p.replace(str(tmp) + "/", "") for p in problems)
                    raise remote.DownloadError(f"{target}: the archive is incomplete: {shown}. Nothing was unpacked")

            remote.unpack(target, plan, root, [s.folder for s in todo], check, progress=progress)
            recorded = {**(entry or {}).get("unpacked", {}), **{s.folder: len(ids) for s in todo}}
            manifest.record(file, **{**(entry or {}), "unpacked": recorded})
            how += ", unpacked"
        folders = ", ".join(s.folder for s in streams)
        for name in sets:
            status[name] = f"{how}: {target.name} -> {root}/{{{folders}}} ({len(ids)} videos verified)"
    return status


# --------------------------------------------------------------------------- checkpoints


def _model(name: str):
    from linkpaper.models.registry import build_model

    return build_model("valor++", **RELEASED_MODELS[name].overrides)


def download_checkpoints(
    data_dir=None, only: list[str] | None = None, force: bool = False, progress: bool = True
) -> dict[str, str]:
    """Download the released checkpoints ``only`` (default: all) and check that each loads into its
    network (``load_valor_checkpoint``, strict); a second call checks the manifest's sha256."""
    from linkpaper.models.registry import load_valor_checkpoint

    root_data = resolve_data_dir(data_dir)
    manifest = remote.Manifest(root_data / DOWNLOADS_DIR / remote.MANIFEST_NAME)
    status = {}
    for name in only or list(RELEASED_MODELS):
        spec = RELEASED_MODELS[name]
        target = checkpoint_path(name, root_data)
        key = f"{CHECKPOINTS_DIR}/{spec.folder}/{CHECKPOINT_FILE}"
        entry = manifest.get(key)
        if force:
            target.unlink(missing_ok=True)
            entry = None
        if target.is_file() and entry:
            remote.check_against_manifest(target, entry)
            status[name] = f"present: {target}"
            continue
        if target.is_file():
            how, url = "found (placed by hand)", "local"
        else:
            fetched = _fetch_checkpoint(spec, target, progress)
            how, url = "downloaded", fetched.url
        try:
            load_valor_checkpoint(_model(name), target)
        except UserError as err:
            raise remote.DownloadError(
                f"{target}: not a {name} checkpoint ({str(err).splitlines()[0][:300]}); "
                "delete it and run the command again"
            ) from None
        manifest.record(key, url=url, size=target.stat().st_size, sha256=remote.sha256_file(target))
        status[name] = f"{how}, loads into {name}: {target}"
    return status


def _fetch_checkpoint(spec: ReleasedModel, target: Path, progress: bool) -> remote.Fetched:
    """The repository has held the folders at its top and under ``models/``: try both."""
    tried = []
    for remote_name in (f"{spec.folder}/{CHECKPOINT_FILE}", f"models/{spec.folder}/{CHECKPOINT_FILE}"):
        try:
            return remote.fetch_hf(HF_MODELS_REPO, remote_name, target, progress=progress)
        except remote.NotOnHost:
            tried.append(remote_name)
    page = f"https://huggingface.co/{HF_MODELS_REPO}/tree/main"
    raise remote.DownloadError(
        f"{HF_MODELS_REPO} holds neither {' nor '.join(tried)}; look at {page} and save "
        f"the file as {target}, then run the command again"
    )


# --------------------------------------------------------------------------- scoring


def load_test_split(name: str, features: Path, data_dir=None, progress: bool = True):
    """The LLP test split with the inputs released model ``name`` reads (an ``AVVPSplit``).

    VALOR++ reads the VALOR layout through ``linkpaper.data.features.load_split``; VALOR and
    VALOR+ read HAN's VGGish (N, 10, 128) and ResNet-152 (N, 80, 2048) streams, checked the same
    way. Pseudo labels are never an input at test time, so those are zeros here.
    """
    import torch

    from linkpaper.data.annotations import dense_ground_truth, read_dense_events, read_weak_labels, video_id
    from linkpaper.data.features import FeatureError, load_split, split_csv_path
    from linkpaper.data.files import annotation_path
    from linkpaper.data.split import AVVPSplit

    if name == "valor++":
        return load_split(features, "test", data_dir, progress=progress)
    weak = read_weak_labels(split_csv_path(features, "test", data_dir))
    ids = [video_id(f) for f in weak.filenames]
    streams = {
        "audio": Stream(HAN_LAYOUT["vggish"], ((NUM_SEGMENTS, 128),)),
        "visual": Stream(HAN_LAYOUT["res152"], ((80, 2048),)),
        "visual_3d": Stream(HAN_LAYOUT["r2plus1d"], ((NUM_SEGMENTS, 512),)),
    }
    problems = [p for s in streams.values() if (p := check_stream(features / s.folder, s, ids, progress=progress))]
    if problems:
        raise FeatureError(
            "; ".join(problems) + f". Fetch them with: python -m linkpaper download features "
            f"--only {','.join(RELEASED_MODELS[name].needs)}"
        )
    tensors = {
        f: torch.from_numpy(np.stack([np.load(features / s.folder / feature_file(v)) for v in ids]))
        for f, s in streams.items()
    }
    zeros = torch.zeros(len(ids), NUM_SEGMENTS, NUM_CLASSES)
    return AVVPSplit(
        name="test",
        filenames=list(weak.filenames),
        weak=torch.from_numpy(weak.labels.astype(np.float32)),
        pseudo_audio=zeros,
        pseudo_visual=zeros.clone(),
        gt_audio=dense_ground_truth(weak.filenames, read_dense_events(annotation_path("eval_audio", data_dir))),
        gt_visual=dense_ground_truth(weak.filenames, read_dense_events(annotation_path("eval_visual", data_dir))),
        **tensors,
    )


def score_checkpoint(name_or_path: str, features: Path, data_dir=None, device: str = "cpu", progress: bool = True):
    """Score a released checkpoint on LLP test: (AVVPScores, caption).

    ``name_or_path``: ``valor++``, ``valor+``, ``valor`` (the file ``download checkpoints`` put in
    the data directory) or ``NAME=PATH`` for a checkpoint elsewhere (``valor++=/x/checkpoint_best.pt``).
    """
    from linkpaper.models.registry import load_valor_checkpoint
    from linkpaper.training.scoring import evaluate_split, prepare_split

    name, _, path_text = str(name_or_path).partition("=")
    name = name.strip().lower()
    if name not in RELEASED_MODELS:
        raise ConfigError(
            f"--checkpoint {name_or_path!r}: choose one of {', '.join(RELEASED_MODELS)} "
            "(or NAME=PATH for a checkpoint file elsewhere)"
        )
    path = Path(path_text).expanduser() if path_text else checkpoint_path(name, data_dir)
    if not path.is_file():
        raise ConfigError(
            f"--checkpoint {name}: {path} does not exist; fetch it with: python -m linkpaper download "
            f"checkpoints --only {name}" + (f" --data-dir {data_dir}" if data_dir else "")
        )
    model = _model(name)
    load_valor_checkpoint(model, path)
    model.to(device).eval()
    split = prepare_split(model, load_test_split(name, Path(features), data_dir, progress), device)
    scores, _, _ = evaluate_split(model, split)
    caption = f"released {name} checkpoint ({path}) on LLP test (real features, {features}), {len(split)} videos"
    return scores, caption
