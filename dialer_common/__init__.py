"""Code shared by the orchestrator, the web tier and the switch simulator.

Only what more than one tier needs lives here: configuration, database and
Redis access, the Event Socket wire format, domain types and phone numbers.
"""
