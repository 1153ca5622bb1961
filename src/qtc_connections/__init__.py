"""Provision and manage Qlik Talend Cloud data connections.

The package is a typed client for the Qlik Cloud REST API
(``qtc_connections.client``), a catalog of connection kinds
(``qtc_connections.catalog``), the ``qtc`` command line
(``qtc_connections.cli``) and a local emulator of a tenant's API
(``qtc_connections.emulator``).
"""

__version__ = "0.1.0"
