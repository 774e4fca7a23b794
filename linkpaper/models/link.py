"""LINK (Wang et al., arXiv 2412.20872): TSAM, CMIM and PLSIM around VALOR++.

Pipeline (book/decisions.md#decision-placement): input projections -> TSAM per modality (eqs 1-3) -> CMIM (eqs 4-6)
-> PLSIM per modality (eqs 13-17) -> VALOR++'s HAN encoder and heads. S-LOSS (eqs 7-12) lives
in ``linkpaper/losses.py``; its trainable mu is ``LINK.sloss_mu``.

Shapes: B batch, T = 10 segments, H hidden, C = 25 classes, D text-table width.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from linkpaper.errors import ConfigError
from linkpaper.evaluation.inference import gated_segments, is_active
from linkpaper.models.config import ModelConfig
from linkpaper.models.plsim_labels import plsim_label_mode
from linkpaper.models.valor import AVVPOutput, VALORPlusPlus

LINK_ONLY_MODULES = ("tsam_audio", "tsam_visual", "cmim", "plsim", "sloss_mu")  # not in VALOR++


# ------------------------------------------------------------------------------------------
# TSAM: temporal-spatial attention (eqs 1-3), CBAM-style
# ------------------------------------------------------------------------------------------


class TemporalAttention(nn.Module):
    """Eq 1: W = sigmoid(MLP(mean_H f) + MLP(max_H f)), MLP T -> T/2 -> T shared. (B, T, H) -> (B, T, 1)."""

    def __init__(self, num_segments: int):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(num_segments, num_segments // 2), nn.ReLU(), nn.Linear(num_segments // 2, num_segments)
        )

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        avg = f.mean(dim=2)  # (B, T)
        peak = f.amax(dim=2)
        return torch.sigmoid(self.mlp(avg) + self.mlp(peak)).unsqueeze(-1)


class SpatialAttention(nn.Module):
    """Eq 2: S = sigmoid(Conv1d_7([mean_T f; max_T f])) over the H axis. (B, T, H) -> (B, 1, H).

    Decision (book/decisions.md#decision-tsam-spatial): the paper's "sigmoid of the concatenation" needs a
    learned map from
    two descriptors to one; CBAM's is a size-7 convolution.
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv1d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        pooled = torch.stack([f.mean(dim=1), f.amax(dim=1)], dim=1)  # (B, 2, H)
        return torch.sigmoid(self.conv(pooled))


class TSAM(nn.Module):
    """Eq 3, CBAM's sequential form: f' = W(f) * f, f_hat = S(f') * f'. No residual.

    Decision (book/decisions.md#decision-tsam-eq3): eq 3's f^a on both modalities is read as f^m.
    forward returns (f_hat (B, T, H), W (B, T, 1), S (B, 1, H)).
    """

    def __init__(self, num_segments: int, kernel_size: int = 7):
        super().__init__()
        self.temporal = TemporalAttention(num_segments)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, f: torch.Tensor):
        w = self.temporal(f)
        f = w * f
        s = self.spatial(f)
        return s * f, w, s


# ------------------------------------------------------------------------------------------
# CMIM: cross-modal interaction with four learnable scalars (eqs 4-6)
# ------------------------------------------------------------------------------------------


class CMIM(nn.Module):
    """Eqs 4-6 with 1/sqrt(H) scaling (book/decisions.md#decision-cmim); softmax over the key axis.

    f_ac = f_a + alpha2 * softmax(f_a f_v^T / sqrt(H)) (beta2 * f_v)       (eq 4)
    f_vc = f_v + alpha1 * softmax(f_v f_a^T / sqrt(H)) (beta1 * f_a)       (eq 5)
    f_aout = f_a + f_ac,  f_vout = f_v + f_vc                              (eq 6, literally)
    alpha1, alpha2, beta1, beta2: scalars initialised to 1. (B, T, H) x 2 -> (B, T, H) x 2.
    After a forward, ``attention_weights`` holds its two maps (detached), each (B, T, T): audio
    queries over visual keys (eq 4) and visual queries over audio keys (eq 5).
    """

    def __init__(self, hidden_dim: int):
        super().__init__()
        self.scale = 1.0 / math.sqrt(hidden_dim)
        self.alpha1 = nn.Parameter(torch.tensor(1.0))
        self.alpha2 = nn.Parameter(torch.tensor(1.0))
        self.beta1 = nn.Parameter(torch.tensor(1.0))
        self.beta2 = nn.Parameter(torch.tensor(1.0))
        self.attention_weights: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, f_a: torch.Tensor, f_v: torch.Tensor):
        attn_av = torch.softmax(f_a @ f_v.transpose(1, 2) * self.scale, dim=-1)  # (B, T, T)
        attn_va = torch.softmax(f_v @ f_a.transpose(1, 2) * self.scale, dim=-1)
        self.attention_weights = (attn_av.detach(), attn_va.detach())
        f_ac = f_a + self.alpha2 * (attn_av @ (self.beta2 * f_v))
        f_vc = f_v + self.alpha1 * (attn_va @ (self.beta1 * f_a))
        return f_a + f_ac, f_v + f_vc


# ------------------------------------------------------------------------------------------
# PLSIM: pseudo-label semantics as feature modulation (eqs 13-17)
# ------------------------------------------------------------------------------------------


class TextMLP(nn.Module):
    """D_text -> H -> H with ReLU; the last layer starts at zero (book/decisions.md#decision-plsim-init)."""

    def __init__(self, text_dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(text_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(e)))


def segment_label_embedding(labels: torch.Tensor, text_table: torch.Tensor) -> torch.Tensor:
    """Eq 13: e[t] = mean of the text-table rows of the classes active at segment t, 0 if none.

    labels (B, T, C) (active where >= 0.5), text_table (C, D) -> (B, T, D).
    """
    active = is_active(labels).to(text_table.dtype)
    total = active @ text_table
    count = active.sum(dim=-1, keepdim=True)
    return total / count.clamp(min=1.0)


class PLSIM(nn.Module):
    """Eqs 14-17: gamma1, gamma2 = D1(e_a), D2(e_a); rho1, rho2 = D3(e_v), D4(e_v);
    F_a = f_a * gamma1 + gamma2 + f_a,  F_v = f_v * rho1 + rho2 + f_v.

    The class text tables are buffers (saved with the model): ``text_audio`` (C, Da) and
    ``text_visual`` (C, Dv), filled by ``set_text_tables``. After a forward,
    ``label_embeddings`` holds (e_a (B, T, Da), e_v (B, T, Dv)) of eq 13, detached.
    """

    def __init__(self, hidden_dim: int, num_classes: int, text_dim_audio: int, text_dim_visual: int):
        super().__init__()
        self.gamma1 = TextMLP(text_dim_audio, hidden_dim)
        self.gamma2 = TextMLP(text_dim_audio, hidden_dim)
        self.rho1 = TextMLP(text_dim_visual, hidden_dim)
        self.rho2 = TextMLP(text_dim_visual, hidden_dim)
        self.register_buffer("text_audio", torch.zeros(num_classes, text_dim_audio))
        self.register_buffer("text_visual", torch.zeros(num_classes, text_dim_visual))
        self.register_buffer("tables_set", torch.tensor(False))
        self.label_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None

    def set_text_tables(self, text_audio, text_visual) -> None:
        for name, table in (("text_audio", text_audio), ("text_visual", text_visual)):
            table = torch.as_tensor(table)
            expected = tuple(getattr(self, name).shape)
            if tuple(table.shape) != expected:
                dim_field = "text_dim_audio" if name == "text_audio" else "text_dim_visual"
                raise ConfigError(
                    f"PLSIM {name} table: expected shape {expected} (classes x {dim_field}), got "
                    f"{tuple(table.shape)}; build the model with {dim_field}={table.shape[-1]} "
                    f"(e.g. build_model(name, {dim_field}={table.shape[-1]}))"
                )
            if not torch.isfinite(table).all():
                raise ConfigError(f"PLSIM {name} table has NaN or infinite values")
            getattr(self, name).copy_(table)
        self.tables_set.fill_(True)

    def forward(self, f_a, f_v, labels_a, labels_v):
        """f_a, f_v (B, T, H); labels_a, labels_v (B, T, C) -> F_a, F_v (B, T, H)."""
        if not bool(self.tables_set):
            raise ConfigError("PLSIM has no class text tables: call model.set_text_tables(text_audio, text_visual)")
        e_a = segment_label_embedding(labels_a, self.text_audio)
        e_v = segment_label_embedding(labels_v, self.text_visual)
        self.label_embeddings = (e_a.detach(), e_v.detach())
        F_a = f_a * self.gamma1(e_a) + self.gamma2(e_a) + f_a
        F_v = f_v * self.rho1(e_v) + self.rho2(e_v) + f_v
        return F_a, F_v


# ------------------------------------------------------------------------------------------
# The LINK assembly
# ------------------------------------------------------------------------------------------


def _stats(prefix: str, values: torch.Tensor) -> dict:
    values = values.detach()
    return {
        f"{prefix}_mean": values.mean(),
        f"{prefix}_std": values.std(),
        f"{prefix}_min": values.amin(),
        f"{prefix}_max": values.amax(),
    }


class LINK(VALORPlusPlus):
    """VALOR++ with TSAM (``tsam_audio``, ``tsam_visual``), ``cmim``, ``plsim`` and
    ``sloss_mu``, each present only when its ``config.use_*`` switch is on.

    With every switch off it is VALOR++: the same parameters and the same outputs.
    forward(audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> AVVPOutput,
    PLSIM labels (B, T, C). ``config.plsim_labels == "self"``: no labels are passed; a first
    pass without PLSIM (eval mode, no grad) gives them by the inference rule.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__(config)
        config = self.config
        H = config.hidden_dim
        if config.use_tsam:
            self.tsam_audio = TSAM(config.num_segments, config.tsam_kernel)
            self.tsam_visual = TSAM(config.num_segments, config.tsam_kernel)
        if config.use_cmim:
            self.cmim = CMIM(H)
        if config.use_plsim:
            self.plsim = PLSIM(H, config.num_classes, config.text_dim_audio, config.text_dim_visual)
        if config.use_sloss:
            self.sloss_mu = nn.Parameter(torch.tensor(float(config.mu_init)), requires_grad=not config.freeze_mu)

    def set_text_tables(self, text_audio, text_visual) -> None:
        """Register the class text tables PLSIM reads: (C, Da) audio, (C, Dv) visual."""
        if not self.config.use_plsim:
            raise ConfigError(f"set_text_tables: model {self.config.variant!r} has no PLSIM")
        self.plsim.set_text_tables(text_audio, text_visual)

    @torch.no_grad()
    def self_labels(self, x_a: torch.Tensor, x_v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """PLSIM labels from a first pass without PLSIM, (B, T, C) x 2 (``self``,
        book/decisions.md#decision-plsim-labels).

        Eval mode (no dropout), thresholded by the inference rule: frame >= 0.5 AND video >= 0.5.
        """
        was_training = self.training
        self.eval()
        try:
            first = self.encode_and_predict(x_a.detach(), x_v.detach())
        finally:
            self.train(was_training)
        labels = torch.stack(gated_segments(first.frame_prob, first.global_prob), dim=2).to(x_a.dtype)  # (B, T, 2, C)
        return labels[:, :, 0], labels[:, :, 1]

    def _plsim_labels(self, x_a, x_v, plsim_audio, plsim_visual):
        mode = self.config.plsim_labels
        given = (plsim_audio is not None, plsim_visual is not None)
        if plsim_label_mode(mode).from_model:
            if any(given):
                raise ConfigError(
                    "plsim_labels='self': the model makes its own PLSIM labels; do not pass plsim_audio/plsim_visual"
                )
            return self.self_labels(x_a, x_v)
        if not all(given):
            raise ConfigError(
                f"plsim_labels={mode!r}: PLSIM needs plsim_audio and plsim_visual labels (B, T, C); "
                "pass them to forward(), or build the model with plsim_labels='self'"
            )
        expected = (x_a.shape[0], self.config.num_segments, self.config.num_classes)
        for name, labels in (("plsim_audio", plsim_audio), ("plsim_visual", plsim_visual)):
            if tuple(labels.shape) != expected:
                raise ConfigError(f"{name}: expected shape {expected}, got {tuple(labels.shape)}")
        return plsim_audio.to(x_a.dtype), plsim_visual.to(x_a.dtype)

    def forward(self, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> AVVPOutput:
        config = self.config
        if not config.use_plsim and (plsim_audio is not None or plsim_visual is not None):
            raise ConfigError(f"PLSIM labels were passed to model {config.variant!r}, which has no PLSIM")
        x_a, x_v = self.embed(audio, visual, visual_3d)
        diagnostics = {}
        if config.use_tsam:  # eqs 1-3
            x_a, w_a, s_a = self.tsam_audio(x_a)
            x_v, w_v, s_v = self.tsam_visual(x_v)
            for prefix, values in (
                ("tsam_a_temporal", w_a),
                ("tsam_a_spatial", s_a),
                ("tsam_v_temporal", w_v),
                ("tsam_v_spatial", s_v),
            ):
                diagnostics.update(_stats(prefix, values))
        if config.use_cmim:  # eqs 4-6
            x_a, x_v = self.cmim(x_a, x_v)
            for name in ("alpha1", "alpha2", "beta1", "beta2"):
                diagnostics[name] = getattr(self.cmim, name).detach().clone()
        if config.use_plsim:  # eqs 13-17
            labels_a, labels_v = self._plsim_labels(x_a, x_v, plsim_audio, plsim_visual)
            x_a, x_v = self.plsim(x_a, x_v, labels_a, labels_v)
            diagnostics["plsim_active_a"] = is_active(labels_a).to(x_a.dtype).mean().detach()
            diagnostics["plsim_active_v"] = is_active(labels_v).to(x_v.dtype).mean().detach()
        if config.use_sloss:
            diagnostics["mu"] = self.sloss_mu.detach().clone()
        return self.encode_and_predict(x_a, x_v, diagnostics)
