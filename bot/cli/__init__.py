"""The command line's presenters (`python -m bot ...`): rich tables and panels, and JSON records."""
