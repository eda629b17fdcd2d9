"""The REST API under /api/ (django-ninja): records, messages and attachments, for whoever may see them."""
