"""CLIP ViT-L/14 visual teacher through open_clip (book/decisions.md#ref-teachers).

VALOR used Hugging Face ``openai/clip-vit-large-patch14``; open_clip's ``ViT-L-14`` with the
``openai`` tag holds the same weights. They were trained with QuickGELU, which open_clip's
plain ``ViT-L-14`` config does not use (it only warns), so we always force it.

* image features: ``encode_image`` (the projected 768-d embedding), L2-normalised -> (10, 768)
* text table: the 25 ``CLIP_PROMPTS`` through ``encode_text``, L2-normalised -> (25, 768)
* logits: ``logit_scale.exp()`` (100 for these weights) x cosine -> (10, 25)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from linkpaper.classes import CLIP_PROMPTS
from linkpaper.errors import UserError

MODEL_NAME = "ViT-L-14"
PRETRAINED_TAG = "openai"
HF_WEIGHTS = "timm/vit_large_patch14_clip_224.openai (file open_clip_pytorch_model.bin)"


class MissingWeightsError(UserError):
    """Published teacher weights are not available; the message says how to get them."""


@dataclass
class CLIPTeacher:
    """An open_clip model plus its tokenizer, frozen in eval mode.

    ``encode_clips([(10, 3, S, S), ...])`` -> ((B, 10, D) features, (B, 10, D) segment embeddings):
    for CLIP both are the same L2-normalised image embeddings.
    """

    model: torch.nn.Module
    tokenizer: object
    device: torch.device = torch.device("cpu")
    source: str = "random"
    model_name: str = MODEL_NAME

    def __post_init__(self):
        self.model = self.model.to(self.device).eval().requires_grad_(False)

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp())

    @torch.inference_mode()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalised images -> (N, D) L2-normalised image embeddings (float32, CPU)."""
        feats = self.model.encode_image(images.to(self.device, torch.float32))
        return F.normalize(feats.float(), dim=-1).cpu()

    def encode_clips(self, clips: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """B clips of (10, 3, S, S) frames -> (B, 10, D) features twice (features = segment embeddings)."""
        counts = [len(c) for c in clips]
        feats = self.encode_images(torch.cat(clips)).numpy()
        per_clip = np.stack(np.split(feats, np.cumsum(counts)[:-1]))
        return per_clip, per_clip

    @torch.inference_mode()
    def text_table(self) -> np.ndarray:
        """(25, D) L2-normalised text embeddings of ``CLIP_PROMPTS`` (class order)."""
        tokens = self.tokenizer(list(CLIP_PROMPTS)).to(self.device)
        return F.normalize(self.model.encode_text(tokens).float(), dim=-1).cpu().numpy()

    def describe(self) -> dict:
        return {
            "library": "open_clip",
            "model": self.model_name,
            "weights": self.source,
            "logit_scale": self.logit_scale,
            "image_size": self.image_size,
        }


def load_clip_teacher(
    checkpoint: str | os.PathLike | None = None, device="cpu", model_name: str = MODEL_NAME
) -> CLIPTeacher:
    """The published CLIP ViT-L/14 (OpenAI) teacher: a local ``checkpoint`` or open_clip's download/cache.

    ``model_name`` is another open_clip config for tests (with a local checkpoint of it).

    Raises ``MissingWeightsError`` (never falls back to random weights) when the weights cannot
    be had, naming the Hugging Face repository and the ``--clip-checkpoint`` option.
    """
    import open_clip

    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise MissingWeightsError(f"--clip-checkpoint {checkpoint}: no such file")
    pretrained = str(checkpoint) if checkpoint is not None else PRETRAINED_TAG
    try:
        model = open_clip.create_model(model_name, pretrained=pretrained, force_quick_gelu=True, device="cpu")
    except Exception as err:  # open_clip wraps download failures in RuntimeError; bad files raise others
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        raise MissingWeightsError(
            f"cannot load the CLIP ViT-L/14 (OpenAI) weights ({pretrained}): {type(err).__name__}: {err}\n"
            f"Get them once with internet access (open_clip caches them): rerun with --allow-download"
            f"{' (HF_HUB_OFFLINE=1 is set now)' if offline else ''}, or download {HF_WEIGHTS} from "
            "huggingface.co and pass --clip-checkpoint PATH."
        ) from None
    return CLIPTeacher(
        model, open_clip.get_tokenizer(model_name), torch.device(device), source=pretrained, model_name=model_name
    )
