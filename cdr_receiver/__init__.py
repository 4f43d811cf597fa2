"""The CDR receiver: ``POST /api/cdr`` for mod_json_cdr, outside Flask (see ``server``)."""

# Pending connections the kernel queues for the workers' accept(). Kept
# here so the parent process can listen without importing the server
# (and prometheus-client) before the workers' metrics folder is set.
LISTEN_BACKLOG = 1024
# Seconds a connection may stay silent, or take to send one request.
IDLE_TIMEOUT_S = 15.0
