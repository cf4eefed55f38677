"""The WeCom (企业微信) channel: a self-built application in callback mode, around the same
dialog core as Telegram.

- ``crypto``: the callback signature and AES envelope.
- ``inbound``: callbacks as the dialog's ``Input``.
- ``client``: the server API (token, send, cards, media), with its retry rules.
- ``pacing``: at most 30 messages a minute and 1000 an hour to one member.
- ``outbound``: the dialog's ``Reply`` as text, template cards and files.
- ``server``: the aiohttp callback endpoint, and running it alone or beside Telegram."""

from bot.wecom.client import WeComClient, WeComError
from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.outbound import Pressed, WeComSender
from bot.wecom.pacing import Pacer
from bot.wecom.server import WeComChannel, attach_to_application, run_wecom, serve

__all__ = [
    "CryptoError",
    "Pacer",
    "Pressed",
    "WeComChannel",
    "WeComClient",
    "WeComCrypto",
    "WeComError",
    "WeComSender",
    "attach_to_application",
    "run_wecom",
    "serve",
]
