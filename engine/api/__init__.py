"""HTTP: webhooks in, read API out, health and metrics. The only package that imports FastAPI."""
