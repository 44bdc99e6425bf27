"""The pooled-fund ledger: accounts, balanced append-only transactions, contributions."""
