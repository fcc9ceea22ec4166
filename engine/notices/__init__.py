"""Notices: planned in the decision's transaction, delivered by a job, at most once."""
