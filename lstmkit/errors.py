"""The one error type lstmkit raises for bad user input or bad files: the CLI prints its message
as one line and exits with status 2 (no traceback).

It lives at the package root, not in ``lstmkit.apps``, because the library packages (``tune``,
``distributed``, ``data``) raise it too, and a library package never imports the apps.
"""


class AppError(ValueError):
    """A user-facing problem: what is wrong and what was expected, in one sentence."""
