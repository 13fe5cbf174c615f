"""Discord extensions: thin adapters from slash commands to the services."""
