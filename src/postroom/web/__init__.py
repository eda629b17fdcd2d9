"""Serving Postroom over HTTP: the API now, the web interface as it comes (issue 5)."""
