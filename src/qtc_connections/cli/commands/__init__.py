"""One module per ``qtc`` command group."""
