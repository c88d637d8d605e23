"""API keys: one per loading site (bound to its ``site_id``), and keys for dispatchers and police.

Only SHA-256 hashes are stored, in the city folder's ``api_keys.yaml``; a key is sent in the
``X-API-Key`` header (or ``?key=`` where a browser cannot set headers, as for server-sent events).
The bundled cities ship no keys: ``hazmat keys add`` makes a random key in the operator's own
folder, prints it once and stores its hash; ``hazmat keys revoke`` removes it, and a running
API sees either change at its next request (:class:`KeyStore`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hazmat.cityconfig import read_config_file
from hazmat.cityfolder import is_template, template_refusal
from hazmat.errors import ConfigError
from hazmat.events import errors_of, format_loc

Role = Literal["site", "dispatcher", "police"]
ROLES: tuple[str, ...] = get_args(Role)
KEYS_FILE = "api_keys.yaml"
#: hex digits of a hash that ``hazmat keys list`` shows and ``revoke`` accepts at the least
PREFIX_LEN, MIN_PREFIX_LEN = 12, 6

log = logging.getLogger("hazmat.api.keys")

_HEADER = """\
# API keys of this city folder. Only the SHA-256 of each key is stored; the key itself was
# printed once by `hazmat keys add` and cannot be recovered from this file.
# Add:    hazmat keys add --config DIR --role site|dispatcher|police [--site ID] [--name N]
# List:   hazmat keys list --config DIR        Revoke: hazmat keys revoke NAME --config DIR
"""


class ApiKey(BaseModel):
    """``api_keys.yaml``: one key, known by its hash; ``site`` keys post for their own site only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="who holds the key; unique in the file")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 hex of the key")
    role: Role = Field(description="what the key may do (README, HTTP API)")
    site_id: str | None = Field(
        None, min_length=1, max_length=200, description="required for role site: the only site it may post for"
    )
    created_at: AwareDatetime | None = Field(None, description="when `hazmat keys add` made it")

    @model_validator(mode="after")
    def _site_needs_site_id(self) -> ApiKey:
        if (self.role == "site") != (self.site_id is not None):
            msg = "site_id is required for role 'site' and only for it"
            raise ValueError(msg)
        return self

    @property
    def prefix(self) -> str:
        return self.sha256[:PREFIX_LEN]


class ApiKeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[ApiKey] = Field(default_factory=list)

    @field_validator("keys")
    @classmethod
    def _unique(cls, keys: list[ApiKey]) -> list[ApiKey]:
        for attr in ("name", "sha256"):
            seen: dict[str, int] = {}
            for i, key in enumerate(keys):
                value = getattr(key, attr)
                if value in seen:
                    msg = f"{attr} '{value}' is used twice (entries {seen[value]} and {i}); each key needs its own"
                    raise ValueError(msg)
                seen[value] = i
        return keys


class KeyChangeError(ValueError):
    """A key cannot be added or revoked as asked (duplicate name, no such key, …): bad input."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 256 random bits, URL-safe (it also travels as ``?key=``)."""
    return secrets.token_urlsafe(32)


def read_keys_file(folder: Path) -> ApiKeysFile:
    """The folder's ``api_keys.yaml``; a missing file is an empty one. :class:`ConfigError` names file and field."""
    path = Path(folder) / KEYS_FILE
    if not path.is_file():
        return ApiKeysFile()
    data, problem = read_config_file(path)
    if problem:
        raise ConfigError([f"{path}: {problem}"])
    try:
        return ApiKeysFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [f"{path}: {format_loc(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in errors_of(exc)]
        ) from None


def load_keys(folder: Path) -> dict[str, ApiKey]:
    """The city's keys by hash; no file means no keys (every request is refused with 401)."""
    return {k.sha256: k for k in read_keys_file(folder).keys}


def _writable(folder: Path, what: str) -> Path:
    folder = Path(folder)
    if is_template(folder):
        raise ConfigError([template_refusal(folder, what)])
    if not (folder / "city.yaml").is_file():
        raise ConfigError(
            [f"{folder}: not a city folder (no city.yaml); make one with hazmat config init DIR --from NAME"]
        )
    return folder


def _write(folder: Path, keys: ApiKeysFile) -> None:
    """Replace ``api_keys.yaml`` atomically: a reader sees the old file or the new one, never half of one."""
    ApiKeysFile.model_validate(keys.model_dump())  # never write what could not be read back
    body = yaml.safe_dump(keys.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=".api_keys.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_HEADER + body)
            handle.flush()
            os.fsync(handle.fileno())
        # hashes only: readable by the service's user (a container's, on a mounted folder)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / KEYS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _changing(folder: Path) -> Iterator[None]:
    """One change of the keys file at a time (two ``hazmat keys`` runs must not undo each other)."""
    fd = os.open(folder, os.O_RDONLY)  # the folder itself is the lock: nothing is left behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _default_name(taken: set[str], role: str, site_id: str | None) -> str:
    base = f"site {site_id}" if role == "site" else role
    n = 1
    name = base
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def add_key(
    folder: Path,
    *,
    role: str,
    site_id: str | None = None,
    name: str | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> tuple[str, ApiKey]:
    """Make a key (or take ``key``), store its hash in ``folder`` and return both; the key is not kept.

    A default name is the role (``site ID`` for a site), numbered when taken; a given name
    that is taken is refused. Raises :class:`ConfigError` for a bundled template or a broken
    file, :class:`KeyChangeError` for bad arguments.
    """
    folder = _writable(folder, "adding a key")
    if role not in ROLES:
        raise KeyChangeError(f"role '{role}' is not one of {', '.join(ROLES)}")
    if role == "site" and not site_id:
        raise KeyChangeError("a site key needs the site it may post for: --site ID")
    if role != "site" and site_id is not None:
        raise KeyChangeError(f"--site is for site keys only, not for role '{role}'")
    with _changing(folder):
        return _add(folder, role, site_id, name, key, now)


def _add(
    folder: Path, role: str, site_id: str | None, name: str | None, key: str | None, now: datetime | None
) -> tuple[str, ApiKey]:
    current = read_keys_file(folder)
    taken = {k.name for k in current.keys}
    if name is not None and name.strip() in taken:
        raise KeyChangeError(f"a key named '{name.strip()}' exists already; choose another --name or revoke it first")
    secret = key or new_key()
    try:
        entry = ApiKey(
            name=name.strip() if name is not None else _default_name(taken, role, site_id),
            sha256=digest(secret),
            role=role,  # type: ignore[arg-type]
            site_id=site_id,
            created_at=(now or datetime.now(UTC)).replace(microsecond=0),
        )
    except ValidationError as exc:
        raise KeyChangeError("; ".join(f"{format_loc(e['loc'])}: {e['msg']}" for e in errors_of(exc))) from None
    stored = {k.sha256: k for k in current.keys}
    if entry.sha256 in stored:
        raise KeyChangeError(f"this key is stored already (as '{stored[entry.sha256].name}')")
    _write(folder, ApiKeysFile(keys=[*current.keys, entry]))
    log.info("api key added", extra={"folder": str(folder), "name": entry.name, "role": role, "hash": entry.prefix})
    return secret, entry


def find_key(keys: ApiKeysFile, name_or_prefix: str) -> ApiKey:
    """The key named ``name_or_prefix``, else the one whose hash starts with it (at least 6 hex digits)."""
    for key in keys.keys:
        if key.name == name_or_prefix:
            return key
    wanted = name_or_prefix.lower()
    matches = []
    if len(wanted) >= MIN_PREFIX_LEN and all(c in "0123456789abcdef" for c in wanted):
        matches = [k for k in keys.keys if k.sha256.startswith(wanted)]
    if len(matches) > 1:
        names = ", ".join(k.name for k in matches)
        raise KeyChangeError(f"'{name_or_prefix}' is the start of several keys' hashes ({names}); give more digits")
    if not matches:
        known = ", ".join(k.name for k in keys.keys) or "none"
        raise KeyChangeError(
            f"no key named '{name_or_prefix}' (nor a hash starting with it, {MIN_PREFIX_LEN}+ hex digits); keys: {known}"
        )
    return matches[0]


def revoke_key(folder: Path, name_or_prefix: str) -> ApiKey:
    """Remove one key by name or hash prefix; a running API refuses it from its next request on."""
    folder = _writable(folder, "revoking a key")
    with _changing(folder):
        current = read_keys_file(folder)
        gone = find_key(current, name_or_prefix)
        _write(folder, ApiKeysFile(keys=[k for k in current.keys if k is not gone]))
    log.info("api key revoked", extra={"folder": str(folder), "name": gone.name, "hash": gone.prefix})
    return gone


class KeyStore:
    """The keys a running API accepts, re-read whenever ``api_keys.yaml`` changes.

    ``hazmat keys add`` and ``revoke`` thus take effect without a restart. The file is
    replaced atomically, so its identity (inode, size, mtime) tells a change; the check is
    one ``stat`` per request. A file broken by hand after start-up admits nobody (logged),
    rather than keys that may have been revoked in it.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / KEYS_FILE
        self._stamp = self._stat()
        self._keys = load_keys(Path(folder))  # a broken file stops start-up (ConfigError)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            s = self.path.stat()
        except FileNotFoundError:
            return None
        return (s.st_ino, s.st_size, s.st_mtime_ns)

    def _refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        try:
            keys = load_keys(self.path.parent)
        except ConfigError as exc:
            log.error("api keys file is broken: refusing every key", extra={"problems": exc.problems})
            keys = {}
        self._stamp, self._keys = stamp, keys
        log.warning("api keys reloaded", extra={"file": str(self.path), "keys": len(keys)})

    def get(self, sha256: str) -> ApiKey | None:
        self._refresh()
        return self._keys.get(sha256)

    def __len__(self) -> int:
        self._refresh()
        return len(self._keys)
