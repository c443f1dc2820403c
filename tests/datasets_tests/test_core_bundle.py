"""Opening bundles: folders in place, zips only after every member passed the safety checks."""

from __future__ import annotations

import stat
import struct
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import pytest

from datasets.core import BundleInvalid, open_bundle
from testkit.bundles import write_classification_bundle, write_zip, zip_bundle


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _refuse(source: Path, staging: Path, **caps: int) -> list[str]:
    """Open ``source``, expect a refusal, check nothing was extracted; return the problems."""
    with pytest.raises(BundleInvalid) as refused:
        open_bundle(source, staging_dir=staging, **caps)
    assert not staging.exists() or not any(staging.iterdir())
    return refused.value.problems


def _valid_members(tmp_path: Path) -> dict[str, bytes]:
    folder = write_classification_bundle(tmp_path / "valid")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_folder_is_used_in_place_and_left_untouched(tmp_path: Path) -> None:
    folder = write_classification_bundle(tmp_path / "b")
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    assert open_bundle(folder, staging_dir=tmp_path / "staging") == folder
    assert not (tmp_path / "staging").exists()
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_zip_is_extracted_into_staging(tmp_path: Path) -> None:
    archive = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    folder = open_bundle(archive, staging_dir=tmp_path / "staging")
    assert folder == tmp_path / "staging"
    assert _tree(folder) == {"task.yaml", "train.csv", "test.csv", "solution.csv"}


def test_zip_with_one_top_folder_yields_that_folder(tmp_path: Path) -> None:
    folder = write_classification_bundle(tmp_path / "b")
    archive = zip_bundle(folder, tmp_path / "b.zip", prefix="birds/")
    assert open_bundle(archive, staging_dir=tmp_path / "s") == tmp_path / "s" / "birds"


def test_zip_slip_writes_nothing_outside(tmp_path: Path) -> None:
    staging = tmp_path / "work" / "staging"
    members = {**_valid_members(tmp_path), "../../evil.txt": b"owned", "a/../../x.txt": b"x"}
    (tmp_path / "in").mkdir()
    archive = write_zip(tmp_path / "in" / "slip.zip", members)
    before = _tree(tmp_path)
    with mock.patch.object(zipfile.ZipFile, "open", side_effect=AssertionError("extracted")):
        problems = _refuse(archive, staging)
    assert problems == [
        "slip.zip: refused 2 members with '..' in the path: '../../evil.txt', 'a/../../x.txt'"
    ]
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "x.txt").exists()
    assert _tree(tmp_path) - before <= {"work", "work/staging"}


def test_every_unsafe_member_is_reported_before_extracting(tmp_path: Path) -> None:
    target = tmp_path / "abs-evil.txt"
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("task.yaml", "slug: x\n")
        z.writestr(str(target), b"absolute")
        z.writestr("..\\evil.txt", b"backslash")
        link = zipfile.ZipInfo("images/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    with mock.patch.object(zipfile.ZipFile, "open", side_effect=AssertionError("extracted")):
        problems = _refuse(archive, tmp_path / "staging")
    text = "\n".join(problems)
    assert "refused 1 member with an absolute path" in text
    assert "refused 1 member with backslashes in the name" in text
    assert "refused 1 member with a symbolic link: 'images/link.png'" in text
    assert not target.exists()


def test_zip_bomb_by_compression_ratio(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("task.yaml", "slug: x\n")
        z.writestr("train.csv", b"\0" * (20 * 1024 * 1024))
    assert archive.stat().st_size < 100_000
    [problem] = _refuse(archive, tmp_path / "staging")
    assert "compression ratio over 200 (a zip bomb?): 'train.csv'" in problem


def test_total_uncompressed_size_cap(tmp_path: Path) -> None:
    archive = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    [problem] = _refuse(archive, tmp_path / "staging", max_uncompressed_bytes=1000)
    assert "b.zip would unpack to" in problem
    assert "over the limit of 1,000" in problem


def test_declared_sizes_are_not_trusted(tmp_path: Path) -> None:
    """A member that claims 10 bytes but holds 1 MB is stopped while streaming."""
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("task.yaml", "slug: x\n")
        z.writestr("train.csv", b"1," * (512 * 1024))
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_length = struct.unpack_from("<H", data, start + (28 if offset == 24 else 26))[0]
            name_at = start + (46 if offset == 24 else 30)
            if data[name_at : name_at + name_length] == b"train.csv":
                struct.pack_into("<I", data, start + offset, 10)
            start += 4
    archive.write_bytes(bytes(data))
    with zipfile.ZipFile(archive) as z:
        assert z.getinfo("train.csv").file_size == 10
    [problem] = _refuse(archive, tmp_path / "staging")
    assert "liar.zip is a damaged zip archive: Bad CRC-32" in problem


def test_extraction_keeps_a_running_byte_budget(tmp_path: Path) -> None:
    """Even if the central-directory checks were fooled, streaming stops at the budget."""
    archive = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    with mock.patch("datasets.core.bundle._plan", side_effect=lambda infos, *a, **k: infos):
        [problem] = _refuse(archive, tmp_path / "staging", max_uncompressed_bytes=1000)
    assert "unpacks to more bytes than declared or allowed" in problem


def test_encrypted_members_are_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "secret.zip", {"task.yaml": "slug: x\n"})
    data = bytearray(archive.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1
    archive.write_bytes(bytes(data))
    [problem] = _refuse(archive, tmp_path / "staging")
    assert "refused 1 member with encryption: 'task.yaml'" in problem


def test_too_many_members(tmp_path: Path) -> None:
    archive = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    [problem] = _refuse(archive, tmp_path / "staging", max_members=3)
    assert problem == "b.zip holds 4 members, over the limit of 3"


def test_a_directory_of_too_many_entries_is_refused_unread(tmp_path: Path) -> None:
    """The end record's count is checked before zipfile builds an entry per member (the
    algorithm archive's rule, ``common.archives``)."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for n in range(50):
            out.writestr(f"{n}.txt", b"")
    with mock.patch.object(zipfile.ZipFile, "_RealGetContents", side_effect=AssertionError):
        [problem] = _refuse(archive, tmp_path / "staging", max_members=10)
    assert problem == (
        "many.zip's directory lists 50 entries, over the limit of 10 members (40 entries with"
        " macOS debris): refused unread"
    )


def test_archive_size_cap(tmp_path: Path) -> None:
    archive = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    [problem] = _refuse(archive, tmp_path / "staging", max_archive_bytes=100)
    assert "over the archive limit of 100" in problem


def test_duplicate_member_names_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "dup.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("task.yaml", "slug: a\n")
            z.writestr("task.yaml", "slug: b\n")
    [problem] = _refuse(archive, tmp_path / "staging")
    assert "with a name used twice: 'task.yaml'" in problem


def test_not_a_zip_and_missing_source(tmp_path: Path) -> None:
    fake = tmp_path / "bundle.zip"
    fake.write_text("id,label\n")
    assert _refuse(fake, tmp_path / "s") == ["bundle.zip is neither a folder nor a .zip archive"]
    assert _refuse(tmp_path / "nope", tmp_path / "s") == ["nope: no such folder or file"]


def test_staging_folder_must_start_empty(tmp_path: Path) -> None:
    archive = zip_bundle(write_classification_bundle(tmp_path / "b"), tmp_path / "b.zip")
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "old.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        open_bundle(archive, staging_dir=tmp_path / "staging")
