"""The pure domain: models, text rules, ranking, rotation and time rules. No Discord, no database."""
