"""The bot's Prometheus metrics (the official client, its default registry), served at
``/metrics`` by bot/health.py. Counted where things happen: updates in the update processors,
Telegram requests in its rate limiter, reminders in the fan-out, the leader flag in bot/leader.py."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("archive_bot_updates_handled", "Updates handled, by channel", ["channel"])
UPDATE_SECONDS = Histogram(
    "archive_bot_update_seconds",
    "Time to handle one update, by channel",
    ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REPLIES = Counter(
    "archive_bot_replies",
    "Messages sent or edited, by channel and outcome (sent, failed)",
    ["channel", "outcome"],
)
REMINDERS = Counter("archive_bot_reminders", "Reminders by outcome (sent, blocked, failed)", ["outcome"])
RATE_LIMITED = Counter(
    "archive_bot_rate_limited", "429 answers (flood control) seen, by channel", ["channel"]
)
LEADER = Gauge("archive_bot_leader", "1 while this process leads (polls, runs the reminders), else 0")


def handled(channel: str, seconds: float) -> None:
    UPDATES.labels(channel).inc()
    UPDATE_SECONDS.labels(channel).observe(seconds)
