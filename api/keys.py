"""API keys: one per loading site (bound to its ``site_id``), and keys for dispatchers and police.

Only SHA-256 hashes are stored, in the city folder's ``api_keys.yaml``; a key is sent in the
``X-API-Key`` header (or ``?key=`` where a browser cannot set headers, as for server-sent events).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hazmat.errors import ConfigError
from hazmat.events import errors_of, format_loc

Role = Literal["site", "dispatcher", "police"]


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 hex of the key")
    role: Role
    site_id: str | None = Field(None, description="required for role site: the only site it may post for")

    @model_validator(mode="after")
    def _site_needs_site_id(self) -> ApiKey:
        if (self.role == "site") != (self.site_id is not None):
            msg = "site_id is required for role 'site' and only for it"
            raise ValueError(msg)
        return self


class ApiKeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[ApiKey] = Field(default_factory=list)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_keys(folder: Path) -> dict[str, ApiKey]:
    """The city's keys by hash; no file means no keys (every request is refused with 401)."""
    path = folder / "api_keys.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = ApiKeysFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    except ValidationError as exc:
        raise ConfigError([f"{path}: {format_loc(e['loc'])}: {e['msg']}" for e in errors_of(exc)]) from None
    return {k.sha256: k for k in parsed.keys}
