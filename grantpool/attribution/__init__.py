"""Credit attribution: how a partner is credited, its consent, and the record of a grant."""
