"""Live conference mode: a followed programme, notices of what starts next, and notices of what changed."""
