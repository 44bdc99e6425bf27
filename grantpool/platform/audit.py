"""Audit trail: who did what to which object, when and from where.

Append-only and hash-chained: each row's hash covers its content and the previous row's
hash, so `flask grantpool audit-verify` finds an edited or removed row. On PostgreSQL a
trigger refuses UPDATE, DELETE and TRUNCATE; on SQLite triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import has_request_context
from sqlalchemy import BigInteger, ForeignKey, Index, String, insert, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, IdPK
from .net import client_address
from .time import now_utc

GENESIS_HASH = "0" * 64
# Any 64-bit number unique to this purpose: serialises writers of the chain on PostgreSQL.
_AUDIT_LOCK_KEY = 0x6772616E74706F6F  # "grantpoo"


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[IdPK]
    occurred_at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        Index("ix_audit_events_actor_id", "actor_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _digest(event: AuditEvent) -> str:
    payload = {
        "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "remote_addr": event.remote_addr,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_event(
    session: Session,
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Write one audit event in the caller's transaction.

    `actor` is a User or None (the system). `obj` is a model instance whose class name
    and id identify the object, unless object_type/object_id are given.
    """
    if obj is not None:
        session.flush()  # the object needs its id
        object_type = object_type or obj.__class__.__name__.lower()
        object_id = object_id if object_id is not None else obj.id
    if object_type is None:
        raise ValueError("an audit event needs an object type")
    event = _chained(_chain_head(session), actor, action, object_type, object_id, before, after, at)
    session.add(event)
    session.flush()
    session.info[_CHAIN_HEAD] = event.hash
    return event


def record_events(
    session: Session,
    actor: Any,
    action: str,
    objects: list[tuple[str, Any, dict[str, Any] | None]],
    *,
    at: dt.datetime | None = None,
) -> None:
    """record_event for many objects at once — (object type, id, after) each — chained in
    order and written in one statement (a bulk import)."""
    if not objects:
        return
    prev = _chain_head(session)
    rows = []
    for object_type, object_id, after in objects:
        event = _chained(prev, actor, action, object_type, object_id, None, after, at)
        prev = event.hash
        rows.append(
            {
                column.key: getattr(event, column.key)
                for column in AuditEvent.__table__.columns
                if column.key != "id"
            }
        )
    session.execute(insert(AuditEvent), rows)
    session.info[_CHAIN_HEAD] = prev


def _chained(
    prev: str,
    actor: Any,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: dt.datetime | None,
) -> AuditEvent:
    """A new event linked to the one whose hash is `prev` (not yet added to a session)."""
    event = AuditEvent(
        occurred_at=at or now_utc(),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id if object_id is not None else ""),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        remote_addr=client_address() if has_request_context() else "cli",
        prev_hash=prev,
    )
    event.hash = _digest(event)
    return event


_CHAIN_HEAD = "grantpool.audit_chain_head"


def _chain_head(session: Session) -> str:
    """The hash of the newest event, with the chain locked for this transaction.

    The first event of a transaction takes the lock (PostgreSQL: an advisory lock held to
    the end of the transaction; SQLite: BEGIN IMMEDIATE already serialises writers) and
    reads the newest hash; later events of the same transaction (a spreadsheet import
    writes thousands) know it already, since nobody else can append meanwhile. Forgotten
    when the transaction ends or any part of it (a savepoint) rolls back."""
    head = session.info.get(_CHAIN_HEAD)
    if head is not None:
        return str(head)
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the lock, then the newest hash read under it (migration 0009).
        prev = session.scalar(_PG_CHAIN_HEAD, {"k": _AUDIT_LOCK_KEY})
    else:
        prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return prev or GENESIS_HASH


_PG_CHAIN_HEAD = text("SELECT audit_chain_head(:k)")


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_chain_head(session: Session, *_args: Any) -> None:
    session.info.pop(_CHAIN_HEAD, None)


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    reason: str


def verify_chain(session: Session, batch: int = 1000) -> Iterator[ChainProblem]:
    """Walk the chain in id order (in batches, constant memory) and report every break."""
    expected_prev = GENESIS_HASH
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        for event in rows:
            if event.prev_hash != expected_prev:
                yield ChainProblem(event.id, "previous event missing or altered")
            if _digest(event) != event.hash:
                yield ChainProblem(event.id, "content altered")
            expected_prev = event.hash
            last_id = event.id
        session.expunge_all()


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """A before/after summary of the named attributes."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}
