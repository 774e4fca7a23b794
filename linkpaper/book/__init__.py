"""The book's helpers: figures, tables, traced forward passes and the analyses of the run records.

Only the notebooks (and the book build) import this subpackage; it is where pandas, matplotlib
and seaborn are used. The core package (data, metrics, models, losses, engine, grid, CLI) never
imports it, so training runs without the ``[book]`` extra (``tests/test_package.py`` checks).

* :mod:`~linkpaper.book.viz`: the book's figure style and the generic figures;
* :mod:`~linkpaper.book.modelviz`: figures of a model's internals;
* :mod:`~linkpaper.book.architecture`: the block diagram of VALOR++ with LINK's modules;
* :mod:`~linkpaper.book.probe`: parameter tables, traced forward passes, grid series;
* :mod:`~linkpaper.book.run_records`: run records with provenance, one run's history;
* :mod:`~linkpaper.book.prediction_scores`: scores from a run's predictions (alignment, errors);
* :mod:`~linkpaper.book.gain_reading`: gains over the baseline, their noise, the sentences that read them;
* :mod:`~linkpaper.book.seed_analysis`: two models over all their seeds (per class, per epoch);
* :mod:`~linkpaper.book.tables`: the paper's and our tables side by side;
* :mod:`~linkpaper.book.field`: the field's lineage and Table I, reported and measured;
* :mod:`~linkpaper.book.bookext`: the myst-nb renderer of the notebooks' figures.
"""
