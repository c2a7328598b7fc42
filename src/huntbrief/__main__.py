"""`python -m huntbrief` runs the command-line interface."""

from huntbrief.app.cli import main

main()
