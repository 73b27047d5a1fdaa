"""Tessera: the Django project and the marketplace app.

Exposing the Celery app here makes `celery -A marketplace worker -Q cpu` work.
"""

from marketplace.celery import app as celery_app

__all__ = ["celery_app"]
