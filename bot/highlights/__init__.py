"""Highlights: talks posted to a channel on a schedule, or on demand (/highlights, /highlight).

`rules` (when a schedule posts), `rotation` (which talk comes next), `service` (the use cases behind the
commands), `scheduler` with its `ports`, `clock` and `limiter` (the engine that posts on time), `store` and
`batched` (schedules in SQLite), `memory` (an in-memory store for tests and benchmarks). No chat platform here:
a platform adapter supplies the `Poster`.
"""
