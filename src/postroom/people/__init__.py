"""People records belong to: teams of users, customer accounts and their contacts."""
