"""CDR ingest: parsing mod_json_cdr posts, storing them, loading files left on disk."""
