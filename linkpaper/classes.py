"""The 25 LLP event classes and every per-class constant: one source of truth.

The class order is the one used by AVVP-ECCV20 ``dataloader.py``, VALOR
``dataloader_avvp.py`` / ``utils/eval_metrics.py``, LEAP, the released pseudo-label
files and the LEAP GloVe table. Every (.., 25) array in this package is in this order.
"""

from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "Speech",
    "Car",
    "Cheering",
    "Dog",
    "Cat",
    "Frying_(food)",
    "Basketball_bounce",
    "Fire_alarm",
    "Chainsaw",
    "Cello",
    "Banjo",
    "Singing",
    "Chicken_rooster",
    "Violin_fiddle",
    "Vacuum_cleaner",
    "Baby_laughter",
    "Accordion",
    "Lawn_mower",
    "Motorcycle",
    "Helicopter",
    "Acoustic_guitar",
    "Telephone_bell_ringing",
    "Baby_cry_infant_cry",
    "Blender",
    "Clapping",
)
"""The 25 LLP class names exactly as they appear in the CSVs, in index order."""

NUM_CLASSES: int = len(CLASSES)  # C = 25
NUM_SEGMENTS: int = 10  # T = 10 one-second segments per 10-s clip
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}

SPLIT_SIZES: dict[str, int] = {"train": 10_000, "val": 649, "test": 1_200}
"""Videos per split of the real LLP dataset (AVVP_dataset_full.csv = 11,849 = the union)."""

MODALITIES: tuple[str, str] = ("audio", "visual")
"""Index 0 = audio, 1 = visual: the modality axis of every (.., 2, 25) tensor."""

# --- CLIP visual teacher (VALOR utils/clip_preprocess.py), verbatim including typos -------
CLIP_PROMPTS: tuple[str, ...] = (
    "A photo of people talking.",
    "A photo of a car.",
    "A photo of people cheering.",
    "A photo of a dog.",
    "A photo of a cat.",
    "A photo of frying food.",
    "A photo of people playing basketball.",
    "A photo of a fire alarm.",
    "A photo of a chainsaw.",
    "A photo of a cello.",
    "A photo of a banjo.",
    "A photo of people singing.",
    "A photo of a chicken or a rooster.",
    "A photo of a violin.",
    "A photo of a vaccum cleaner.",
    "A photo of a laughing baby.",
    "A photo of an accordion.",
    "A photo of a lawnmower.",
    "A photo of a motorcycle.",
    "A photo of a helicopter.",
    "A photo of a acoustic guiter.",
    "A photo of a ringing telephone.",
    "A photo of a crying baby.",
    "A photo of a blender.",
    "A photo of hands clapping.",
)
CLIP_THRESHOLDS: tuple[float, ...] = (
    20, 15, 18, 14, 15, 18, 18, 15, 15, 15, 15, 18, 15,
    15, 15, 15, 15, 15, 15, 16, 14, 15, 15, 15, 18,
)  # fmt: skip
"""Per-class thresholds on CLIP logits (100 x cosine): PL = logit > threshold (strict)."""
CLIP_LOGIT_SCALE: float = 100.0

# --- CLAP audio teacher (VALOR utils/clap_utils.py) -------------------------------------
CLAP_PHRASES: tuple[str, ...] = (
    "speech",
    "car",
    "cheering",
    "dog",
    "cat",
    "frying (food)",
    "basketball bounce",
    "fire alarm",
    "chainsaw",
    "cello",
    "banjo",
    "singing",
    "chicken, rooster",
    "violin fiddle",
    "vacuum cleaner",
    "baby laughter",
    "accordion",
    "lawn mower",
    "motorcycle",
    "helicopter",
    "acoustic guitar",
    "telephone bell ringing",
    "baby cry, infant cry",
    "blender",
    "clapping",
)
CLAP_PROMPTS: tuple[str, ...] = tuple("This is a sound of " + p for p in CLAP_PHRASES)
CLAP_THRESHOLDS: tuple[float, ...] = (
    0, 0, 1, 4, 6, -2, 4, 4, 2, 2, 2, 1, 2,
    3, 0, 2, 2, 2, 0, 2, -1, 2, 3, 3, 0,
)  # fmt: skip
"""Per-class thresholds on CLAP logits (logit_scale_a x cosine), strict >."""

# --- LEAP GloVe table keys (display phrases, same order as CLASSES) ---------------------
GLOVE_KEYS: tuple[str, ...] = (
    "Speech", "Car", "Cheering", "Dog", "Cat", "Fry food", "Basketball bounce",
    "Fire alarm", "Chainsaw", "Cello", "Banjo", "Singing", "Chicken rooster",
    "Violin fiddle", "Vacuum cleaner", "Baby laughter", "Accordion", "Lawn mower",
    "Motorcycle", "Helicopter", "Acoustic guitar", "Telephone bell ringing",
    "Baby cry infancy cry", "Blender", "Clapping",
)  # fmt: skip
GLOVE_DIM: int = 300

assert len(CLIP_PROMPTS) == len(CLIP_THRESHOLDS) == len(CLAP_PHRASES) == NUM_CLASSES
assert len(CLAP_THRESHOLDS) == len(GLOVE_KEYS) == NUM_CLASSES


def class_names_to_multihot(names, *, source: str = "<labels>"):
    """Turn an iterable of class names into a (25,) float32 multi-hot numpy vector.

    Duplicates are harmless (``Clapping,Clapping`` in the test CSV). An unknown name raises
    ``ValueError`` naming ``source`` and the offending name.
    """
    import numpy as np

    vec = np.zeros(NUM_CLASSES, dtype=np.float32)
    for name in names:
        try:
            vec[CLASS_INDEX[name]] = 1.0
        except KeyError:
            raise ValueError(
                f"{source}: unknown class name {name!r}; expected one of the 25 LLP classes "
                f"({', '.join(CLASSES[:3])}, ...; see linkpaper.classes.CLASSES)"
            ) from None
    return vec
