"""Training: a run's recipe and configuration, the loop, the run record, the grid and its executors.

recipe (TrainConfig, the paper's schedule) -> engine (the loop) -> runs (results.json and
checkpoints), with divergence (a NaN loss, explained), scoring (a model's F-scores on a whole
split), precision, tracking, inputs (what a run read) and provenance (code version, hardware);
grid and cluster train many runs.
"""
