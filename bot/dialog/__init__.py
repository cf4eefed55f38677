"""The channel-agnostic dialog core."""

from bot.dialog.core import Dialog, Turn
from bot.dialog.types import Button, Input, Photo, Reply, Who

__all__ = ["Button", "Dialog", "Input", "Photo", "Reply", "Turn", "Who"]
