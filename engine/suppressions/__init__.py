"""Suppressions: (channel, address) pairs nothing proactive is sent to, whoever the customer is."""
