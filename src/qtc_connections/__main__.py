"""Allow ``python -m qtc_connections`` as another way to run ``qtc``."""

from qtc_connections.cli.main import main

main()
