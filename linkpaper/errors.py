"""Errors a user can fix. The CLI prints their message (never a traceback) and exits 2.

Every message names the file or option, what was expected, what was found, and what to do.
"""


class UserError(Exception):
    """Base class: bad input, a missing file, or a forbidden combination of options."""


class ConfigError(UserError, ValueError):
    """A bad configuration value or a forbidden combination of options."""
