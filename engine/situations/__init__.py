"""Situations: open → updated → resolved, each stage told to the customer as a notice."""
