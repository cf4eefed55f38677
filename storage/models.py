"""All tables, in one place. Enumerations are stored as short strings so that adding a
value is a code change, not a migration."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    inspector = "inspector"
    # A township's own archivist or leader in charge: sees that township's rectification items only.
    contact = "contact"


class Channel(StrEnum):
    telegram = "telegram"
    wecom = "wecom"
    console = "console"


class InspectionStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"


class Area(SQLModel, table=True):
    """A city or county; a county's parent is its city."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    kind: str = Field(default="county", max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)


class Township(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    name: str = Field(max_length=64, index=True)
    villages: int = Field(default=0, ge=0)


class Village(SQLModel, table=True):
    """A village or community (村/社区) of a township, as the registry names it."""

    __table_args__ = (UniqueConstraint("township_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    name: str = Field(max_length=64)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    locale: str | None = Field(default=None, max_length=8)
    active: bool = True
    muted: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A township contact's one township (nobody else has one: inspectors are assigned).
    township_id: int | None = Field(default=None, foreign_key="township.id", index=True)


class Identity(SQLModel, table=True):
    """One account on one channel (a Telegram user id, a WeCom user id)."""

    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    # Set when the channel reports the person blocked the bot; cleared when they write again.
    blocked: bool = False


class Assignment(SQLModel, table=True):
    """An inspector assigned to a township."""

    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    )
    township_id: int = Field(
        sa_column=Column(Integer, ForeignKey("township.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class ChecklistVersion(SQLModel, table=True):
    """A checklist exactly as it was when inspections were answered with it."""

    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int
    content: dict[str, Any] = Field(sa_type=JSON)
    digest: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set when an administrator installed this version (``archive-bot checklist install``): the
    # newest installed version of a name is the one new inspections use, unless the shipped
    # checklist is newer still. None: stored only because inspections were answered with it.
    installed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Inspection(SQLModel, table=True):
    """One township's inspection for one year, at most one per (township, year); or, with
    ``village_id``, one of its villages' (the village checklist), at most one per (village, year).
    Everything about townships reads only the rows without a village."""

    __table_args__ = (
        Index(
            "ux_inspection_township_year",
            "township_id",
            "year",
            unique=True,
            sqlite_where=text("village_id IS NULL"),
            postgresql_where=text("village_id IS NULL"),
        ),
        Index(
            "ux_inspection_village_year",
            "village_id",
            "year",
            unique=True,
            sqlite_where=text("village_id IS NOT NULL"),
            postgresql_where=text("village_id IS NOT NULL"),
        ),
        Index("ix_inspection_year_status", "year", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id")
    village_id: int | None = Field(default=None, foreign_key="village.id")
    year: int
    checklist_version_id: int = Field(foreign_key="checklistversion.id")
    inspector_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    status: str = Field(default=InspectionStatus.draft, max_length=16)
    # Moved on by every change to the inspection's answers or status: a writer that read an
    # older version lost a race to someone else, writes nothing and starts again.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by: int | None = Field(default=None, foreign_key="person.id")
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    returned_by: int | None = Field(default=None, foreign_key="person.id")
    return_comment: str | None = Field(default=None, max_length=1000)
    # The questions the supervisor asked to fix when returning (question keys), if any.
    return_questions: list[str] | None = Field(default=None, sa_type=JSON)


class Answer(SQLModel, table=True):
    """The current answer to one question; ``skipped`` marks an optional question passed over."""

    __table_args__ = (UniqueConstraint("inspection_id", "question_key"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("inspection.id", ondelete="CASCADE"), nullable=False)
    )
    question_key: str = Field(max_length=64)
    value: Any = Field(default=None, sa_type=JSON)
    skipped: bool = False
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InspectionFact(SQLModel, table=True):
    """What the report derives from a submitted inspection's answers, computed by the
    checklist engine (``bot.reports.facts``) when it is submitted: the report groups it is
    in, those its answers cannot tell (a question not asked), its number answers and its
    score. Valid while the inspection's ``updated_at`` is still ``stamp`` and the report's
    rules still have the digest ``rules``; otherwise computed again when read."""

    inspection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("inspection.id", ondelete="CASCADE"), primary_key=True)
    )
    stamp: datetime = Field(sa_type=UTCDateTime)
    rules: str = Field(max_length=16)
    groups: list[str] = Field(default_factory=list, sa_type=JSON)
    unknown: list[str] = Field(default_factory=list, sa_type=JSON)
    numbers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    score: int = 0


class InspectionTeam(SQLModel, table=True):
    """Who made up a year's inspection team (督查组), as the report's opening names it, and
    what the supervisors ask of the report's addressee beyond what the data shows."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    leader: str = Field(max_length=64)
    leader_title: str | None = Field(default=None, max_length=128)
    # [{"name": ..., "title": ...}], in the order given.
    members: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    asks: str | None = Field(default=None, max_length=2000)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AnswerChange(SQLModel, table=True):
    """Every change to an answer, first answers included: the audit trail."""

    __table_args__ = (Index("ix_answerchange_inspection", "inspection_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("inspection.id", ondelete="CASCADE"), nullable=False)
    )
    question_key: str = Field(max_length=64)
    old_value: Any = Field(default=None, sa_type=JSON)
    new_value: Any = Field(default=None, sa_type=JSON)
    changed_by: int | None = Field(default=None, foreign_key="person.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The message that gave the answer, as "channel:message id": editing that message later
    # changes this answer.
    source: str | None = Field(default=None, max_length=80, index=True)


class StatusChange(SQLModel, table=True):
    """Every change of an inspection's status (submitted, returned, reopened): who, when, why."""

    __table_args__ = (Index("ix_statuschange_inspection", "inspection_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("inspection.id", ondelete="CASCADE"), nullable=False)
    )
    status: str = Field(max_length=16)
    changed_by: int | None = Field(default=None, foreign_key="person.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    comment: str | None = Field(default=None, max_length=1000)


class Invite(SQLModel, table=True):
    """A one-time invitation: whoever sends ``/start <code>`` first, before it expires, becomes
    this person. Only a hash of the code is stored."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    area_id: int | None = Field(default=None, foreign_key="area.id")
    name: str | None = Field(default=None, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by: int | None = Field(default=None, foreign_key="person.id")


class InviteTownship(SQLModel, table=True):
    """A township the invited inspector will be assigned to."""

    invite_id: int = Field(
        sa_column=Column(Integer, ForeignKey("invite.id", ondelete="CASCADE"), primary_key=True)
    )
    township_id: int = Field(
        sa_column=Column(Integer, ForeignKey("township.id", ondelete="CASCADE"), primary_key=True)
    )


class DialogState(SQLModel, table=True):
    """Where a person is in the dialog; written in the same transaction as their answer."""

    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    )
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Bumped on every write: a writer that read an older version lost a race and starts again.
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProcessedUpdate(SQLModel, table=True):
    """Updates already applied, so a redelivered one is applied once."""

    channel: str = Field(max_length=16, primary_key=True)
    update_id: str = Field(max_length=64, primary_key=True)
    processed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class PhotoBlob(SQLModel, table=True):
    """A photo answer's picture, in the database (the default; PHOTO_DIR names shared storage
    instead): every process reads it, whichever host received it."""

    __table_args__ = (UniqueConstraint("inspection_id", "unique_id"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("inspection.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    unique_id: str = Field(max_length=128)  # the channel's id of the file, the same for a resend
    data: bytes = Field(sa_type=LargeBinary)
    size: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboxMessage(SQLModel, table=True):
    """A callback stored before it is acknowledged (WeCom does not send an acknowledged one
    again), processed from here: one left unprocessed by a crash is processed at the next start."""

    channel: str = Field(max_length=16, primary_key=True)
    update_id: str = Field(max_length=64, primary_key=True)
    body: str = Field(sa_type=Text)  # the decrypted message, as received
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class OutgoingMessage(SQLModel, table=True):
    """A message the dialog addressed to someone else (a notice), written in the transaction
    of the turn that made it and removed once sent: one that a crash kept from going out is
    sent by the leader's sweep, late rather than never."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    reply: dict[str, Any] = Field(sa_type=JSON)  # the Reply, as bot.outbox writes it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class YearTarget(SQLModel, table=True):
    """A year's deadline and targets (shares 0-1)."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    deadline: date
    township_target: float = Field(default=0.8, ge=0, le=1)
    village_target: float = Field(default=0.8, ge=0, le=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderLog(SQLModel, table=True):
    """One reminder to one person on one occasion; the unique key is claimed before sending."""

    __table_args__ = (UniqueConstraint("rule", "recipient_id", "occasion"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=32)
    recipient_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    occasion: str = Field(max_length=32)
    status: str = Field(default="claimed", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=500)
    # The run that holds the claim (PostgreSQL): the key of the advisory lock it holds while it
    # lives, so that the next leader finishes a dead run's claims at once (storage/advisory.py).
    claimed_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class ItemStatus(StrEnum):
    open = "open"  # to be rectified (again, after a send-back)
    reported = "reported"  # the township says it is done: for the inspector to review
    closed = "closed"  # accepted, or the answers show the problem gone


class RectificationItem(SQLModel, table=True):
    """One problem a submitted inspection found that the township must rectify (整改事项): one
    per township, year and finding, so returning and resubmitting keeps the same item."""

    __table_args__ = (
        UniqueConstraint("township_id", "year", "finding"),
        Index("ix_rectificationitem_status_due", "status", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(
        sa_column=Column(Integer, ForeignKey("township.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    year: int
    finding: str = Field(max_length=64)  # the checklist flag's key
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id")
    # The answers behind the finding, {question key: value}, as they were when it was raised.
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    due: date
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    status: str = Field(default=ItemStatus.open, max_length=16)
    # How it closed: "accepted" (reviewed) or "answers" (an inspection's answers show it gone).
    closed_how: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=1000)  # the township's last report
    photos: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    comment: str | None = Field(default=None, max_length=1000)  # the last send-back's reason
    opened_by: int | None = Field(default=None, foreign_key="person.id")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ItemEvent(SQLModel, table=True):
    """Every step of an item: opened, reported, guidance asked, accepted, sent back, closed by
    the answers, reopened, due date set — who, when, with what note or photos."""

    __table_args__ = (Index("ix_itemevent_item", "item_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("rectificationitem.id", ondelete="CASCADE"), nullable=False)
    )
    action: str = Field(max_length=16)
    by: int | None = Field(default=None, foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    comment: str | None = Field(default=None, max_length=1000)
    photos: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model, for the hot paths that skip the ORM's per-row work."""
    return model.__table__  # type: ignore[attr-defined]
