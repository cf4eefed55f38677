"""Test doubles of outside services, served on loopback: the Telegram Bot API and WeCom."""
