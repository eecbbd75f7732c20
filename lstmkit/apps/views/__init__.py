"""``lstmkit viz``: the views of ``lstmkit.viz`` on the apps' checkpoints (see ``cli``), and the
cell page and gate plot that ``lstmkit demo`` writes for its text model (``textmodel``)."""
