"""Orchestrator daemon: dials campaigns through FreeSWITCH over the Event Socket."""
