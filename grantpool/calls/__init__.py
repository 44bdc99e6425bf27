"""Calls for proposals: texts, budget, eligibility, the form definition, and their states."""
