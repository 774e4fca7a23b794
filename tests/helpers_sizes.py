"""The small model sizes of the test-suite, defined once (``from helpers_sizes import SMALL_MODEL``)."""

SMALL_MODEL = dict(hidden_dim=32, num_heads=4, ff_dim=64, num_layers=2)
"""Module and model tests: a two-layer HAN (cross-layer behaviour is visible) and four heads of 8 dimensions."""

SMALL_RUN = {"hidden_dim": 32, "num_layers": 1, "ff_dim": 64}
"""Training-run tests (``TrainConfig.model_overrides``): one HAN layer, the default eight heads,
so a 2-epoch run on synth:tiny takes seconds."""


def tiny_run_config(**changes):
    """The training-run tests' TrainConfig: the small model on synth:tiny, 3 epochs, batch 16,
    seed 5, one thread; ``changes`` replace any field."""
    import dataclasses

    from linkpaper.training.recipe import TrainConfig

    base = TrainConfig(
        model="valor++",
        model_overrides=dict(SMALL_RUN),
        data="synth:tiny",
        epochs=3,
        batch_size=16,
        seed=5,
        eval_batch_size=64,
        num_threads=1,
    )
    return dataclasses.replace(base, **changes)
