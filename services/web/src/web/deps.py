"""What the web UI's routes take besides the visitor (pages.py): its settings and its templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from jinja2 import Environment

from microblog_shared.http.deps import collaborator
from web.settings import WebSettings

Settings = Annotated[WebSettings, Depends(collaborator("settings"))]
Templates = Annotated[Environment, Depends(collaborator("templates"))]
