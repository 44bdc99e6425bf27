"""Grants: tranches with conditions, reports, two-person disbursement, amendments."""
