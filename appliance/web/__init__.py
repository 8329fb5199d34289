"""Web app: commissioning pages, dashboard, API."""
