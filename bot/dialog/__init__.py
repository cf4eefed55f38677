"""The channel-agnostic dialog core (``core.Dialog``), and what goes in and out of it."""

from bot.dialog.types import Button, Input, Photo, Reply, Who

__all__ = ["Button", "Input", "Photo", "Reply", "Who"]
