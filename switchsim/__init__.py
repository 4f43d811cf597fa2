"""Switch simulator: an Event Socket server that behaves like FreeSWITCH 1.10.12.

It serves the inbound-mode ESL protocol, simulates callees, mod_callcenter
agents and queues, runs the dialer's answer decision and posts mod_json_cdr
CDRs, so the product can run without a media node.
"""
