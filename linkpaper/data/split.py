"""The in-memory dataset every model and the training engine consume.

Two producers fill these containers: ``linkpaper.data.features`` (the released VALOR layout
on disk, for real LLP) and ``linkpaper.data.synth`` (SynthLLP, the offline default). The
engine never reads a file during training: it moves these tensors to the device once.

Shapes (N videos, T = 10 segments, C = 25 classes, modality order audio, visual):

==================  ======================  =============================================
field               shape / dtype           meaning
==================  ======================  =============================================
filenames           list[str] (N,)          full LLP filenames (ids are ``[:11]``)
audio               (N, 10, 768) or         pooled CLAP features, or the released
                    (N, 64, 768) float32    (64, 768) HTS-AT maps
visual              (N, 10, 768) float32    CLIP ViT-L/14 image features
visual_3d           (N, 10, 512) float32    R(2+1)D-18 features
weak                (N, C) float32          video-level labels
pseudo_audio        (N, T, C) float32       gated CLAP segment pseudo labels (AND weak)
pseudo_visual       (N, T, C) float32       gated CLIP segment pseudo labels (AND weak)
pseudo_audio_ungated  (N, T, C) or None     teacher labels over all 25 classes (PLSIM)
pseudo_visual_ungated (N, T, C) or None
gt_audio, gt_visual (N, T, C) bool or None  dense ground truth (val/test only)
audio_teacher_embeddings  (N, T, 512) f32   SynthLLP only: the audio teacher's one-second
                    numpy or None           embeddings its ungated labels are computed from
==================  ======================  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import torch


@dataclass
class AVVPSplit:
    """One split (train, val or test) held as tensors; see the module docstring for shapes."""

    name: str
    filenames: list[str]
    audio: torch.Tensor
    visual: torch.Tensor
    visual_3d: torch.Tensor
    weak: torch.Tensor
    pseudo_audio: torch.Tensor
    pseudo_visual: torch.Tensor
    pseudo_audio_ungated: torch.Tensor | None = None
    pseudo_visual_ungated: torch.Tensor | None = None
    gt_audio: np.ndarray | None = None
    gt_visual: np.ndarray | None = None
    audio_teacher_embeddings: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.filenames)

    def tensor_fields(self) -> dict[str, torch.Tensor]:
        """Every per-video tensor of the split (those that are not None), by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), torch.Tensor)}

    def to(self, device: str | torch.device) -> AVVPSplit:
        """A copy whose tensors live on ``device`` (ground truth stays in numpy on the host)."""
        moved = {name: t.to(device) for name, t in self.tensor_fields().items()}
        return AVVPSplit(**{**self.__dict__, **moved})

    def subset(self, index) -> AVVPSplit:
        """The videos at ``index`` (a slice, a list or an integer array), in that order."""
        index_np = np.arange(len(self))[index]
        index_t = torch.as_tensor(index_np, dtype=torch.long)
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                value = value[index_t.to(value.device)]
            elif isinstance(value, np.ndarray):
                value = value[index_np]
            elif f.name == "filenames":
                value = [value[i] for i in index_np]
            values[f.name] = value
        return AVVPSplit(**values)

    @property
    def audio_form(self) -> str:
        """``"pooled"`` for (N, 10, 768) audio, ``"maps"`` for the released (N, 64, 768) maps."""
        return "maps" if self.audio.shape[1] == 64 else "pooled"


@dataclass
class AVVPData:
    """The three splits plus the class text tables PLSIM reads, and where it all came from.

    text_audio / text_visual: (C, D) float32 class text tables (None when not available).
    source: a JSON-serialisable provenance record, e.g. ``{"kind": "synth", "preset": "small",
    "seed": 0}`` or ``{"kind": "llp", "root": ..., "checksums": {...}}``. Every results file
    and table copies it, so no number is ever shown without the data that produced it.
    """

    train: AVVPSplit
    val: AVVPSplit
    test: AVVPSplit
    text_audio: torch.Tensor | None = None
    text_visual: torch.Tensor | None = None
    text_source: str = "none"
    source: dict = field(default_factory=dict)

    def describe(self) -> str:
        """A one-line human description of the data source, for table captions."""
        kind = self.source.get("kind", "unknown")
        if kind == "synth":
            text = f"SynthLLP (synthetic) preset={self.source.get('preset')} seed={self.source.get('seed')}"
            if self.source.get("read_from"):  # a folder `synth` wrote, read back through llp:
                text += f", read from {self.source['root']}"
            return text
        if kind == "llp":
            return f"LLP (real features) at {self.source.get('root')}"
        if kind == "han":
            return f"LLP (HAN's released features) at {self.source.get('root')}"
        return str(self.source)
