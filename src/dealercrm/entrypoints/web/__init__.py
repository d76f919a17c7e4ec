"""The Chinese web UI: a second driving adapter beside the JSON API (see docs: WEB.md).

Server-rendered Jinja2 pages with htmx for partial updates, calling the same application services
as the JSON API through Litestar dependency injection. ``create_app`` mounts it at ``/``.
"""
