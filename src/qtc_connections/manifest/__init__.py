"""Connections as code: manifest files and their model."""
