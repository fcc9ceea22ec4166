"""Inbound events: stored once per (source, id), then applied to state by a job."""
