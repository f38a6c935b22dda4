"""The lambda service."""
