"""The shared domain: the catalogue's models, text rules and languages. No chat platform, no database."""
