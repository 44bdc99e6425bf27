"""Read side of the admin pages: users and the audit log, in keyset pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..platform.audit import AuditEvent


def audit_page(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor_label == actor.strip().lower())
    if action:
        query = query.where(AuditEvent.action.startswith(action.strip()))
    if object_type:
        query = query.where(AuditEvent.object_type == object_type.strip())
    if object_id:
        query = query.where(AuditEvent.object_id == object_id.strip())
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def users_page(
    session: Session, *, after_id: int = 0, search: str | None = None, limit: int = 50
) -> list[User]:
    query = select(User).where(User.id > after_id)
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(User.email.like(pattern) | User.name.ilike(pattern))
    return list(session.scalars(query.order_by(User.id).limit(limit)))
