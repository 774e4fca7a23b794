"""linkpaper: the reproducible companion to "LINK: Adaptive Modality Interaction for
Audio-Visual Video Parsing" (arXiv 2412.20872).

Data flows one way through the package::

    classes -> data (annotations, features, synth) -> metrics
            -> models (VALOR++, LINK) -> losses -> engine -> results -> book
"""

__version__ = "0.1.0"
