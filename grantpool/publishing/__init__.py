"""Publication of attribution records: public pages, certificates and open data."""
