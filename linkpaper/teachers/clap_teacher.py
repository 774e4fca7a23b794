"""LAION-CLAP audio teacher through laion_clap (book/decisions.md#ref-teachers).

Model: ``CLAP_Module(enable_fusion=True, amodel="HTSAT-tiny")`` with the **630k-fusion-best**
checkpoint (laion_clap ``model_id=2``): HTS-AT-tiny audio encoder, RoBERTa text encoder,
joint space 512.

* segment embeddings: the 10 one-second chunks (``audio.segment_chunks``), each int16-quantised
  and repeat-padded to 10 s by laion_clap -> (10, 512) L2-normalised
* text table: the 25 ``CLAP_PROMPTS`` -> (25, 512) L2-normalised
* logits: ``logit_scale_a.exp()`` x cosine -> (10, 25)
* feature map (what VALOR++ reads): the whole clip index-resampled to 480,000 samples, through
  HTS-AT up to its final LayerNorm -> 64 tokens x 768 on an 8 x 8 grid, regrouped as HTS-AT's
  own head does into (768, 2 frequency groups, 32 time steps) and flattened frequency-group
  major -> (64, 768). Pre-projection hidden states, not the 512-d joint space.

Importing laion_clap loads three Hugging Face tokenizers at module level; without a network
and without ``HF_HUB_OFFLINE=1`` the import retries for ~11 minutes, so ``ensure_hf_offline``
sets it unless the user chose otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from linkpaper.classes import CLAP_PROMPTS
from linkpaper.teachers.audio import CLIP_SAMPLES, clap_log_mel, repeat_pad, resample_to_clip, segment_chunks
from linkpaper.teachers.clip_teacher import MissingWeightsError

CHECKPOINT_NAME = "630k-fusion-best.pt"
CHECKPOINT_URL = "https://huggingface.co/lukewys/laion_clap/resolve/main/630k-fusion-best.pt"
AMODEL = "HTSAT-tiny"
MAP_TOKENS, MAP_DIM = 64, 768
MIN_TOKENIZER_VOCAB = 1000  # the real roberta-base has 50,265; an offline miss silently gives 5


def ensure_hf_offline() -> None:
    """Set ``HF_HUB_OFFLINE=1`` unless the user set it (else ``import laion_clap`` may hang ~11 min)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def regroup_htsat_tokens(tokens: torch.Tensor, grid: int = 8, freq_ratio: int = 4) -> torch.Tensor:
    """(B, grid*grid, C) final-norm HTS-AT tokens -> (B, 64, C) VALOR++ map (book/decisions.md#ref-teachers).

    The Swin grid is (F=8, T=8) in row-major token order; HTS-AT stacked ``freq_ratio`` = 4
    time chunks along frequency, so F splits into 4 chunks x 2 frequency groups. Regrouping to
    (C, 2, 4 x 8) puts the 32 time steps in time order; flattening frequency-group major gives
    token ``g * 32 + t``.
    """
    b, n, c = tokens.shape
    if n != grid * grid:
        raise ValueError(f"expected {grid * grid} tokens, got {n}")
    groups = grid // freq_ratio
    x = tokens.permute(0, 2, 1).reshape(b, c, grid, grid)  # (B, C, F, T)
    x = x.reshape(b, c, freq_ratio, groups, grid).permute(0, 1, 3, 2, 4)  # (B, C, groups, chunks, T)
    x = x.reshape(b, c, groups, freq_ratio * grid)  # (B, C, 2, 32)
    return x.flatten(2).transpose(1, 2)  # (B, 64, C)


@dataclass
class CLAPTeacher:
    """A laion_clap ``CLAP_Module`` (fusion), frozen in eval mode.

    ``encode_clips([(N,) waveform at 48 kHz, ...])`` -> ((B, 64, 768) feature maps,
    (B, 10, 512) L2-normalised segment embeddings).
    """

    module: torch.nn.Module
    device: torch.device = torch.device("cpu")
    source: str = "random"

    def __post_init__(self):
        self.module = self.module.to(self.device).eval().requires_grad_(False)

    @property
    def logit_scale(self) -> float:
        return float(self.module.model.logit_scale_a.exp())

    def _audio_inputs(self, waves: list[np.ndarray]) -> list[dict]:
        """laion_clap's fusion input for waveforms of <= 10 s (its ``get_audio_features``, no torchaudio).

        int16 round trip, repeat-pad to 480,000 samples, log-mel (1001, 64) stacked 4 times as
        ``mel_fusion``, ``longer`` = False (so no random crops).
        """
        from laion_clap.training.data import float32_to_int16, int16_to_float32

        cfg = self.module.model_cfg["audio_cfg"]
        inputs = []
        for wave in waves:
            padded = repeat_pad(int16_to_float32(float32_to_int16(np.asarray(wave, np.float32))), CLIP_SAMPLES)
            waveform = torch.from_numpy(padded).float()
            mel = clap_log_mel(waveform.to(self.device), cfg)
            inputs.append({"longer": torch.tensor([False]), "mel_fusion": torch.stack([mel] * 4), "waveform": waveform})
        return inputs

    @torch.inference_mode()
    def encode_clips(self, waves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """B waveforms -> ((B, 64, 768) maps, (B, 10, 512) segment embeddings), one forward pass.

        Each clip contributes its 10 one-second chunks and its 480,000-sample resampled whole;
        a hook on HTS-AT's final norm catches the tokens, the projection gives the embeddings.
        """
        inputs, n = [], len(waves)
        for wave in waves:
            inputs += list(segment_chunks(wave)) + [resample_to_clip(wave)]
        captured = []
        hook = self.module.model.audio_branch.norm.register_forward_hook(lambda m, i, out: captured.append(out))
        try:
            emb = self.module.model.get_audio_embedding(self._audio_inputs(inputs))  # (11B, 512)
        finally:
            hook.remove()
        tokens = torch.cat(captured).float()  # (11B, 64, 768)
        per_clip = len(inputs) // n
        whole = torch.arange(n) * per_clip + per_clip - 1
        maps = regroup_htsat_tokens(tokens[whole]).cpu().numpy()
        seg = emb.float().cpu().numpy().reshape(n, per_clip, -1)[:, :-1]
        return maps, seg

    @torch.inference_mode()
    def text_table(self) -> np.ndarray:
        """(25, 512) L2-normalised text embeddings of ``CLAP_PROMPTS`` (class order)."""
        return np.asarray(self.module.get_text_embedding(list(CLAP_PROMPTS)), dtype=np.float32)

    def describe(self) -> dict:
        return {
            "library": "laion_clap",
            "model": f"CLAP_Module(enable_fusion=True, amodel={AMODEL!r})",
            "weights": self.source,
            "logit_scale_a": self.logit_scale,
        }


def _fail(what: str, err: BaseException | None = None) -> MissingWeightsError:
    detail = f" ({type(err).__name__}: {err})" if err is not None else ""
    return MissingWeightsError(
        f"cannot load the LAION-CLAP teacher: {what}{detail}\n"
        f"It needs (1) the checkpoint {CHECKPOINT_NAME} ({CHECKPOINT_URL}): download it and pass "
        "--clap-checkpoint PATH; and (2) the Hugging Face 'roberta-base' text encoder and tokenizer "
        "in the Hugging Face cache: run once with internet access and --allow-download (or "
        "HF_HUB_OFFLINE=0), which lets laion_clap / transformers fetch both."
    )


def load_clap_teacher(checkpoint: str | os.PathLike | None = None, device="cpu") -> CLAPTeacher:
    """The published CLAP teacher (630k-fusion-best); raises ``MissingWeightsError``, never random weights.

    Without ``checkpoint`` it uses laion_clap's own copy next to the package, downloading it
    only when ``HF_HUB_OFFLINE`` is 0 (``--allow-download``).
    """
    ensure_hf_offline()
    import laion_clap

    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise _fail(f"--clap-checkpoint {checkpoint}: no such file")
    try:
        module = laion_clap.CLAP_Module(enable_fusion=True, amodel=AMODEL, device="cpu")
    except Exception as err:  # transformers raises OSError when roberta-base is neither cached nor reachable
        raise _fail("the roberta-base text encoder is not available", err) from None
    vocab = len(module.tokenize)
    if vocab < MIN_TOKENIZER_VOCAB:  # transformers returns a near-empty tokenizer instead of failing
        raise _fail(f"the roberta-base tokenizer is not available (got a {vocab}-token stub)")
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if checkpoint is None:
        packaged = Path(laion_clap.__file__).resolve().parent / CHECKPOINT_NAME
        if not packaged.is_file() and offline:
            raise _fail(f"no --clap-checkpoint and no {packaged}")
    try:
        if checkpoint is not None:
            module.load_ckpt(str(checkpoint), verbose=False)
        else:
            module.load_ckpt(model_id=2, verbose=False)
    except Exception as err:  # wget / torch.load / strict load_state_dict
        raise _fail(f"loading {checkpoint or CHECKPOINT_NAME} failed", err) from None
    return CLAPTeacher(module, torch.device(device), source=str(checkpoint or CHECKPOINT_NAME))
