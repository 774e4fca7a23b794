"""One module per ``python -m linkpaper`` subcommand.

Each module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
``linkpaper.cli`` reads every ``HELP`` for ``--help``; a module imports what its command needs
only inside ``add_arguments``/``run``, so ``evaluate`` never pays for torch models and
``extract`` alone needs the optional ``[extract]`` dependencies.
"""
