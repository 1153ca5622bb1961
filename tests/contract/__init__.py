"""Contract check of recorded API traffic against Qlik's published OpenAPI specs.

``recorder`` captures the exchanges that reach the emulator, ``specs``
loads the spec files, and ``validator`` checks each exchange with
openapi-core and ``fields``. ``findings`` turns errors into messages that
contain no secrets, ``defects`` lists the known faults of the specs
themselves, and ``report`` summarises the verdicts. ``plugin`` runs the
check once at the end of a pytest session. ``serving`` serves a wrapped
emulator for the contract's own tests.
"""
