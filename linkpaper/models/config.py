"""ModelConfig: every hyper-parameter of VALOR++ and LINK in one dataclass.

Defaults are the paper's numbers (``book/decisions.md#ref-valor-network`` and the paper). The named
variants of the ablation grid ("valor++", "+T", ..., "link") live in ``registry.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from linkpaper.classes import GLOVE_DIM, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.errors import ConfigError
from linkpaper.models.plsim_labels import plsim_label_mode

AUDIO_PATHS = ("fast", "reference")
SUPERVISION_MODES = ("pseudo", "weak")
"""What the segment heads learn from (``supervision``): ``pseudo`` = VALOR++'s terms against the
teachers' segment pseudo labels; ``weak`` = HAN's video-level terms against the weak labels only
(no pseudo label; ``linkpaper.losses.weak_label_losses``)."""
SIMILARITY_FORMS = ("paper", "leap", "off")
"""The similarity term of S-LOSS (``similarity_form``): ``paper`` = eq 12 as printed (raw cosine
against the IoU target), ``leap`` = LEAP's released L_avss (ReLU of the cosine against
x / (1 + x) + 0.01), ``off`` = no similarity term (L_label alone)."""


@dataclass
class ModelConfig:
    # VALOR++ network (book/decisions.md#ref-valor-network)
    hidden_dim: int = 256  # H
    num_heads: int = 8
    ff_dim: int = 1024
    num_layers: int = 4
    dropout: float = 0.1
    num_classes: int = NUM_CLASSES  # C
    num_segments: int = NUM_SEGMENTS  # T
    audio_dim: int = 768  # CLAP HTS-AT tokens
    visual_dim: int = 768  # CLIP ViT-L/14 image embeddings
    visual_3d_dim: int = 512  # R(2+1)D-18
    audio_path: str = "fast"  # "fast": one (10, 64) matrix; "reference": upsample -> fc_a -> pool
    # LINK modules (eqs 1-17; book/decisions.md); "T" in the paper's tables means TSAM and CMIM
    use_tsam: bool = False
    use_cmim: bool = False
    use_plsim: bool = False
    use_sloss: bool = False
    tsam_kernel: int = 7  # spatial-attention Conv1d kernel (CBAM)
    plsim_labels: str = "ungated"  # which labels PLSIM reads (linkpaper.models.plsim_labels)
    text_dim_audio: int = GLOVE_DIM  # D_a of the audio class text table
    text_dim_visual: int = GLOVE_DIM  # D_v of the visual class text table
    mu_init: float = 0.0  # S-LOSS mu (eq 11)
    freeze_mu: bool = False
    similarity_form: str = "paper"  # S-LOSS similarity term: "paper" (eq 12), "leap" (LEAP's L_avss) or "off"
    supervision: str = "pseudo"  # "pseudo" (VALOR++'s segment pseudo labels) or "weak" (HAN's weak-label terms)

    def __post_init__(self):
        self.validate()

    def validate(self) -> ModelConfig:
        """Raise ConfigError naming the field when a value is out of range or of the wrong type."""
        for f in fields(self):
            value = getattr(self, f.name)
            expected = {"int": int, "float": (int, float), "bool": bool, "str": str}[f.type]
            if isinstance(value, bool) and f.type != "bool" or not isinstance(value, expected):
                raise ConfigError(f"model config {f.name}: expected {f.type}, got {value!r}")
        for name in (
            "hidden_dim",
            "num_heads",
            "ff_dim",
            "num_layers",
            "num_classes",
            "num_segments",
            "audio_dim",
            "visual_dim",
            "visual_3d_dim",
            "text_dim_audio",
            "text_dim_visual",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"model config {name}: must be >= 1, got {getattr(self, name)}")
        if self.hidden_dim % self.num_heads:
            raise ConfigError(
                f"model config hidden_dim={self.hidden_dim} is not divisible by num_heads={self.num_heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model config dropout: must be in [0, 1), got {self.dropout}")
        if self.tsam_kernel < 1 or self.tsam_kernel % 2 == 0:
            raise ConfigError(f"model config tsam_kernel: must be odd and >= 1, got {self.tsam_kernel}")
        if self.use_tsam and self.num_segments < 2:
            raise ConfigError("model config num_segments: TSAM needs at least 2 segments (MLP T -> T/2 -> T)")
        plsim_label_mode(self.plsim_labels, "model config plsim_labels")
        if self.similarity_form not in SIMILARITY_FORMS:
            raise ConfigError(
                f"model config similarity_form: unknown {self.similarity_form!r}; choose one of "
                f"{', '.join(SIMILARITY_FORMS)}"
            )
        if self.supervision not in SUPERVISION_MODES:
            raise ConfigError(
                f"model config supervision: unknown {self.supervision!r}; choose one of {', '.join(SUPERVISION_MODES)}"
            )
        if self.supervision == "weak" and self.use_sloss:
            raise ConfigError("model config supervision='weak': S-LOSS needs segment pseudo labels; switch one off")
        if self.audio_path not in AUDIO_PATHS:
            raise ConfigError(
                f"model config audio_path: unknown {self.audio_path!r}; choose one of {', '.join(AUDIO_PATHS)}"
            )
        return self

    @property
    def is_valor(self) -> bool:
        """True when no LINK part is switched on: the model is exactly VALOR++."""
        return not (self.use_tsam or self.use_cmim or self.use_plsim or self.use_sloss)

    @property
    def variant(self) -> str:
        """The grid name of these switches ("valor++", "+T", ..., "link"), or "custom"."""
        if self.use_tsam != self.use_cmim:
            return "custom"
        parts = [flag for flag, on in (("T", self.use_tsam), ("S", self.use_sloss), ("P", self.use_plsim)) if on]
        if not parts:
            return "valor++"
        if len(parts) == 3:
            return "link"
        return "".join("+" + p for p in parts)
