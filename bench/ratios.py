"""The issue's load figures in one run: webhooks accepted/s against a bare endpoint, one outage to 5,000
email customers against plain smtplib, and the time from event accepted to first SMTP byte.

    python -m bench.ratios      (`make bench`; PostgreSQL + Redis from FOREWARN_BENCH_POSTGRES_URL / _REDIS_URL)

One line per figure, then `bench: N of M targets met`. Targets are reported, never asserted in tests.
"""

from __future__ import annotations

from bench import outage, webhooks

WEBHOOK_TARGET = 0.5
OUTAGE_TARGET = 0.6


def main() -> None:
    hooks = webhooks.measure()
    print(
        f"webhooks: forewarn serve {hooks.forewarn.per_second:,.0f}/s, bare FastAPI {hooks.bare:,.0f}/s"
        f" (mean of {hooks.bare_before.per_second:,.0f} before and {hooks.bare_after.per_second:,.0f} after);"
        f" ratio {hooks.ratio:.2f} (target >= {WEBHOOK_TARGET})"
    )
    fan = outage.measure()
    for line in outage.lines(fan):
        print(line)
    met = [hooks.ratio >= WEBHOOK_TARGET, fan.ratio >= OUTAGE_TARGET]
    print(f"bench: {sum(met)} of {len(met)} targets met")


if __name__ == "__main__":
    main()
