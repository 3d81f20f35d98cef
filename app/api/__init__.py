"""The HTTP API and the chat page: ``create_app(settings)``; ``server.serve(settings)`` runs it with uvicorn.

Nothing in ``app`` imports this package except the command line (``curbside serve``).
"""

from app.api.app import create_app

__all__ = ["create_app"]
