"""User-facing errors: one clear line saying what was wrong and how to fix it."""


class PlatformError(Exception):
    """An error caused by input or environment that the user can fix.

    The CLI prints it as a single line and exits non-zero; the API maps it to a 4xx/5xx.
    """
