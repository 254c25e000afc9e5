"""``python -m synthkiln``: the same as the ``synthkiln`` command."""
from .headless.cli import main

main()
