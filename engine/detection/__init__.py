"""Detection rules: judge state changes (and, on a schedule, deadlines) and raise situations."""
