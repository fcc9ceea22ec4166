"""build_feeds: a vendor feed is registered only when its secret or token is set; feed settings read JSON."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.vocabulary import WEBHOOK_FEEDS
from integrations.feeds import build_feeds


def test_only_configured_sources_are_registered() -> None:
    assert build_feeds(Settings(_env_file=None)) == {}  # type: ignore[call-arg]
    everything = Settings(
        _env_file=None,  # type: ignore[call-arg]
        webhook_secret_shopify="s",
        webhook_secret_easypost="e",
        webhook_secret_aftership="a",
        webhook_secret_pagerduty="p",
        webhook_secret_events="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        webhook_token_statuspage="t",
        webhook_token_alertmanager="t",
    )
    feeds = build_feeds(everything)
    assert sorted(feeds) == sorted(WEBHOOK_FEEDS)
    assert all(feed.source == name for name, feed in feeds.items())
    only = build_feeds(Settings(_env_file=None, webhook_token_statuspage="t", webhook_secret_shopify=""))  # type: ignore[call-arg]
    assert list(only) == ["statuspage"]


def test_feed_settings_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_SHOPIFY_SHIPPING_DAYS", '{"Standard": 5, "Express": 2}')
    monkeypatch.setenv("FOREWARN_ALERTMANAGER_COMPONENT_MAP", '{"checkout-api": "checkout"}')
    monkeypatch.setenv("FOREWARN_SHOPIFY_DEFAULT_DAYS", "3")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.shopify_shipping_days == {"Standard": 5, "Express": 2}
    assert settings.alertmanager_component_map == {"checkout-api": "checkout"}
    assert settings.shopify_default_days == 3 and settings.statuspage_component_map == {}
