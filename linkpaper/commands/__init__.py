"""One module per ``python -m linkpaper`` subcommand.

Each module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
``linkpaper.cli`` imports a module only when its command runs, so ``evaluate`` never pays
for torch models and ``extract`` alone needs the optional ``[extract]`` dependencies.
"""
