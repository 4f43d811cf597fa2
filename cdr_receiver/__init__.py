"""The CDR receiver: ``POST /api/cdr`` for mod_json_cdr, outside Flask (see ``server``)."""
