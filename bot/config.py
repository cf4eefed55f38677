"""Settings, read from the environment and ``.env`` (see ``.env.example``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class SettingsError(Exception):
    """A setting is invalid; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    # Telegram's flood limits, kept for everything the bot sends (replies, notifications,
    # reminders): messages a second overall, and one a second to a chat. 0 turns the pacing off
    # (for a local test server only).
    telegram_messages_per_second: float = Field(default=30.0, ge=0, le=30)
    # The bot's @username, for invitation links (t.me/<username>?start=<code>); the running
    # bot learns it from Telegram, the command line needs it set.
    telegram_bot_username: str | None = Field(default=None, pattern=r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$")
    data_dir: Path = DEFAULT_DATA_DIR
    # Photo answers' pictures: in the database unless this names a directory (shared storage
    # that every bot process mounts at this path); larger pictures are refused with a message.
    photo_dir: Path | None = None
    photo_max_mb: float = Field(default=10, gt=0, le=20)
    database_url: str = ""
    bot_timezone: str = "Asia/Shanghai"
    bot_locale: Literal["zh-CN", "en"] = "zh-CN"
    webhook_url: str | None = None
    webhook_secret_token: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "text": one line a record; "json": one JSON object a line (for a log collector).
    log_format: Literal["text", "json"] = "text"
    # /healthz and /metrics (bot/health.py): where they are served; port 0 turns them off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # The supervision report (/report, `archive-bot report`): who issues it and to whom it goes.
    report_issuer: str = Field(default="市委督查室", min_length=1, max_length=100)
    report_addressee: str = Field(default="市委办公室、市人民政府办公室", min_length=1, max_length=200)
    # Townships named in one sentence of the report before "A、B、C等N个乡镇" (all are in the appendix).
    report_names_limit: int = Field(default=8, ge=1, le=100)
    # Reminders (see bot/reminders/rules.py): on or off, the local time they go out, the cadence.
    reminders_enabled: bool = True
    reminder_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    reminder_monthly_from_month: int = Field(default=10, ge=1, le=12)
    reminder_weekly_within_days: int = Field(default=30, ge=1, le=366)
    reminder_daily_within_days: int = Field(default=7, ge=1, le=366)
    reminder_overdue_for_days: int = Field(default=31, ge=0, le=366)
    # WeCom (企业微信): a self-built application in callback mode; all five of corp id, agent id,
    # secret, token and EncodingAESKey, or none of them.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = Field(default=None, ge=0)
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_callback_host: str = "127.0.0.1"
    wecom_callback_port: int = Field(default=8080, ge=1, le=65535)
    wecom_callback_path: str = "/wecom/callback"
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin"

    @field_validator("telegram_bot_username", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("photo_dir", mode="before")
    @classmethod
    def _blank_dir(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("bot_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("webhook_secret_token")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None:
            raw = value.get_secret_value()
            if not raw or len(raw) > 256 or not all(c.isalnum() or c in "_-" for c in raw):
                raise ValueError("must be 1-256 characters of letters, digits, _ and -")
        return value

    @field_validator(
        "wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("wecom_corp_id")
    @classmethod
    def _corp_id(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 64 or not value.isascii() or not value.isalnum()):
            raise ValueError("must be the CorpID (我的企业 → 企业信息), letters and digits")
        return value

    @field_validator("wecom_token")
    @classmethod
    def _wecom_token(cls, value: SecretStr | None) -> SecretStr | None:
        # The Token of the application's API receive settings: up to 32 letters and digits.
        if value is not None:
            raw = value.get_secret_value()
            if len(raw) > 32 or not raw.isascii() or not raw.isalnum():
                raise ValueError("must be 1-32 letters and digits (the Token of 接收消息 → 设置API接收)")
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from bot.wecom.crypto import aes_key

            try:
                aes_key(value.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"the EncodingAESKey {exc}") from None
        return value

    @field_validator("wecom_callback_path")
    @classmethod
    def _callback_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError("must be a URL path starting with /, e.g. /wecom/callback")
        return value

    @field_validator("wecom_api_base_url")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local test server)")
        return value.rstrip("/")

    @property
    def wecom_missing(self) -> str | None:
        """The first WeCom setting missing while another is set (None: all or none are set)."""
        fields = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
        unset = [name for name in fields if getattr(self, name) is None]
        return unset[0].upper() if 0 < len(unset) < len(fields) else None

    @property
    def wecom_enabled(self) -> bool:
        return self.wecom_corp_id is not None and self.wecom_missing is None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'archive-bot.sqlite3'}"

    @property
    def photo_max_bytes(self) -> int:
        return int(self.photo_max_mb * 2**20)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad one raises SettingsError naming it in one line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"Invalid setting {name}: {err['msg']}") from None
    if missing := settings.wecom_missing:
        raise SettingsError(f"Invalid setting {missing}: required when the other WECOM_* settings are set")
    return settings


@cache
def get_settings() -> Settings:
    return load_settings()
