"""Webhooks: a signed POST to other systems when a record is created, gets a message or changes status."""
