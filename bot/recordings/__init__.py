"""Recordings after the event: read a list of videos, match each one to its talk, write the links in."""
