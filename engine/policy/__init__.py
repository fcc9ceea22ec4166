"""Who may be told, on which channel, and when."""
