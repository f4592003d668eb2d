"""``python -m mpp`` runs the CLI."""

from mpp.cli import main

main()
