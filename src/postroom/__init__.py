"""Postroom: turns the mail that arrives in team mailboxes into records."""
