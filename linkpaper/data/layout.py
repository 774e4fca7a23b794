"""VALOR's on-disk feature layout: the one definition the reader and both writers share.

``linkpaper.data.features`` reads it; SynthLLP (``linkpaper.data.synth.write_valor_layout``) and
the teacher extraction (``linkpaper.teachers.extract``) write it. One
``<first 11 characters of the filename>.npy`` per video and stream (book/decisions.md#ref-feature-layout)::

    <root>/CLAP/features/                       (64, 768) float32 maps, or (10, 768) pooled
    <root>/CLIP/features/                       (10, 768) float32
    <root>/feats/r2plus1d_18/                   (10, 512) float32
    <root>/CLAP/segment_pseudo_labels/          (10, 25) int64 in {0, 1}, gated by the weak labels
    <root>/CLIP/segment_pseudo_labels/          (10, 25)
    <root>/CLAP/segment_pseudo_labels_ungated/  optional (our extension, for PLSIM)
    <root>/CLIP/segment_pseudo_labels_ungated/  optional
    <root>/CLAP/segment_embeddings/             SynthLLP only: (10, 512) float32 one-second
                                                embeddings of its audio teacher
    <root>/splits/AVVP_train.csv ...            optional split lists (override the LLP ones)
    <root>/text_tables/clap_text.npy, clip_text.npy   optional (25, D) class text tables
"""

from __future__ import annotations

AUDIO_TEACHER, VISUAL_TEACHER = "CLAP", "CLIP"
"""The teachers' folder names: CLAP for the audio stream, CLIP for the visual one."""

FEATURES = "features"
GATED = "segment_pseudo_labels"
UNGATED = "segment_pseudo_labels_ungated"

VALOR_LAYOUT: dict[str, str] = {
    "audio": f"{AUDIO_TEACHER}/{FEATURES}",
    "visual": f"{VISUAL_TEACHER}/{FEATURES}",
    "visual_3d": "feats/r2plus1d_18",
    "pseudo_audio": f"{AUDIO_TEACHER}/{GATED}",
    "pseudo_visual": f"{VISUAL_TEACHER}/{GATED}",
    "pseudo_audio_ungated": f"{AUDIO_TEACHER}/{UNGATED}",
    "pseudo_visual_ungated": f"{VISUAL_TEACHER}/{UNGATED}",
}
"""Stream (an ``AVVPSplit`` field name) -> sub-directory of the features root."""

AUDIO_TEACHER_EMBEDDINGS = f"{AUDIO_TEACHER}/segment_embeddings"
"""SynthLLP's extension: the audio teacher's (10, 512) float32 one-second embeddings, from which
its ungated labels are recomputed (100 x cosine to ``clap_text.npy`` > threshold). The loader
does not read them; no model uses them."""

OPTIONAL_STREAMS = ("pseudo_audio_ungated", "pseudo_visual_ungated")
LABEL_STREAMS = ("pseudo_audio", "pseudo_visual", "pseudo_audio_ungated", "pseudo_visual_ungated")

TEXT_TABLES_DIR = "text_tables"
TEXT_TABLE_FILES: dict[str, str] = {
    "audio": f"{TEXT_TABLES_DIR}/clap_text.npy",
    "visual": f"{TEXT_TABLES_DIR}/clip_text.npy",
}
"""Modality -> the class text table file PLSIM reads (CLAP's for audio, CLIP's for visual)."""

TEACHER_TEXT_TABLES: dict[str, str] = {
    AUDIO_TEACHER: TEXT_TABLE_FILES["audio"],
    VISUAL_TEACHER: TEXT_TABLE_FILES["visual"],
}
"""Teacher -> its text table file (the extraction's view of :data:`TEXT_TABLE_FILES`)."""


HAN_LAYOUT: dict[str, tuple[str, tuple[int, int]]] = {
    "audio": ("feats/vggish", (10, 128)),  # VGGish, one vector per second
    "visual": ("feats/res152", (80, 2048)),  # ResNet-152, 8 frames per second
    "visual_3d": (VALOR_LAYOUT["visual_3d"], (10, 512)),  # R(2+1)D-18, the files VALOR reads too
}
"""HAN's feature release (``--data han:DIR``, ``linkpaper.data.han_release``): stream -> (sub-directory
of the root, per-video shape), float32, one ``<id11>.npy`` per video."""
RESNET_FRAMES = HAN_LAYOUT["visual"][1][0]  # 80 ResNet-152 frames: 8 per one-second segment

SPLITS_DIR = "splits"
SPLIT_CSV: dict[str, str] = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}
"""Split -> its list of videos (LLP's file name; a copy under ``<root>/splits/`` overrides LLP's)."""


def feature_file(vid: str) -> str:
    """The file name of one video's array in a stream's folder: ``<id11>.npy``, where ``vid`` is
    the video's 11-character id (``annotations.video_id`` of its LLP filename)."""
    return f"{vid}.npy"
