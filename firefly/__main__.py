"""``python -m firefly``: the same as the ``firefly`` command."""

from firefly.cli import main

main()
