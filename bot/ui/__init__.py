"""Presenters: domain objects to terminal output, JSON documents and Discord payloads."""
