"""Resource APIs of the Qlik Cloud REST API, one module per resource."""
