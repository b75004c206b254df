"""The web app and HTTP API (FastAPI): ``create_app(model_path)``; ``cloudatlas serve`` runs it."""
from .app import create_app, create_app_from_env
from .deps import get_service
from .service import ClassifierService, ServiceSettings

__all__ = ["ClassifierService", "ServiceSettings", "create_app", "create_app_from_env", "get_service"]
