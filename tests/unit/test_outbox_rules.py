"""The outbox's rules (SPEC §10): the signature, what an answer means, when a failure is tried
again, and the payload the billing system reads."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.billing.signing import headers, secret_key, signature
from bot.config import SettingsError, load_settings
from bot.domain.outbox import (
    GIVE_UP_AFTER,
    RETRY_DELAYS,
    Answer,
    GiveUp,
    OutboxEvent,
    Retry,
    after_failure,
    payload,
    retry_after_seconds,
    retry_delay,
    verdict,
)
from tests.fakes.billing import new_secret, verify

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_the_signature_is_the_standard_webhooks_one() -> None:
    # the specification's own test vector (standard-webhooks, libraries' test suites)
    key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    sent = signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sent == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Callable[..., bool]:
    """The receiving side's check as the README gives it to the billing team, run as given."""
    text = README.read_text(encoding="utf-8")
    start = text.index("```python\n", text.index("Verifying a post on the receiving side"))
    code = text[start + len("```python\n") : text.index("```", start + 1)]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # our own README, as printed
    return cast(Callable[..., bool], namespace["verify"])


@pytest.mark.parametrize("receiver", ["the fake billing's", "the README's"])
@given(body=st.binary(max_size=2000), event_id=st.text(min_size=1, max_size=40))
def test_a_receiver_verifies_what_the_bot_signs_and_nothing_altered(
    receiver: str, body: bytes, event_id: str
) -> None:
    check = verify if receiver == "the fake billing's" else readme_verify()
    secret = new_secret()
    stamp = int(time.time())
    sent = headers(secret_key(secret), event_id, stamp, body)
    assert check(secret, sent, body)
    assert not check(secret, sent, body + b" ")
    assert not check(new_secret(b"another-key-of-at-least-24-bytes"), sent, body)
    late = headers(secret_key(secret), event_id, stamp - 301, body)
    assert not check(secret, late, body)  # five minutes' tolerance


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"),
        ("whsec_not base64!", "not base64"),
        ("whsec_" + "c2hvcnQta2V5", "at least 24"),  # 9 bytes
    ],
)
def test_a_webhook_secret_not_in_the_whsec_form_stops_the_start(secret: str, why: str) -> None:
    with pytest.raises(SettingsError, match=f"BILLING_WEBHOOK_SECRET is invalid: .*{why}"):
        load_settings(
            _env_file=None,
            billing_webhook_url="https://billing.example/hook",
            billing_webhook_secret=secret,
        )


def test_url_and_secret_go_together() -> None:
    with pytest.raises(SettingsError, match="BILLING_WEBHOOK_URL and BILLING_WEBHOOK_SECRET"):
        load_settings(_env_file=None, billing_webhook_url="https://billing.example/hook")


def test_the_secret_is_cut_from_every_log_line(tmp_path: Path) -> None:
    from bot.cli.common import secrets

    secret = new_secret()
    settings = load_settings(
        require_token=False,
        _env_file=None,
        billing_webhook_url="https://billing.example/hook",
        billing_webhook_secret=secret,
    )
    assert secret in secrets(settings) and secret.removeprefix("whsec_") in secrets(settings)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (301, "retry"),  # no redirect is followed: a failure
        (302, "retry"),
        (400, "refused"),
        (401, "refused"),
        (404, "refused"),
        (409, "refused"),
        (422, "refused"),
        (408, "retry"),
        (429, "retry"),
        (410, "gone"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
        (None, "retry"),  # no connection, a timeout
    ],
)
def test_what_each_answer_means(status: int | None, expected: str) -> None:
    assert verdict(Answer(status)) == expected


@given(failures=st.integers(min_value=1, max_value=40), seed=st.integers())
def test_each_wait_is_the_schedule_within_twenty_percent(failures: int, seed: int) -> None:
    base = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
    assert base * 0.8 <= retry_delay(failures, random.Random(seed)) <= base * 1.2


def test_the_schedule_is_the_specs() -> None:
    assert RETRY_DELAYS == (5, 30, 120, 600, 1800, 3600, 10800, 21600)
    assert retry_delay(20, random.Random(1)) == pytest.approx(21600, rel=0.2)  # every 6 h


@given(
    failures=st.integers(min_value=1, max_value=30),
    failing_for=st.floats(min_value=0, max_value=4 * 86400),
    seed=st.integers(),
)
def test_a_failing_event_is_tried_again_until_three_days_then_dead(
    failures: int, failing_for: float, seed: int
) -> None:
    since = NOW - timedelta(seconds=failing_for)
    found = after_failure(failures=failures, failing_since=since, now=NOW, rng=random.Random(seed))
    if timedelta(seconds=failing_for) >= GIVE_UP_AFTER:
        assert isinstance(found, GiveUp)
    else:
        assert isinstance(found, Retry) and found.at > NOW


def test_a_failing_event_goes_on_for_three_days_with_the_schedule() -> None:
    rng = random.Random(7)
    since = now = NOW
    tries = 1
    while True:
        found = after_failure(failures=tries, failing_since=since, now=now, rng=rng)
        if isinstance(found, GiveUp):
            break
        now, tries = found.at, tries + 1
    assert GIVE_UP_AFTER <= now - since < GIVE_UP_AFTER + timedelta(hours=7.2)
    assert 17 <= tries <= 22  # 8 growing waits (about 11 h), then every 6 h


def test_retry_after_is_honoured_and_the_test_scale_shortens_the_rest() -> None:
    later = after_failure(failures=1, failing_since=NOW, now=NOW, retry_after=120.0)
    assert isinstance(later, Retry) and later.at == NOW + timedelta(seconds=120)
    quick = after_failure(failures=1, failing_since=NOW, now=NOW, scale=0.001)
    assert isinstance(quick, Retry) and quick.at <= NOW + timedelta(seconds=0.006)
    assert isinstance(
        after_failure(failures=3, failing_since=NOW - timedelta(minutes=5), now=NOW, scale=0.001),
        GiveUp,
    )  # three days times 0.001: 4.3 minutes


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("30", NOW) == 30
    assert retry_after_seconds("Fri, 20 Nov 2026 09:01:00 GMT", NOW) == 60
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds("999999", NOW) == 6 * 3600


def test_the_payload_is_the_standard_webhooks_envelope_with_the_specs_data() -> None:
    event = OutboxEvent(
        id=1,
        event_id="msg_1",
        type="reading.replaced",
        created_at=NOW,
        attempts=0,
        failing_since=None,
        receipt="2611-000002",
        account="5012345678",
        meter="0841276",
        resource="electricity",
        period="2026-11",
        values=(15435, 2210),
        submitted_at=NOW,
        replaces="2611-000001",
    )
    sent = json.loads(payload(event, ZoneInfo("Europe/Moscow")))
    assert sent == {
        "type": "reading.replaced",
        "timestamp": "2026-11-20T09:00:00+00:00",
        "data": {
            "receipt": "2611-000002",
            "account": "5012345678",
            "meter": "0841276",
            "resource": "electricity",
            "period": "2026-11",
            "values": {"t1": 15435, "t2": 2210},
            "submitted_at": "2026-11-20T12:00:00+03:00",
            "replaces": "2611-000001",
            "source": "telegram",
        },
    }


SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "billing-webhook.schema.json"


def test_the_payload_fits_the_published_schema() -> None:
    """docs/billing-webhook.schema.json, checked for what it says of each field (no validator
    library in the dependencies: the required keys, no others, enums and patterns)."""
    import re

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    data_schema = schema["properties"]["data"]
    for values, replaces, kind in (
        ((125,), None, "reading.accepted"),
        ((1, 2, 3), "2611-000001", "reading.replaced"),
    ):
        event = OutboxEvent(
            1,
            "msg_1",
            kind,
            NOW,
            0,
            None,
            "2611-000002",
            "5012345678",
            "SN-1",
            "electricity",
            "2026-11",
            values,
            NOW,
            replaces,
            "1234567890",
            "12АБ345678",
        )
        sent = json.loads(payload(event, ZoneInfo("Europe/Moscow")))
        assert set(schema["required"]) <= set(sent) <= set(schema["properties"])
        assert sent["type"] in schema["properties"]["type"]["enum"]
        data = sent["data"]
        assert set(data_schema["required"]) <= set(data) <= set(data_schema["properties"])
        for name, rule in data_schema["properties"].items():
            if name in data and "pattern" in rule:
                assert re.search(rule["pattern"], data[name]), name
        assert data["resource"] in data_schema["properties"]["resource"]["enum"]
        assert set(data["values"]) <= set(data_schema["properties"]["values"]["properties"])
        assert datetime.fromisoformat(data["submitted_at"]).utcoffset() is not None
