"""The small model sizes of the test-suite, defined once (``from helpers_sizes import SMALL_MODEL``)."""

SMALL_MODEL = dict(hidden_dim=32, num_heads=4, ff_dim=64, num_layers=2)
"""Module and model tests: a two-layer HAN (cross-layer behaviour is visible) and four heads of 8 dimensions."""

SMALL_RUN = {"hidden_dim": 32, "num_layers": 1, "ff_dim": 64}
"""Training-run tests (``TrainConfig.model_overrides``): one HAN layer, the default eight heads,
so a 2-epoch run on synth:tiny takes seconds."""
