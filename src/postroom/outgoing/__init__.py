"""Outgoing mail: replies from records, auto-replies, notifications, forwards; sent through the outbox."""
