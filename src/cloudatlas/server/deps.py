"""The dependency every route asks for: the app's one :class:`ClassifierService`.

Routes declare ``service: Service`` and FastAPI hands them the service the app was built with,
so tests and other hosts can swap it (``app.dependency_overrides[get_service] = ...``).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .service import ClassifierService


def get_service(request: Request) -> ClassifierService:
    return request.app.state.service


Service = Annotated[ClassifierService, Depends(get_service)]
