"""Columns holding the domain's words: plain strings in the database, members of the vocabulary in Python,
and a word the engine does not know is an error, never a silent string."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from engine.db import make_engine
from engine.models import ChannelSuppression
from engine.vocabulary import Channel, SuppressionKind


def test_words_are_stored_as_their_strings_and_read_back_as_members(database_url: str) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.execute(text("DELETE FROM channel_suppressions"))
        session.add(
            ChannelSuppression(
                channel="sms",  # type: ignore[arg-type]  # what an API filter or an old caller passes
                address="+15550001111",
                reason="replied STOP",
                source="customer",
                kind=SuppressionKind.OPT_OUT,
                created_at=datetime(2026, 3, 3, 18, 0, tzinfo=UTC),
            )
        )
        session.commit()
        stored = session.execute(text("SELECT channel, kind FROM channel_suppressions")).one()
        assert tuple(stored) == ("sms", "opt_out")
        row = session.exec(select(ChannelSuppression)).one()
        assert row.channel is Channel.SMS and row.kind is SuppressionKind.OPT_OUT
        assert session.exec(select(ChannelSuppression).where(ChannelSuppression.channel == "sms")).one() is row

        session.execute(text("UPDATE channel_suppressions SET channel = 'fax'"))
        session.expire_all()
        with pytest.raises(ValueError, match="'fax' is not a valid Channel"):
            session.exec(select(ChannelSuppression)).one()
    engine.dispose()
