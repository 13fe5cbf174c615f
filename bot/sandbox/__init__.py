"""Try every command in a terminal: the real bot against the local Discord emulator, in one process."""
