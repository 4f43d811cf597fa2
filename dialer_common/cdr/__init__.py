"""mod_json_cdr posts: decoding, the cdr row, and storing it idempotently.

Shared by the web tier's ``POST /api/cdr``, the CDR receiver and
``dialer cdr load``. Nothing here imports Flask.
"""
