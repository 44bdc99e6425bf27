from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import Role

ROLE_LABELS = {
    Role.APPLICANT.value: _l("Applicant"),
    Role.REVIEWER.value: _l("Reviewer"),
    Role.COMMUNITY_PANEL.value: _l("Community panel member"),
    Role.FUND_MANAGER.value: _l("Fund manager"),
    Role.FINANCE_OFFICER.value: _l("Finance officer"),
    Role.DONOR_VIEWER.value: _l("Donor viewer"),
    Role.ADMIN.value: _l("Administrator"),
}
