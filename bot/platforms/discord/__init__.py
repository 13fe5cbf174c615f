"""The Discord adapter: the client and its wiring, the scheduler's poster, embeds and views, endpoints."""
