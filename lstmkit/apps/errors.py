"""The one error type the applications raise for bad input or bad files: the CLI prints its
message as one line and exits with status 2 (no traceback)."""


class AppError(ValueError):
    """A user-facing problem: what is wrong and what was expected, in one sentence."""
