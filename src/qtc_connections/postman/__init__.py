"""Postman interop: export the catalog or a manifest as a Postman collection.

``qtc_connections.postman.model`` builds and reads the collection v2.1 and
environment formats; ``qtc_connections.postman.export`` builds the
requests that the library itself would send.
"""
