"""VALOR++, LINK, the field's methods (HAN, MM-Pyramid, JoMoLD, LEAP) and the registry that builds each by name."""

from linkpaper.models.audio_pooling import audio_pooling_matrix, pool_audio_maps
from linkpaper.models.config import AUDIO_PATHS, SIMILARITY_FORMS, ModelConfig
from linkpaper.models.inputs import InputShapeError
from linkpaper.models.link import CMIM, LINK, PLSIM, TSAM
from linkpaper.models.plsim_labels import PLSIM_LABEL_MODES, PLSIMLabelMode, plsim_label_mode
from linkpaper.models.registry import (
    CONTROL_CONFIGS,
    METHODS,
    MODEL_CONFIGS,
    Method,
    build_model,
    canonical_name,
    get_method,
    list_controls,
    list_methods,
    list_models,
    load_reference_checkpoint,
    load_valor_checkpoint,
    model_config,
    variant_plsim_labels,
    variant_slug,
)
from linkpaper.models.valor import AVVPOutput, HANEncoder, HANLayer, VALORPlusPlus

__all__ = [
    "AUDIO_PATHS",
    "AVVPOutput",
    "CMIM",
    "CONTROL_CONFIGS",
    "SIMILARITY_FORMS",
    "HANEncoder",
    "HANLayer",
    "InputShapeError",
    "LINK",
    "MODEL_CONFIGS",
    "ModelConfig",
    "PLSIM",
    "PLSIM_LABEL_MODES",
    "PLSIMLabelMode",
    "plsim_label_mode",
    "TSAM",
    "VALORPlusPlus",
    "audio_pooling_matrix",
    "build_model",
    "canonical_name",
    "list_controls",
    "list_models",
    "load_valor_checkpoint",
    "model_config",
    "pool_audio_maps",
    "variant_plsim_labels",
    "variant_slug",
    "METHODS",
    "Method",
    "get_method",
    "list_methods",
    "load_reference_checkpoint",
]
