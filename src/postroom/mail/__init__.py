"""The parse stage: raw mail bytes -> ParsedMessage (entry point: postroom.mail.parse.parse_message)."""
