"""The database every feature shares: the gateway (the one way to it), its batched writer, and the migrations."""
