"""Staff accounts and access: passwords, sign-in with lockout and a second factor, sessions, API tokens."""
