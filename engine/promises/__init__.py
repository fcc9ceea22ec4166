"""Promises: every warning names a time by which the customer will hear from us again, and the engine keeps it.

- `choose`: the time a warning (or a check-in) promises, from the situation and the customer's quiet hours;
- `keep`: the scheduler's step that sends a check-in ("no news yet — still watching") on a thread whose
  promised time has come with nothing newer sent and the matter still open.

How the time is chosen and kept: docs/delivery.md, "Saying when we'll write again".
"""
