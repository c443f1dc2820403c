"""Validate and extract an algorithm archive (docs/architecture.md §9), treating it as
hostile.

An archive is a ``.zip`` holding ``algorithm.yaml`` (``name``, ``description`` in Markdown,
``entrypoint``, default ``main.py``) and the algorithm's Python files, either at the top or
inside one top-level folder. :func:`validate_archive` reads only the central directory and
``algorithm.yaml`` (the directory only once its end record declares a size and an entry
count the member limit allows: :func:`common.archives.zip_directory_problem`), and lists
every problem at once: unsafe member names (absolute, ``..``,
backslashes, drive letters), symbolic links, encryption, too many members, a member or the
whole over its size limit, a compression ratio that smells of a zip bomb, a missing or
malformed ``algorithm.yaml`` (read by :mod:`common.boundedyaml`: at most
``max_manifest_bytes``, a few levels deep, ``MANIFEST_NODES`` values, plain values, no
anchors or aliases), and a missing
entrypoint. :func:`extract_archive` then streams the accepted members with a running byte
budget, so declared sizes are never trusted.

The Python files are only ever bytes here: never compiled, parsed or imported outside the
sandbox (four 10 MB modules of assignments took a web worker 2.4 GB and 168 s to compile,
and a 100,000-term expression a RecursionError). A syntax error is the algorithm's failure
at run time, in the sandbox, with the interpreter's own message in the run's log.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import yaml

from common import boundedyaml
from common.archives import zip_directory, zip_directory_problem, zip_member_problem

MANIFEST = "algorithm.yaml"
DEFAULT_ENTRYPOINT = "main.py"
CHUNK = 1024 * 1024
RATIO_MIN_BYTES = 64 * 1024  # smaller members may compress as well as they like
IGNORED = ("__MACOSX/",)
NAME_MAX = 100
DESCRIPTION_MAX = 20_000
EXAMPLES = 5
MANIFEST_DEPTH = 4  # a mapping of plain values, with room for a list in a future key
MANIFEST_NODES = 1_000  # three keys today; the bound keeps a parse's memory small


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps for one archive (the upload itself is capped before this by the caller)."""

    max_archive_bytes: int = 20 * 1024**2
    max_member_bytes: int = 10 * 1024**2
    max_total_bytes: int = 50 * 1024**2
    max_members: int = 500
    max_compression_ratio: float = 100.0
    max_manifest_bytes: int = 64 * 1024


class ArchiveInvalid(Exception):
    """The archive was refused; ``problems`` lists every reason found, in plain words."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"the algorithm archive has {count} problem{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])


@dataclass(frozen=True)
class AlgorithmArchive:
    """What a valid archive declares, and the members to extract."""

    name: str
    description: str
    entrypoint: str
    root: str  # "" or "folder/" holding algorithm.yaml
    members: tuple[str, ...] = field(default=())
    total_bytes: int = 0


def _examples(values: Sequence[str]) -> str:
    shown = ", ".join(repr(v if len(v) <= 60 else v[:59] + "…") for v in values[:EXAMPLES])
    rest = len(values) - EXAMPLES
    return f"{shown} and {rest} more" if rest > 0 else shown


def _root(names: Sequence[str]) -> str:
    if MANIFEST in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1:
        top = next(iter(tops))
        if f"{top}/{MANIFEST}" in names:
            return f"{top}/"
    return ""


def validate_archive(
    source: str | Path | IO[bytes], *, limits: ArchiveLimits | None = None, label: str = ""
) -> AlgorithmArchive:
    """Check an archive without extracting it; raise :class:`ArchiveInvalid` with every
    problem found. ``label`` names the file in messages (default: the path's name)."""
    limits = limits or ArchiveLimits()
    label = label or (Path(source).name if isinstance(source, (str, Path)) else "the archive")
    size = _size(source)
    if size > limits.max_archive_bytes:
        raise ArchiveInvalid(
            [f"{label} is {size:,} bytes, over the limit of {limits.max_archive_bytes:,}"]
        )
    try:
        directory = zip_directory(source)
        if directory is None:
            raise ArchiveInvalid([f"{label} is not a .zip archive"])
        if problem := zip_directory_problem(
            directory, max_members=limits.max_members, label=label
        ):
            raise ArchiveInvalid([problem])
        with zipfile.ZipFile(source) as archive:
            return _check(archive, limits, label)
    except ArchiveInvalid:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveInvalid([f"{label} is a damaged zip archive: {exc}"]) from exc


def _size(source: str | Path | IO[bytes]) -> int:
    if isinstance(source, (str, Path)):
        return Path(source).stat().st_size
    here = source.tell()
    end = source.seek(0, 2)
    source.seek(here)
    return end


def _check(archive: zipfile.ZipFile, limits: ArchiveLimits, label: str) -> AlgorithmArchive:
    problems: list[str] = []
    infos = [i for i in archive.infolist() if not i.filename.startswith(IGNORED)]
    if len(infos) > limits.max_members:
        problems.append(
            f"{label} holds {len(infos):,} members, over the limit of {limits.max_members:,}"
        )
    files, unsafe = _sort_members(infos, limits)
    for reason, names in unsafe.items():
        count = len(names)
        problems.append(
            f"refused {count} member{'s' if count != 1 else ''} with {reason}: {_examples(names)}"
        )
    declared = sum(info.file_size for info in infos if not info.is_dir())
    if declared > limits.max_total_bytes:
        problems.append(
            f"{label} would unpack to {declared:,} bytes, over the limit of"
            f" {limits.max_total_bytes:,}"
        )
    names = [info.filename for info in files]
    root = _root(names)
    manifest = _manifest(archive, root, names, limits, problems)
    entrypoint = manifest.get("entrypoint", DEFAULT_ENTRYPOINT)
    if isinstance(entrypoint, str) and entrypoint:
        _check_entrypoint(entrypoint, root, names, problems)
    if problems:
        raise ArchiveInvalid(problems)
    return AlgorithmArchive(
        name=manifest["name"],
        description=manifest.get("description", ""),
        entrypoint=entrypoint,
        root=root,
        members=tuple(name for name in names if name.startswith(root)),
        total_bytes=declared,
    )


def _sort_members(
    infos: Sequence[zipfile.ZipInfo], limits: ArchiveLimits
) -> tuple[list[zipfile.ZipInfo], dict[str, list[str]]]:
    """The files that may be extracted, and the names of the refused members by reason
    (reasons in the order first met)."""
    unsafe: dict[str, list[str]] = {}
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    for info in infos:
        reason = _member_refusal(info, seen, limits)
        seen.add(info.filename.rstrip("/"))
        if reason is not None:
            unsafe.setdefault(reason, []).append(info.filename)
        elif not info.is_dir():
            files.append(info)
    return files, unsafe


def _member_refusal(info: zipfile.ZipInfo, seen: set[str], limits: ArchiveLimits) -> str | None:
    """Why the member ``info`` is refused (as a phrase), or None; ``seen`` holds the names
    of the members before it."""
    reason = zip_member_problem(info)
    if reason is not None:
        return reason
    if info.filename.rstrip("/") in seen:
        return "a name used twice"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_MIN_BYTES and ratio > limits.max_compression_ratio:
        return f"a compression ratio over {limits.max_compression_ratio:g} (a zip bomb?)"
    if not info.is_dir() and info.file_size > limits.max_member_bytes:
        return f"more than {limits.max_member_bytes:,} bytes"
    return None


def _manifest(
    archive: zipfile.ZipFile,
    root: str,
    names: list[str],
    limits: ArchiveLimits,
    problems: list[str],
) -> dict[str, Any]:
    path = root + MANIFEST
    if path not in names:
        problems.append(
            f"no {MANIFEST} at the top of the archive (or inside its single top folder);"
            " it names the algorithm: name, description, entrypoint"
        )
        return {}
    info = archive.getinfo(path)
    if info.file_size > limits.max_manifest_bytes:
        problems.append(f"{MANIFEST} is over {limits.max_manifest_bytes:,} bytes")
        return {}
    raw = archive.read(info)
    try:
        data = boundedyaml.load(
            raw.decode("utf-8"),
            max_chars=limits.max_manifest_bytes,
            max_depth=MANIFEST_DEPTH,
            max_nodes=MANIFEST_NODES,
        )
    except UnicodeDecodeError:
        problems.append(f"{MANIFEST} is not UTF-8 text")
        return {}
    except boundedyaml.YamlBoundExceeded as exc:
        where = exc.problem_mark
        at = f" (line {where.line + 1})" if where is not None else ""
        problems.append(
            f"{MANIFEST} is refused{at}: {exc.problem}; it is a mapping of plain values"
            " (name, description, entrypoint)"
        )
        return {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        problems.append(f"{MANIFEST} is not valid YAML{at}: {getattr(exc, 'problem', exc)}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{MANIFEST} must be a mapping with name, description and entrypoint")
        return {}
    unknown = sorted(set(map(str, data)) - {"name", "description", "entrypoint"})
    if unknown:
        problems.append(
            f"{MANIFEST} has unknown keys {_examples(unknown)}; allowed: name, description,"
            " entrypoint"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{MANIFEST} needs a 'name' (text)")
    elif len(name.strip()) > NAME_MAX:
        problems.append(f"{MANIFEST}: the name is over {NAME_MAX} characters")
    description = data.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        problems.append(f"{MANIFEST}: 'description' must be text (Markdown)")
    elif len(description) > DESCRIPTION_MAX:
        problems.append(f"{MANIFEST}: the description is over {DESCRIPTION_MAX:,} characters")
    entrypoint = data.get("entrypoint", DEFAULT_ENTRYPOINT)
    if not isinstance(entrypoint, str) or not entrypoint.endswith(".py"):
        problems.append(f"{MANIFEST}: 'entrypoint' must name a .py file of the archive")
        entrypoint = None
    out: dict[str, Any] = {}
    if isinstance(name, str):
        out["name"] = name.strip()[:NAME_MAX]
    if isinstance(description, str):
        out["description"] = description
    out["entrypoint"] = entrypoint
    return out


def _check_entrypoint(entrypoint: str, root: str, names: list[str], problems: list[str]) -> None:
    parts = PurePosixPath(entrypoint).parts
    if entrypoint.startswith("/") or "\\" in entrypoint or ".." in parts:
        problems.append(f"the entrypoint '{entrypoint}' must be a relative path inside the archive")
    elif root + entrypoint not in names:
        problems.append(f"the entrypoint '{entrypoint}' is not in the archive")


def extract_archive(
    source: str | Path | IO[bytes],
    dest: Path,
    *,
    limits: ArchiveLimits | None = None,
    label: str = "",
    on_chunk: Callable[[], None] | None = None,
) -> AlgorithmArchive:
    """Validate, then extract the algorithm's files (the root folder stripped) into the
    empty folder ``dest``; stream with a byte budget. Raise :class:`ArchiveInvalid`.
    ``on_chunk`` is called after every written chunk (a cancel check may raise there)."""
    limits = limits or ArchiveLimits()
    checked = validate_archive(source, limits=limits, label=label)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _extract(source, dest, checked, limits, on_chunk)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise ArchiveInvalid([f"the archive could not be unpacked: {exc}"]) from exc
    return checked


def _extract(
    source: str | Path | IO[bytes],
    dest: Path,
    checked: AlgorithmArchive,
    limits: ArchiveLimits,
    on_chunk: Callable[[], None] | None = None,
) -> None:
    budget = limits.max_total_bytes
    with zipfile.ZipFile(source) as archive:
        for name in checked.members:
            info = archive.getinfo(name)
            target = dest / name[len(checked.root) :]
            if not target.resolve().is_relative_to(dest.resolve()):
                raise ArchiveInvalid([f"refused {name!r}: a path outside the archive"])
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with archive.open(info) as member, target.open("xb") as out:
                while chunk := member.read(CHUNK):
                    written += len(chunk)
                    budget -= len(chunk)
                    if written > info.file_size or written > limits.max_member_bytes or budget < 0:
                        raise ArchiveInvalid(
                            [f"{name} unpacks to more bytes than declared or allowed (a zip bomb?)"]
                        )
                    out.write(chunk)
                    if on_chunk is not None:
                        on_chunk()
