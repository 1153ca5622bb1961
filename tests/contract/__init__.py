"""Contract check of recorded API traffic against Qlik's published OpenAPI specs.

``recorder`` captures the exchanges that reach the emulator, ``validator``
checks them with openapi-core, ``defects`` lists the known faults of the
specs themselves, and ``plugin`` runs the check once at the end of a pytest
session.
"""
