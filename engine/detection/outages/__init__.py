"""Outages: the rule (`rule`), what a status event changes (`status`), announcing to followers once the
debounce ends (`announcement`, behind the blast-radius `gate`, written by `writer`), and keeping the
threads of those told in line with the incident (`threads`)."""
