"""The web UI's pages, one module per area; each handler asks Litestar for the services it calls."""
