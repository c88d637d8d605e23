"""The operator's city folder, made from a bundled city (``hazmat config init DIR --from NAME``).

The bundled cities are package data: read-only templates that ship no API keys. A deployment
copies one into a folder of its own and adds its keys there (``hazmat keys add``), so no two
deployments share a key and nothing is written into the installed package.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from hazmat.cityconfig import CITIES_DIR, read_config_file, resolve_city_dir
from hazmat.errors import ConfigError

#: files a template never hands on: the keys belong to one deployment only
NOT_COPIED = frozenset({"api_keys.yaml", "__pycache__"})


def is_template(folder: Path) -> bool:
    """Whether ``folder`` is (inside) a bundled city: package data, never written to."""
    try:
        Path(folder).resolve().relative_to(CITIES_DIR.resolve())
    except ValueError:
        return False
    return True


def template_refusal(folder: Path, what: str) -> str:
    """The message for a command that would write into a bundled city, naming the command to run first."""
    return (
        f"{folder} is a bundled city (a read-only template): {what} there is not allowed. "
        f"Copy it into a folder of your own first: hazmat config init DIR --from {folder.name}, "
        "then use --config DIR"
    )


def init_city(dest: Path, source: str | os.PathLike[str], *, force: bool = False) -> list[Path]:
    """Copy the city ``source`` (a bundled name or a folder) into ``dest``, without its API keys.

    Every other file comes along (the OSM extract too), so a relative ``graph.file`` still
    resolves inside ``dest``; one that points outside ``source`` is made absolute in the copy. ``dest`` must be missing or empty unless ``force``; with
    ``force`` the template's files overwrite their copies and the others (``api_keys.yaml``
    first of all) stay. Files are created with the user's umask, not the template's modes, so
    the copy is writable even when the installed package is not. Returns the files written.
    """
    origin = resolve_city_dir(source)
    if not (origin / "city.yaml").is_file():
        raise ConfigError([f"{origin}: not a city folder (no city.yaml)"])
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise ConfigError([f"{dest}: exists and is not a folder"])
    if dest.resolve() == origin.resolve() or is_template(dest):
        raise ConfigError([f"{dest}: cannot copy a city into itself or into the bundled cities; choose another DIR"])
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ConfigError([f"{dest}: folder is not empty; choose an empty or new folder, or pass --force"])
    written: list[Path] = []
    for path in sorted(origin.rglob("*")):
        relative = path.relative_to(origin)
        if NOT_COPIED & set(relative.parts):
            continue
        target = dest / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    dest.mkdir(parents=True, exist_ok=True)
    _keep_graph_file(origin, dest)
    return written


def _keep_graph_file(origin: Path, dest: Path) -> None:
    """Point the copy's ``graph.file`` at the same extract when it lies outside the copied folder.

    Only that one value is replaced in the text, so the file keeps its comments; if the
    line cannot be found unambiguously the operator is told which value to fix.
    """
    data, problem = read_config_file(origin / "city.yaml")
    graph = data.get("graph") if not problem and isinstance(data, dict) else None
    value = graph.get("file") if isinstance(graph, dict) else None
    if not isinstance(value, str) or Path(value).is_absolute():
        return
    extract = (origin / value).resolve()
    if extract.is_relative_to(origin.resolve()):
        return
    target = dest / "city.yaml"
    text = target.read_text(encoding="utf-8")
    line = re.compile(rf"^(\s*file:\s*)(['\"]?){re.escape(value)}\2(\s*(#.*)?)$", re.M)
    fixed, count = line.subn(lambda m: f"{m[1]}{m[2]}{extract}{m[2]}{m[3]}", text)
    if count != 1:
        msg = f"{target}: graph.file: '{value}' lies outside the copied folder; replace it with {extract}"
        raise ConfigError([msg])
    target.write_text(fixed, encoding="utf-8")
