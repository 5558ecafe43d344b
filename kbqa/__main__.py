"""`python -m kbqa`: the kbqa command."""

from kbqa.cli import main

main()
