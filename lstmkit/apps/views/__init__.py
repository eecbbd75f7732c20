"""``lstmkit viz``: the views of ``lstmkit.viz`` on the apps' checkpoints (see ``cli``). The text
model's views (its traces, predictions, cell page and gate plot) live in
``lstmkit.apps.textgen.views``, so that ``lstmkit demo``'s text part can write them without
importing this command (which imports the apps)."""
