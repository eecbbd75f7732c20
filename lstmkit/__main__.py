"""``python -m lstmkit``: the same as the ``lstmkit`` command."""

from lstmkit.cli import main

raise SystemExit(main())
