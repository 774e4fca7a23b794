"""What the chapters compute, tabulate and draw: figures, tables, traced forward passes and the
analyses of the run records, and the Sphinx extension of the book build.

Only the notebooks (and the book build) import this subpackage; it is where pandas, matplotlib
and seaborn are used. The core package (data, metrics, models, losses, engine, grid, CLI) never
imports it, so training runs without the ``[book]`` extra (``tests/test_package.py`` checks).

* :mod:`~linkpaper.chapters.viz`: the book's figure style and the generic figures;
* :mod:`~linkpaper.chapters.modelviz`: figures of a model's internals;
* :mod:`~linkpaper.chapters.architecture`: the block diagram of VALOR++ with LINK's modules;
* :mod:`~linkpaper.chapters.probe`: parameter tables, traced forward passes, grid series;
* :mod:`~linkpaper.chapters.run_records`: run records with provenance, one run's history;
* :mod:`~linkpaper.chapters.prediction_scores`: scores from a run's predictions (alignment, errors);
* :mod:`~linkpaper.chapters.gain_reading`: gains over the baseline, their noise, the sentences that read them;
* :mod:`~linkpaper.chapters.seed_analysis`: two models over all their seeds (per class, per epoch);
* :mod:`~linkpaper.chapters.tables`: the paper's and our tables side by side;
* :mod:`~linkpaper.chapters.field`: the field's lineage and Table I, reported and measured;
* :mod:`~linkpaper.chapters.bookext`: the myst-nb renderer of the notebooks' figures.
"""
