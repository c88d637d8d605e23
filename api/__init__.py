"""The HTTP API and web page (``hazmat serve``): loading sites, dispatchers and traffic police."""
