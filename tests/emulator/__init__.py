"""Tests of the Discord emulator, driving a real discord.py bot."""
