"""Every model, imported once so that metadata is complete (Alembic, relationships)."""

from __future__ import annotations

from .accounts.models import ApiToken, LoginSession, Membership, OneTimeLink, RoleAssignment, User
from .attribution.models import AttributionRecord, AttributionSettings, ConsentEvent
from .calls.models import Call
from .dashboard.models import DashboardDays, DashboardTotal
from .funds.models import Donor, Fund
from .grants.models import (
    AgreementVersion,
    Amendment,
    ConditionWaiver,
    Disbursement,
    Grant,
    GrantEvidence,
    Report,
    Tranche,
    TrancheTemplate,
)
from .intake.models import Application
from .ledger.models import (
    Contribution,
    LedgerAccount,
    LedgerBalance,
    LedgerEntry,
    LedgerTransaction,
    Pledge,
)
from .organisations.models import Organisation
from .platform.audit import AuditEvent
from .platform.db import Base
from .platform.mail import OutboxMessage
from .platform.uploads import StoredUpload
from .reviews.models import Decision, InfoRequest, Review, ReviewAssignment, ReviewSettings

metadata = Base.metadata

__all__ = [
    "AgreementVersion",
    "Amendment",
    "ApiToken",
    "Application",
    "AttributionRecord",
    "AttributionSettings",
    "AuditEvent",
    "Call",
    "ConditionWaiver",
    "ConsentEvent",
    "Contribution",
    "DashboardDays",
    "DashboardTotal",
    "Decision",
    "Disbursement",
    "Donor",
    "Fund",
    "Grant",
    "GrantEvidence",
    "InfoRequest",
    "LedgerAccount",
    "LedgerBalance",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginSession",
    "Membership",
    "OneTimeLink",
    "Organisation",
    "OutboxMessage",
    "Pledge",
    "Report",
    "Review",
    "ReviewAssignment",
    "ReviewSettings",
    "RoleAssignment",
    "StoredUpload",
    "Tranche",
    "TrancheTemplate",
    "User",
    "metadata",
]
