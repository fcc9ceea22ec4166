"""Forewarn: tell customers about a problem before they have to ask."""
