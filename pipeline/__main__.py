"""``python -m pipeline`` is the ``zhextract`` command."""

from .cli import main

main()
