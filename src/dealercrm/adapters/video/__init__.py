"""Video conferencing adapters: the HTTP client of docs/video-api.md, its simulator server and an
in-memory twin."""
