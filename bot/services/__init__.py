"""What every platform adapter is handed: the services, built once per process (`container.Services`)."""
