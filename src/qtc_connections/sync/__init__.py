"""Plan, apply, export and rotate: keep a tenant equal to a manifest."""
