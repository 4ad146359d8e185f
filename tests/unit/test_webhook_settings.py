"""RUN_MODE, WEBHOOK_URL, WEBHOOK_SECRET, HTTP_HOST, HTTP_PORT (SPEC §2): webhook mode without
its URL or secret, or with one Telegram would refuse, stops the start in one line naming it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import SettingsError, load_settings

BASE: dict[str, Any] = {"bot_token": "123:abc", "_env_file": None}
URL = "https://bot.example.org/telegram/updates"


def test_defaults_are_polling_on_loopback_8080() -> None:
    settings = load_settings(**BASE)
    assert (settings.run_mode, settings.http_host, settings.http_port) == (
        "polling",
        "127.0.0.1",
        8080,
    )
    assert settings.webhook_url is None and settings.webhook_secret is None


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"webhook_secret": "s"}, "WEBHOOK_URL"),
        ({"webhook_url": URL}, "WEBHOOK_SECRET"),
        ({"webhook_url": URL, "webhook_secret": "  "}, "WEBHOOK_SECRET"),
    ],
)
def test_webhook_mode_without_url_or_secret_names_the_variable(
    values: dict[str, Any], variable: str
) -> None:
    with pytest.raises(SettingsError, match=rf"^{variable} is required when RUN_MODE=webhook"):
        load_settings(run_mode="webhook", **values, **BASE)


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"webhook_url": "http://bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"webhook_url": "bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"webhook_secret": "has space"}, "WEBHOOK_SECRET"),
        ({"webhook_secret": "x" * 257}, "WEBHOOK_SECRET"),
        ({"webhook_secret": "ключ"}, "WEBHOOK_SECRET"),
        ({"run_mode": "both"}, "RUN_MODE"),
        ({"http_port": "70000"}, "HTTP_PORT"),
    ],
)
def test_a_value_telegram_or_the_system_would_refuse_names_the_variable(
    values: dict[str, Any], variable: str
) -> None:
    with pytest.raises(SettingsError, match=rf"^{variable} is invalid"):
        load_settings(**values, **BASE)


def test_webhook_mode_takes_the_path_of_its_url_and_any_case() -> None:
    secret = "A-z_0-9" * 36  # 252 characters of the allowed ones
    settings = load_settings(run_mode="Webhook", webhook_url=URL, webhook_secret=secret, **BASE)
    assert settings.run_mode == "webhook"
    assert settings.webhook_path == "/telegram/updates"
    assert load_settings(webhook_url="https://bot.example.org", **BASE).webhook_path == "/"
