"""Settings: the only place that reads the environment (SPEC §2)."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.billing.signing import secret_key
from bot.domain.otp import OtpLimits
from bot.domain.quiet_hours import QuietHours
from bot.domain.windows import SubmissionWindow

SUPPORT_PLACEHOLDER = "+7 (800) 000-00-00"
FREE_BROADCAST_RATE = 30  # messages a second Telegram takes from a bot without paid broadcasts


class SettingsError(Exception):
    """A missing or invalid setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # needed by the commands that talk to Telegram (run, send-reminders); see load_settings
    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # seconds for each of Telegram's answers during start-up (getMe, the command menu)
    telegram_startup_timeout: float = Field(10, gt=0, le=300)
    database_url: str = "sqlite:///data/bot.sqlite3"
    timezone: str = "Europe/Moscow"
    window_start_day: int = Field(15, ge=1, le=31)
    window_end_day: int = Field(3, ge=1, le=31)
    reminder_time: time = time(10, 0)
    closing_reminder_days: int = Field(2, ge=0, le=27)
    verification_reminder_days: int = Field(30, ge=0, le=366)
    broadcast_rate: float = Field(25, gt=0, le=1000)
    # reminders and announcements with Telegram's allow_paid_broadcast: past the free ~30 msg/s,
    # up to 1,000, paid in Stars from the bot's balance
    paid_broadcast: bool = False
    quiet_hours: str = "21:00-09:00"  # local HH:MM-HH:MM; empty: no quiet hours
    sms_provider: Literal["console", "smsru"] = "console"
    smsru_api_id: SecretStr | None = None
    smsru_api_url: str = "https://sms.ru"
    otp_ttl_seconds: int = Field(300, ge=30)
    otp_max_attempts: int = Field(5, ge=1)
    otp_resend_seconds: int = Field(60, ge=0)
    otp_daily_limit: int = Field(5, ge=1)
    sms_daily_budget: int = Field(1000, ge=1)
    account_number_pattern: str = r"^\d{6,12}$"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_locale: Literal["ru", "en"] = "ru"
    support_contact: str = SUPPORT_PLACEHOLDER
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, for log collectors
    run_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None  # the public https URL Telegram posts updates to
    webhook_secret: SecretStr | None = None  # sent back by Telegram in each request's header
    http_host: str = "127.0.0.1"  # the HTTP server: webhook, /healthz, /readyz, /metrics
    http_port: int = Field(8080, ge=0, le=65535)  # 0: any free port (tests)
    # conversations and per-chat order in Redis (SPEC §12); empty: in the database, one process
    redis_url: SecretStr | None = None  # may hold a password: never logged
    redis_prefix: str = "meterbot"  # every key starts with it: one Redis, several installations
    # appeals (SPEC §11): the operators' forum supergroup; empty turns appeals off
    operator_chat_id: int | None = None
    appeal_sla_hours: float = Field(24, gt=0, le=24 * 365)
    # the billing system's accounts snapshot (SPEC §10): fetched daily at SYNC_TIME when set
    billing_accounts_url: str | None = None
    sync_time: time = time(3, 30)
    sync_full: bool = True  # the daily snapshot is the whole truth: what it lacks is closed
    # a full snapshot closing more than this share of the open accounts stops (--force)
    sync_max_close_share: float = Field(0.10, ge=0, le=1)
    # readings posted to the billing system (SPEC §10); both empty: no outbox
    billing_webhook_url: str | None = None
    billing_webhook_secret: SecretStr | None = None  # whsec_<base64>, never logged
    # tests only: every wait of the outbox's retry schedule, and its three days, times this
    billing_retry_scale: float = Field(1.0, gt=0, le=1)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        # `BOT_TOKEN=` as .env.example has it: not set, which offline commands accept
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\d+:[\w-]+", value.get_secret_value()):
            raise ValueError("must look like 123456:ABC-DEF (the token from @BotFather)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("run_mode", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "webhook_url",
        "webhook_secret",
        "redis_url",
        "operator_chat_id",
        "billing_accounts_url",
        "billing_webhook_url",
        "billing_webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an https:// URL (Telegram posts only to HTTPS)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"(redis|rediss|unix)://\S+", value.get_secret_value()
        ):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("operator_chat_id")
    @classmethod
    def _group_id(cls, value: int | None) -> int | None:
        if value is not None and value >= 0:
            raise ValueError("must be a supergroup's id, negative (-100…)")
        return value

    @field_validator("billing_webhook_url")
    @classmethod
    def _billing_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(/\S*)?", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("billing_webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret_key(value.get_secret_value())  # raises saying what is wrong
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        # no glob characters: the bot and the tests match keys by this prefix
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
            raise ValueError("must be 1-64 characters of A-Z, a-z, 0-9, _ . : and -")
        return value

    @field_validator("support_contact")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty: residents are sent there for help (a phone or a link)")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("billing_accounts_url")
    @classmethod
    def _snapshot_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+\S*", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("reminder_time", "sync_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
            raise ValueError("must be HH:MM")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_span(cls, value: str) -> str:
        QuietHours.parse(value)  # raises with the reason
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value.startswith("sqlite:///") or re.match(r"postgres(ql)?(\+asyncpg)?://\S+$", value):
            return value
        raise ValueError(
            "must be sqlite:///relative/path, sqlite:////absolute/path"
            " or postgresql://user:password@host:port/database"
        )

    @field_validator("telegram_api_url", "smsru_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("account_number_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"-?\d+", part) for part in parts):
                raise ValueError("must be Telegram user ids separated by commas")
            return frozenset(int(part) for part in parts)
        return value

    @model_validator(mode="after")
    def _smsru_needs_credentials(self) -> Settings:
        if self.sms_provider == "smsru" and not self.smsru_api_id:
            raise ValueError("SMSRU_API_ID is required when SMS_PROVIDER=smsru")
        return self

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> Settings:
        if self.run_mode == "webhook":
            for name, value in (
                ("WEBHOOK_URL", self.webhook_url),
                ("WEBHOOK_SECRET", self.webhook_secret),
            ):
                if value is None:
                    raise ValueError(f"{name} is required when RUN_MODE=webhook (see .env.example)")
        return self

    @model_validator(mode="after")
    def _billing_needs_url_and_secret(self) -> Settings:
        if (self.billing_webhook_url is None) != (self.billing_webhook_secret is None):
            raise ValueError(
                "BILLING_WEBHOOK_URL and BILLING_WEBHOOK_SECRET are set together or not at all"
            )
        return self

    @property
    def billing_key(self) -> bytes | None:
        """The key readings are signed with; None when the outbox is off."""
        if self.billing_webhook_secret is None:
            return None
        return secret_key(self.billing_webhook_secret.get_secret_value())

    @property
    def broadcast_warning(self) -> str | None:
        """Why BROADCAST_RATE will draw 429s: above Telegram's free limit without paying."""
        if self.broadcast_rate > FREE_BROADCAST_RATE and not self.paid_broadcast:
            return (
                f"BROADCAST_RATE={self.broadcast_rate:g} is above Telegram's free"
                f" {FREE_BROADCAST_RATE} messages a second: expect 429s, or set PAID_BROADCAST=true"
            )
        return None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def window(self) -> SubmissionWindow:
        """The default submission window (an account's own, from the import, wins)."""
        return SubmissionWindow(self.window_start_day, self.window_end_day)

    @property
    def otp_limits(self) -> OtpLimits:
        return OtpLimits(
            ttl_seconds=self.otp_ttl_seconds,
            max_attempts=self.otp_max_attempts,
            resend_seconds=self.otp_resend_seconds,
            daily_limit=self.otp_daily_limit,
            daily_budget=self.sms_daily_budget,
        )

    @property
    def quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours)

    @property
    def on_postgres(self) -> bool:
        return not self.database_url.startswith("sqlite:")

    @property
    def database_path(self) -> Path:
        """The SQLite file: `sqlite:///rel/path` is relative, `sqlite:////abs/path` absolute
        (SQLAlchemy style). Only for SQLite (see `on_postgres`)."""
        assert not self.on_postgres, "DATABASE_URL names a PostgreSQL database, not a file"
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def token(self) -> str:
        """The bot token; only commands that talk to Telegram ask (load_settings checks it)."""
        if self.bot_token is None:
            raise SettingsError(_TOKEN_MISSING)
        return self.bot_token.get_secret_value()

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the HTTP server takes Telegram's POSTs."""
        assert self.webhook_url is not None  # webhook mode requires it
        return urlsplit(self.webhook_url).path or "/"

    @property
    def redis(self) -> str | None:
        """REDIS_URL, when set: conversations and per-chat order live there."""
        return self.redis_url.get_secret_value() if self.redis_url else None

    @property
    def log_chat_key(self) -> bytes:
        """Key chat ids are hashed with in JSON logs: the token's, so hashes cannot be
        reversed by trying ids, and stay the same across restarts."""
        return ("log:" + self.bot_token.get_secret_value()).encode() if self.bot_token else b""

    @property
    def secret_key(self) -> bytes:
        """Key for code hashes: derived from the token, which only the operator holds."""
        return ("otp:" + self.token).encode()


_TOKEN_MISSING = "BOT_TOKEN is not set (see .env.example)"


def load_settings(*, require_token: bool = True, **overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line naming the variable.

    ``require_token``: the command talks to Telegram. Offline commands (import, export, stats)
    pass False and run without BOT_TOKEN."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        raise SettingsError(".env is not UTF-8 text; save it as UTF-8 and try again") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "_".join(str(part) for part in error["loc"]).upper()
        if error["type"] == "missing":
            raise SettingsError(f"{name} is not set (see .env.example)") from None
        message = str(error["msg"]).removeprefix("Value error, ")
        if not name:  # model-level check: the message names the variable itself
            raise SettingsError(message) from None
        raise SettingsError(f"{name} is invalid: {message}") from None
    if require_token and settings.bot_token is None:
        raise SettingsError(_TOKEN_MISSING)
    return settings
