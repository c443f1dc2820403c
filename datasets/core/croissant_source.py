"""Where a Croissant dataset is read from, for ``import_task --croissant``, free of Django:
the JSON-LD (a local file or an http(s) URL, size-capped), the local files beside it, and
``mlcroissant`` opened on it with its downloads and its chatter kept to this import.

A file is read where the JSON-LD says, except that a file of the same name next to a local
JSON-LD file (``train.parquet``, or ``<prefix>train.parquet`` for ``<prefix>croissant.json``)
is used instead of being downloaded; a relative ``contentUrl`` must stay inside that folder
(a Croissant file from elsewhere cannot make the import read the organizer's own files).
File sets and files inside archives are refused.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from common.wording import first_line

MAX_JSONLD_BYTES = 16 * 1024 * 1024
TIMEOUT_SECONDS = 60


class CroissantUnmappable(Exception):
    """The Croissant dataset cannot become a bundle; ``problems`` says why, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def basic_auth() -> tuple[str, str] | None:
    """The credentials mlcroissant sends (``CROISSANT_BASIC_AUTH_USERNAME``/``_PASSWORD``)."""
    username = os.environ.get("CROISSANT_BASIC_AUTH_USERNAME")
    password = os.environ.get("CROISSANT_BASIC_AUTH_PASSWORD")
    return None if username is None or password is None else (username, password)


def fetch(url: str, limit: int) -> bytes:
    """``url``'s body, at most ``limit`` bytes; CroissantUnmappable on any failure."""
    import requests

    try:
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS, auth=basic_auth()) as got:
            if got.status_code != 200:
                raise CroissantUnmappable([f"{url}: the server answered {got.status_code}"])
            body = bytearray()
            for chunk in got.iter_content(1024 * 1024):
                body += chunk
                if len(body) > limit:
                    raise CroissantUnmappable([f"{url}: larger than {limit:,} bytes"])
            return bytes(body)
    except requests.RequestException as exc:
        raise CroissantUnmappable([f"{url} could not be fetched: {first_line(exc)}"]) from exc


def load(source: str) -> tuple[Any, Path | None, str]:
    """The JSON-LD, the folder of a local file (None for a URL) and the file name's prefix
    before ``croissant.json`` (``febrl-`` of ``febrl-croissant.json``)."""
    if re.match(r"^https?://", source):
        raw, folder, prefix = fetch(source, MAX_JSONLD_BYTES), None, ""
    else:
        path = Path(source)
        if not path.is_file():
            raise CroissantUnmappable([f"{source}: no such file"])
        if path.stat().st_size > MAX_JSONLD_BYTES:
            raise CroissantUnmappable([f"{source}: larger than {MAX_JSONLD_BYTES:,} bytes"])
        raw, folder = path.read_bytes(), path.resolve().parent
        prefix = path.name[: -len("croissant.json")] if path.name.endswith("croissant.json") else ""
    try:
        return json.loads(raw), folder, prefix
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CroissantUnmappable([f"{source} is not JSON: {exc}"]) from exc


def local_files(
    doc: dict[str, Any], folder: Path | None, prefix: str
) -> tuple[dict[str, Path], list[str]]:
    """FileObject id -> local file to read instead of downloading, and the refusals: file
    sets, files in archives, and relative or local paths outside the JSON-LD's folder."""
    mapping: dict[str, Path] = {}
    problems: list[str] = []
    distribution = doc.get("distribution") or []
    if isinstance(distribution, dict):
        distribution = [distribution]
    for item in distribution:
        if not isinstance(item, dict):
            continue
        types = listed(item.get("@type"))
        name = str(item.get("@id") or item.get("name") or "")
        if any(str(t).endswith("FileSet") for t in types):
            problems.append(
                f"distribution '{name}': file sets are not supported; describe each table as a"
                " FileObject"
            )
            continue
        if item.get("containedIn"):
            problems.append(
                f"distribution '{name}': files inside archives are not supported; describe each"
                " table as a FileObject of its own"
            )
            continue
        url = str(item.get("contentUrl") or "")
        local = _beside(folder, prefix, str(item.get("name") or ""), name)
        if local is not None:
            mapping[name] = local
        elif not re.match(r"^https?://", url):
            inside = _inside(folder, url)
            if inside is None:
                problems.append(
                    f"distribution '{name}': contentUrl {url!r} is neither an http(s) URL nor a"
                    " file inside the JSON-LD's folder"
                )
            else:
                mapping[name] = inside
    return mapping, problems


def _beside(folder: Path | None, prefix: str, *names: str) -> Path | None:
    if folder is None:
        return None
    for name in names:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            continue
        for candidate in (folder / f"{prefix}{name}", folder / name):
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
    return None


def _inside(folder: Path | None, url: str) -> Path | None:
    if folder is None or not url or url.startswith("/") or "\\" in url:
        return None
    if ".." in PurePosixPath(url).parts or ":" in url.split("/", 1)[0]:
        return None
    target = (folder / url).resolve()
    return target if target.is_relative_to(folder) and target.is_file() else None


@contextlib.contextmanager
def download_cache(folder: Path) -> Iterator[None]:
    """mlcroissant's downloads go to ``folder`` for this import (its own cache is keyed by
    URL: a file changed on the server would be read from an old copy), and it keeps quiet:
    its validation warnings (a missing licence...) and download progress bars are no
    problem of the import, whose output is the command's."""
    from mlcroissant._src.core import constants

    saved = constants.DOWNLOAD_PATH, constants.EXTRACT_PATH
    constants.DOWNLOAD_PATH, constants.EXTRACT_PATH = folder / "download", folder / "extract"
    # mlcroissant logs through absl to the root logger (INFO "Setting up generation...",
    # WARNING for each recommended property missing): not the import's words
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        constants.DOWNLOAD_PATH, constants.EXTRACT_PATH = saved
        logging.disable(previous)


def open_dataset(doc: dict[str, Any], mapping: Mapping[str, Path], source: str) -> Any:
    import mlcroissant as mlc

    try:
        return mlc.Dataset(jsonld=doc, mapping={k: str(v) for k, v in mapping.items()})
    except Exception as exc:  # mlcroissant raises ValidationError, ValueError...: a foreign file
        lines = [line.strip(" -") for line in str(exc).splitlines()[1:] if line.strip()]
        raise CroissantUnmappable(
            [f"{source} is not valid Croissant: {line}" for line in lines]
            or [f"{source} is not valid Croissant: {first_line(exc)}"]
        ) from exc


def text_of(value: Any) -> str:
    """A plain or language-tagged (Croissant 1.1) text."""
    if isinstance(value, dict):
        value = value.get("en") or value.get("@value") or next(iter(value.values()), "")
    return value if isinstance(value, str) else ""


def listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def root_cause(exc: BaseException) -> BaseException:
    """The innermost error (mlcroissant wraps the one that says what is wrong, such as
    "could not convert string to float: 'heavy'", in a generic one)."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc
