"""Test doubles for end-to-end tests (a fake Telegram Bot API server)."""

from tests.fakes.telegram_api import (
    DEFAULT_FAULT_METHODS,
    DEFAULT_LIMITED_METHODS,
    ApiError,
    BotCall,
    FakeFile,
    FakeStats,
    FakeTelegramAPI,
    FaultPlan,
    RateLimits,
    ThreadedFakeTelegramAPI,
    UploadedFile,
)

__all__ = [
    "DEFAULT_FAULT_METHODS",
    "DEFAULT_LIMITED_METHODS",
    "ApiError",
    "BotCall",
    "FakeFile",
    "FakeStats",
    "FakeTelegramAPI",
    "FaultPlan",
    "RateLimits",
    "ThreadedFakeTelegramAPI",
    "UploadedFile",
]
