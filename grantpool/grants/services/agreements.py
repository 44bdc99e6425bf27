"""The agreement PDF, issued as a new version at the award and at each amendment."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...platform.audit import record_event
from ...platform.storage import get_storage
from ..models import AgreementVersion, Amendment, Grant
from ..queries import amendments_of, tranches_of


def issue_agreement(
    session: Session, actor: User | None, grant: Grant, *, amendment: Amendment | None = None
) -> AgreementVersion:
    """Generate the agreement PDF in the grant's language and keep it as a new version."""
    import io

    from ..pdf import agreement_pdf

    version = (
        session.scalar(
            select(func.max(AgreementVersion.version)).where(AgreementVersion.grant_id == grant.id)
        )
        or 0
    ) + 1
    content = agreement_pdf(
        grant,
        tranches_of(session, grant),
        version=version,
        amendments=amendments_of(session, grant),
    )
    stored = get_storage().save(io.BytesIO(content), allowed_types=frozenset({"application/pdf"}))
    agreement = AgreementVersion(
        grant_id=grant.id,
        version=version,
        file_key=stored.key,
        size=stored.size,
        amendment_id=amendment.id if amendment is not None else None,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(agreement)
    session.flush()
    record_event(
        session,
        actor,
        "grant.agreement_issued",
        agreement,
        object_type="grant_agreement",
        after={"grant_id": grant.id, "version": version},
    )
    return agreement


def agreement_bytes(agreement: AgreementVersion) -> bytes:
    with get_storage().open(agreement.file_key) as handle:
        return handle.read()
