"""The billing system's side of the wire (SPEC §10): Standard Webhooks signing and the HTTP
poster the outbox dispatcher (bot/services/outbox.py) sends events through."""
