"""The channel-agnostic dialog core (``core.Dialog``), and what goes in and out of it."""

from bot.dialog.types import Button, Document, Input, Photo, Reply, Who

__all__ = ["Button", "Document", "Input", "Photo", "Reply", "Who"]
