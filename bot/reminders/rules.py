"""When reminders are due: monthly from a month on, weekly in the last weeks, daily in the
last days, on the day, and daily once overdue — on working days only.

An occasion has a key (the month, the ISO week, or the date) so that the reminder log can
hold each reminder once; a period's reminder goes out on the first working day of the period
that is still inside it, so a holiday moves it rather than losing it, and a bot that was down
sends it when it comes back within the period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from bot.reminders.calendar import holiday_name, is_workday, last_workday_until

Kind = Literal["monthly", "weekly", "daily", "due", "overdue"]
URGENT_DAYS = 7  # reminders this close to the deadline (and after it) ignore /mute


class ReminderRules(BaseModel):
    """Defaults; each can be overridden in settings (REMINDER_* variables)."""

    monthly_from_month: int = Field(default=10, ge=1, le=12)
    weekly_within_days: int = Field(default=30, ge=1)
    daily_within_days: int = Field(default=7, ge=1)
    overdue_for_days: int = Field(default=31, ge=0)  # daily overdue lists stop after this long
    send_hour: int = Field(default=9, ge=0, le=23)
    send_minute: int = Field(default=0, ge=0, le=59)


@dataclass(frozen=True)
class Occasion:
    kind: Kind
    key: str  # unique within a year's deadline: "2026-10", "2026-W50", "2026-12-25"
    days_left: int  # negative when overdue

    @property
    def urgent(self) -> bool:
        """The last week, the day and after: never muted (whatever the cadence settings)."""
        return self.days_left <= URGENT_DAYS


def occasion(today: date, year: int, deadline: date, rules: ReminderRules) -> Occasion | None:
    """The reminder due on ``today`` for the year's ``deadline``, if any. A monthly or weekly
    occasion is due on every working day of its period: the reminder log keeps it to one, sent
    on the first working day the bot is up (a holiday moves it, downtime delays it)."""
    if not is_workday(today):
        return None
    days_left = (deadline - today).days
    if days_left < 0:
        if -days_left > rules.overdue_for_days:
            return None
        return Occasion("overdue", f"overdue-{today.isoformat()}", days_left)
    if today == last_workday_until(deadline):
        # On the day; when the day is not a working day, on the last working day before it.
        return Occasion("due", f"due-{deadline.isoformat()}", days_left)
    if days_left <= rules.daily_within_days:
        return Occasion("daily", f"daily-{today.isoformat()}", days_left)
    if days_left <= rules.weekly_within_days:
        iso_year, week, _ = today.isocalendar()
        return Occasion("weekly", f"weekly-{iso_year}-W{week:02d}", days_left)
    if today >= date(year, rules.monthly_from_month, 1):
        return Occasion("monthly", f"monthly-{today.year}-{today.month:02d}", days_left)
    return None


def why_nothing_due(now: datetime, deadline: date, rules: ReminderRules) -> tuple[str, dict[str, object]]:
    """Why no reminder is due at ``now`` (local time): a catalogue key and its values — before
    the day's send time, not a working day (a weekend, a holiday), or no reminder on this day
    of the year's run-up; otherwise there was one, and nobody needs it (or it went out)."""
    today = now.date()
    send_at = f"{rules.send_hour:02d}:{rules.send_minute:02d}"
    if (now.hour, now.minute) < (rules.send_hour, rules.send_minute):
        return "cli.reminders.before_time", {"time": send_at}
    if not is_workday(today):
        holiday = holiday_name(today)
        if holiday:
            return "cli.reminders.holiday", {"day": today.isoformat(), "holiday": holiday}
        return "cli.reminders.weekend", {"day": today.isoformat()}
    if occasion(today, deadline.year, deadline, rules) is None:
        if (deadline - today).days > rules.weekly_within_days:
            return "cli.reminders.too_early", {
                "deadline": deadline.isoformat(),
                "month": rules.monthly_from_month,
            }
        return "cli.reminders.too_late", {"deadline": deadline.isoformat(), "days": rules.overdue_for_days}
    return "cli.reminders.nobody", {"day": today.isoformat()}
