"""`python -m gradcli` runs the command-line tool."""

from gradcli.entry import main

main()
