# long: every table of both engines in one declaration, the single source of the schema
"""The schema, declared once for both engines (SQLAlchemy Core, used here only to declare).

A new database is created from this declaration (bot/storage/schema_version.py); an existing
one is changed by Alembic's revisions (bot/storage/alembic/), which tests hold to the same
result. Types are chosen to read the same on both engines: ids and chat ids are 64-bit
integers (an `INTEGER PRIMARY KEY` on SQLite, so the row id), moments are ISO-8601 text in UTC
(bot/domain/moments.py), days are ISO dates as text, flags are integers 0/1, JSON is text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from bot.domain.outbox import EVENT_TYPES
from bot.domain.outbox import STATES as OUTBOX_STATES
from bot.storage.campaigns import KINDS as CAMPAIGN_KINDS
from bot.storage.campaigns import STATUSES as DELIVERY_STATUSES

metadata = MetaData()

# SQLite makes an INTEGER PRIMARY KEY the row id (given on insert); PostgreSQL needs 64 bits
# and an identity for it.
Id = BigInteger().with_variant(Integer(), "sqlite")
Big = BigInteger()


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _partial(condition: str) -> dict[str, Any]:
    """A partial index's condition, the same on both engines."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


def _glob(column: str, glob: str, regex: str) -> tuple[CheckConstraint, CheckConstraint]:
    """One shape check, in each engine's own pattern language."""
    return (
        CheckConstraint(f"{column} GLOB '{glob}'").ddl_if(dialect="sqlite"),
        CheckConstraint(f"{column} ~ '{regex}'").ddl_if(dialect="postgresql"),
    )


accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("number", Text, nullable=False, unique=True),
    Column("phone", Text, nullable=False),
    Column("address", Text),
    Column("updated_at", Text, nullable=False),
    Column("els", Text),  # единый лицевой счёт in ГИС ЖКХ, when the billing system gives it
    # closed by a full accounts snapshot that no longer lists it: never deleted (readings stay)
    Column("closed_at", Text),
    *_glob("phone", "+[0-9]*", r"^\+[0-9]"),
)

meters = Table(
    "meters",
    metadata,
    _id(),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("serial", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("tariffs", Integer, nullable=False, server_default=text("1")),
    Column("digits", Integer),
    Column("verified_until", Text),
    Column("window_start", Integer),
    Column("window_end", Integer),
    # the last reading the billing system knows (from import); submissions live in readings
    Column("last_t1", Big),
    Column("last_t2", Big),
    Column("last_t3", Big),
    Column("last_date", Text),
    Column("gis_meter_number", Text),  # «Номер ПУ в ГИС ЖКХ», when known
    # closed: replaced by another meter, or absent from a full snapshot; its readings stay
    Column("closed_at", Text),
    # the meter of the same account that replaced this one (no foreign key: meters are never
    # deleted, and SQLite cannot add one to a table in place)
    Column("replaced_by", Id),
    UniqueConstraint("account_id", "serial"),
    CheckConstraint("resource IN ('cold_water', 'hot_water', 'electricity', 'gas', 'heat')"),
    CheckConstraint("tariffs BETWEEN 1 AND 3"),
    CheckConstraint("digits BETWEEN 1 AND 9"),
    CheckConstraint("window_start BETWEEN 1 AND 31"),
    CheckConstraint("window_end BETWEEN 1 AND 31"),
    CheckConstraint("last_t1 >= 0"),
    CheckConstraint("last_t2 >= 0"),
    CheckConstraint("last_t3 >= 0"),
)

# Readings submitted through the bot. A correction marks the earlier one replaced.
readings = Table(
    "readings",
    metadata,
    _id(),
    Column("meter_id", Id, ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("period", Text, nullable=False),
    Column("t1", Big, nullable=False),
    Column("t2", Big),
    Column("t3", Big),
    Column("submitted_at", Text, nullable=False),
    Column("chat_id", Big),
    Column("receipt", Text, nullable=False, unique=True),
    Column("request_key", Text, unique=True),
    Column("replaced_at", Text),
    *_glob("period", "[0-9][0-9][0-9][0-9]-[0-9][0-9]", "^[0-9]{4}-[0-9]{2}$"),
    CheckConstraint("t1 >= 0"),
    CheckConstraint("t2 >= 0"),
    CheckConstraint("t3 >= 0"),
)
Index(
    "readings_one_current",
    readings.c.meter_id,
    readings.c.period,
    unique=True,
    **_partial("replaced_at IS NULL"),
)
Index("readings_period", readings.c.period, readings.c.meter_id)
Index(
    "readings_chat",
    readings.c.chat_id,
    **_partial("chat_id IS NOT NULL"),
)

# Chats that talk to the bot, and their settings.
chats = Table(
    "chats",
    metadata,
    Column("chat_id", Big, primary_key=True, autoincrement=False),
    Column("locale", Text),
    Column("active", Integer, nullable=False, server_default=text("1")),
    Column("current_account_id", Id, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("remind_opening", Integer, nullable=False, server_default=text("1")),
    Column("remind_closing", Integer, nullable=False, server_default=text("1")),
    Column("remind_verification", Integer, nullable=False, server_default=text("1")),
    Column("created_at", Text, nullable=False),
    CheckConstraint("locale IN ('ru', 'en')"),
)
Index(
    "chats_inactive",
    chats.c.chat_id,
    **_partial("active = 0"),
)

links = Table(
    "links",
    metadata,
    Column("chat_id", Big, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("linked_at", Text, nullable=False),
    PrimaryKeyConstraint("chat_id", "account_id"),
)
Index("links_account", links.c.account_id)

# The one pending code of a chat; account_id is NULL when the details did not match (the
# resident is told the same thing either way, and no SMS goes out).
otp_codes = Table(
    "otp_codes",
    metadata,
    Column(
        "chat_id",
        Big,
        ForeignKey("chats.chat_id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("code_hash", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("sent_at", Text, nullable=False),
)

# Codes issued, for the daily limits. chat_ref is a keyed hash of the chat id, so the counter
# survives /forget without keeping the chat id; rows older than a day are pruned.
otp_issues = Table(
    "otp_issues",
    metadata,
    _id(),
    Column("chat_ref", Text, nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("sms_sent", Integer, nullable=False),
    Column("issued_at", Text, nullable=False),
    Column("sms_status", Text, nullable=False, server_default=text("'none'")),
    Column("sms_error", Text),
    CheckConstraint("sms_status IN ('none', 'sending', 'sent', 'failed')"),
)
Index("otp_issues_chat", otp_issues.c.chat_ref, otp_issues.c.issued_at)
Index("otp_issues_account", otp_issues.c.account_id, otp_issues.c.issued_at)
Index("otp_issues_time", otp_issues.c.issued_at)
Index(
    "otp_issues_failed",
    otp_issues.c.issued_at,
    **_partial("sms_status = 'failed'"),
)

# One row that every code reservation updates first: it serialises them on PostgreSQL too.
otp_gate = Table(
    "otp_gate",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("reservations", Big, nullable=False, server_default=text("0")),
    CheckConstraint("id = 1"),
)

sms_alerts = Table(
    "sms_alerts",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("last_at", Text, nullable=False),
)

# aiogram FSM state, so a conversation survives a restart (without REDIS_URL).
fsm_states = Table(
    "fsm_states",
    metadata,
    Column("key", Text, primary_key=True),
    Column("chat_id", Big, nullable=False),
    Column("state", Text),
    Column("data", Text, nullable=False, server_default=text("'{}'")),
)
Index("fsm_states_chat", fsm_states.c.chat_id)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("params", Text, nullable=False, server_default=text("'{}'")),  # JSON
    Column("expires_on", Text),  # local date; unsent rows are dropped after it
    Column("created_at", Text, nullable=False),
    Column("materialised_at", Text),  # every recipient has its delivery row
    Column("finished_at", Text),  # nothing is pending any more
    Column("admin_chat_id", Big),  # broadcast: the chat and message that show progress
    Column("progress_message_id", Big),
    CheckConstraint(f"kind IN ({', '.join(repr(k) for k in CAMPAIGN_KINDS)})"),
)
Index(
    "campaigns_unfinished",
    campaigns.c.kind,
    **_partial("finished_at IS NULL"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("campaign", Text, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", Big, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("updated_at", Text, nullable=False),
    Column("owner", Text),  # the run holding a 'claimed' row
    Column("batch", Integer),  # which of that run's claims
    Column("attempts", Integer, nullable=False, server_default=text("0")),  # passing failures
    Column("failing_since", Text),  # the first of them
    Column("retry_at", Text),  # a pending row is not tried before this moment
    Column("deferred_since", Text),  # first held back: the resident was in a submission walk
    PrimaryKeyConstraint("campaign", "chat_id"),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in DELIVERY_STATUSES)})"),
    sqlite_with_rowid=False,
)
Index(
    "deliveries_pending",
    deliveries.c.campaign,
    deliveries.c.chat_id,
    **_partial("status = 'pending'"),
)
Index("deliveries_chat", deliveries.c.chat_id)

delivery_runs = Table(
    "delivery_runs",
    metadata,
    Column("run", Text, primary_key=True),
    Column("campaign", Text, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("batch", Integer, nullable=False, server_default=text("0")),  # going out now
    Column("started_through", Big),  # in it, every chat up to this one may have been sent
)
Index("delivery_runs_campaign", delivery_runs.c.campaign)

notices = Table(
    "notices",
    metadata,
    _id(),
    Column("chat_id", Big, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),  # 'phone-changed'; the service knows each kind's text
    Column("args", Text, nullable=False, server_default=text("'{}'")),  # JSON
    Column("created_at", Text, nullable=False),
    Column("sent_at", Text),
    Column("outcome", Text),
    CheckConstraint("outcome IN ('sent', 'blocked', 'failed')"),
    CheckConstraint("(sent_at IS NULL) = (outcome IS NULL)"),
)
Index(
    "notices_pending",
    notices.c.id,
    **_partial("sent_at IS NULL"),
)
Index("notices_chat", notices.c.chat_id)

# The accounts snapshot fetched from BILLING_ACCOUNTS_URL: its ETag, so an unchanged file is not
# read again (SPEC §10).
snapshot_sources = Table(
    "snapshot_sources",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("fetched_at", Text, nullable=False),
)

# Groups, supergroups and channels the bot told, once, that it works in private chats only.
private_only_notices = Table(
    "private_only_notices",
    metadata,
    Column("chat_id", Big, primary_key=True, autoincrement=False),
    Column("told_at", Text, nullable=False),
)

# Appeals (SPEC §11): a resident's message to the billing centre and its forum topic among the
# operators. chat_id is NULL once the chat is forgotten; thread_id is NULL until the topic is
# made (the operators' chat may be away: the appeal waits). waiting_since: the resident's first
# message no operator has answered yet; sla_alerted_at: when that wait was last raised.
appeals = Table(
    "appeals",
    metadata,
    _id(),
    Column("chat_id", Big),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("topic", Text, nullable=False),
    Column("first_name", Text),
    Column("locale", Text),
    Column("status", Text, nullable=False, server_default=text("'open'")),
    Column("thread_id", Big, unique=True),
    Column("created_at", Text, nullable=False),
    Column("waiting_since", Text),
    Column("sla_alerted_at", Text),
    Column("answered_at", Text),
    Column("closed_at", Text),
    Column("rating", Integer),
    CheckConstraint("topic IN ('meter', 'previous', 'verification', 'bill', 'other')"),
    CheckConstraint("status IN ('open', 'closed')"),
    CheckConstraint("rating BETWEEN 1 AND 5"),
)
Index("appeals_chat", appeals.c.chat_id, **_partial("chat_id IS NOT NULL"))
Index("appeals_open", appeals.c.created_at, **_partial("status = 'open'"))

# The messages of an appeal, both ways. Resident's: text kept here, or a photo/document copied
# from the resident's chat (source_id); delivered_at NULL until it is in the topic. Operator's:
# the topic message (source_id) and its copy in the resident's chat (copy_id), for edits.
appeal_messages = Table(
    "appeal_messages",
    metadata,
    _id(),
    Column("appeal_id", Id, ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False),
    Column("author", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("body", Text),
    Column("source_id", Big),
    Column("copy_id", Big),
    Column("created_at", Text, nullable=False),
    Column("delivered_at", Text),
    CheckConstraint("author IN ('resident', 'operator')"),
    CheckConstraint("kind IN ('text', 'photo', 'document', 'media')"),
)
Index("appeal_messages_appeal", appeal_messages.c.appeal_id, appeal_messages.c.id)
Index(
    "appeal_messages_undelivered",
    appeal_messages.c.appeal_id,
    **_partial("delivered_at IS NULL"),
)

# Readings on their way to the billing system (SPEC §10), written in the transaction that saves
# the reading; the payload is read from the reading, its meter and account when it is sent
# (bot/storage/outbox.py, _EVENT_DATA).
outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("event_id", Text, nullable=False, unique=True),  # webhook-id, the same on every try
    Column("type", Text, nullable=False),
    Column("reading_id", Id, ForeignKey("readings.id", ondelete="CASCADE"), nullable=False),
    Column("meter_id", Id, ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("next_at", Text, nullable=False),  # a pending event is not tried before this
    Column("attempts", Integer, nullable=False, server_default=text("0")),  # failed tries
    Column("failing_since", Text),
    Column("claim", Text),  # the dispatcher whose try is in flight
    Column("claimed_until", Text),  # after this, a claim's dispatcher is taken for dead
    Column("last_error", Text),  # the last failure, or the refusal's reason
    Column("settled_at", Text),  # delivered, refused or dead at
    CheckConstraint(f"type IN ({', '.join(repr(t) for t in EVENT_TYPES)})"),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in OUTBOX_STATES)})"),
)
# the waiting events in order, each meter's oldest first (claims, SPEC §10's per-meter order)
Index("outbox_pending", outbox.c.meter_id, outbox.c.id, **_partial("status = 'pending'"))
Index("outbox_due", outbox.c.next_at, **_partial("status = 'pending'"))
Index("outbox_dead", outbox.c.id, **_partial("status = 'dead'"))
# (no index on reading_id: readings are never deleted, and each index is paid by every Confirm)

# One row once the billing system answered 410 Gone: delivery to that URL stops until
# `python -m bot outbox --retry-dead`, or BILLING_WEBHOOK_URL names another URL.
outbox_gone = Table(
    "outbox_gone",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("url", Text, nullable=False),
    Column("at", Text, nullable=False),
    CheckConstraint("id = 1"),
)
