"""The archive core (no database): every problem listed at once, hostile archives refused."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import pytest

from algorithms.core import ArchiveInvalid, ArchiveLimits, extract_archive, validate_archive
from testkit.archives import algorithm_zip, bomb_zip, make_zip, manifest


def test_valid_archive_declares_name_description_entrypoint(tmp_path: Path) -> None:
    data = algorithm_zip(helper="x = 1\n")
    checked = validate_archive(io.BytesIO(data))
    assert checked.name == "Honest"
    assert checked.entrypoint == "main.py"
    assert "*simple*" in checked.description
    extracted = extract_archive(io.BytesIO(data), tmp_path / "code")
    assert (tmp_path / "code" / "main.py").is_file()
    assert extracted.members == checked.members


def test_archive_in_one_top_folder_is_stripped(tmp_path: Path) -> None:
    data = make_zip({"algo/algorithm.yaml": manifest(), "algo/main.py": "print(1)\n"})
    extract_archive(io.BytesIO(data), tmp_path / "code")
    assert sorted(p.name for p in (tmp_path / "code").iterdir()) == ["algorithm.yaml", "main.py"]


def test_every_problem_is_listed_at_once() -> None:
    data = make_zip(
        {
            "algorithm.yaml": "name: ''\nentrypoint: run.py\ncolour: blue\n",
            "../evil.py": "x = 1\n",
            "/etc/passwd": "root\n",
        },
        symlinks={"link": "/etc/shadow"},
    )
    with pytest.raises(ArchiveInvalid) as caught:
        validate_archive(io.BytesIO(data), label="algo.zip")
    text = str(caught.value)
    for expected in (
        "'..' in the path",
        "an absolute path",
        "a symbolic link",
        "needs a 'name'",
        "unknown keys 'colour'",
        "the entrypoint 'run.py' is not in the archive",
    ):
        assert expected in text, (expected, text)


def test_python_files_are_only_bytes_outside_the_sandbox(tmp_path: Path, monkeypatch) -> None:
    """Nothing of an archive is compiled or parsed by the platform's own processes (not even
    to check its syntax, which ``ast.parse`` would do with ``compile`` too): a syntax error
    is accepted here and fails the run in the sandbox, with the interpreter's message."""
    import builtins

    marker = "# archive code 5f0c"
    real_compile = builtins.compile
    compiled = []

    def watched(source, *args, **kwargs):
        text = source.decode(errors="replace") if isinstance(source, bytes) else str(source)
        if marker in text:
            compiled.append(text[:40])
        return real_compile(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", watched)
    data = algorithm_zip(
        f"{marker}\ndef f(:\n",
        **{
            "broken.py": f"{marker}\nx = (\n",
            "deep.py": f"{marker}\nx = " + " + ".join(map(str, range(100_000))) + "\n",
        },
    )
    checked = validate_archive(io.BytesIO(data))
    assert checked.entrypoint == "main.py"
    extract_archive(io.BytesIO(data), tmp_path / "code")
    assert (tmp_path / "code" / "main.py").read_text() == f"{marker}\ndef f(:\n"
    assert compiled == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: " + "[" * 30_000 + "]" * 30_000 + "\n", "nested more than 4 levels deep"),
        ("- " * 30_000 + "x\n", "nested more than 4 levels deep"),
        ("name: &n Honest\ndescription: *n\n", "aliases (*name) are not accepted"),
    ],
)
def test_a_hostile_manifest_is_refused_by_its_bounds_not_parsed_to_the_end(text, expected):
    """A manifest nested 30,000 deep made the composer recurse until RecursionError (a 500);
    it is refused with a line number once past the depth a manifest needs."""
    data = make_zip({"algorithm.yaml": text, "main.py": "print(1)\n"})
    with pytest.raises(ArchiveInvalid) as caught:
        validate_archive(io.BytesIO(data))
    message = str(caught.value)
    assert expected in message and "algorithm.yaml is refused (line " in message, message


def test_missing_manifest_and_bad_yaml() -> None:
    with pytest.raises(ArchiveInvalid, match=r"no algorithm\.yaml"):
        validate_archive(io.BytesIO(make_zip({"main.py": "print(1)\n"})))
    bad = make_zip({"algorithm.yaml": "name: [unclosed\n", "main.py": "print(1)\n"})
    with pytest.raises(ArchiveInvalid, match="not valid YAML"):
        validate_archive(io.BytesIO(bad))
    # safe_load only: a Python object tag is an error, never a constructor call.
    tagged = make_zip(
        {"algorithm.yaml": "name: !!python/object/apply:os.system ['true']\n", "main.py": ""}
    )
    with pytest.raises(ArchiveInvalid, match="not valid YAML"):
        validate_archive(io.BytesIO(tagged))


def test_missing_entrypoint() -> None:
    data = make_zip({"algorithm.yaml": manifest(entrypoint="solve.py"), "main.py": ""})
    with pytest.raises(ArchiveInvalid, match=r"the entrypoint .solve\.py. is not in the archive"):
        validate_archive(io.BytesIO(data))


def test_archive_bomb_is_refused_before_extraction(tmp_path: Path) -> None:
    data = bomb_zip(size=64 * 1024 * 1024)
    assert len(data) < 1024 * 1024
    with pytest.raises(ArchiveInvalid) as caught:
        extract_archive(io.BytesIO(data), tmp_path / "code")
    text = str(caught.value)
    assert "compression ratio" in text and "weights.bin" in text
    assert not (tmp_path / "code").exists()


def test_oversize_member_total_and_count() -> None:
    limits = ArchiveLimits(max_member_bytes=1000, max_total_bytes=1500, max_members=3)
    data = make_zip(
        {
            "algorithm.yaml": manifest(),
            "main.py": "print(1)\n",
            "a.txt": "x" * 900,
            "b.txt": "é" * 600,
        }
    )
    with pytest.raises(ArchiveInvalid) as caught:
        validate_archive(io.BytesIO(data), limits=limits)
    text = str(caught.value)
    assert "more than 1,000 bytes" in text and "'b.txt'" in text
    assert "over the limit of 1,500" in text
    assert "4 members, over the limit of 3" in text


def test_lying_member_size_is_refused(tmp_path: Path) -> None:
    """A central directory that under-declares a member's size: refused, not trusted."""
    data = bytearray(make_zip({"algorithm.yaml": manifest(), "main.py": "print(1)\n" * 50}))
    entry = data.rfind(b"PK\x01\x02")  # main.py's central-directory entry (written last)
    data[entry + 24 : entry + 28] = (10).to_bytes(4, "little")  # its uncompressed size
    refused = r"could not be unpacked: Bad CRC-32 for file 'main\.py'"
    with pytest.raises(ArchiveInvalid, match=refused):
        extract_archive(io.BytesIO(bytes(data)), tmp_path / "code")


def test_not_a_zip() -> None:
    with pytest.raises(ArchiveInvalid, match=r"not a \.zip archive"):
        validate_archive(io.BytesIO(b"print('hello')\n"))


def test_member_problems_are_grouped_by_reason_in_the_order_met() -> None:
    """The whole list of problems, pinned: one line per reason in the order the members meet
    it, five names then a count, and the limits named with the archive's label."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # the duplicate names are the point
        z.writestr("algo/algorithm.yaml", manifest(entrypoint="../run.py"))
        z.writestr("algo/main.py", "print(1)\n")
        z.writestr("algo/main.py", "print(2)\n")
        z.writestr("algo/data/", "")
        z.writestr("algo/data/", "")
        z.writestr("algo/zeros.bin", b"\0" * 100_000)
        z.writestr("algo/big.txt", "abcdefghij" * 300)
        for i in range(7):
            z.writestr(f"/abs{i}.py", "x")
        z.writestr("__MACOSX/algo/._main.py", "junk")
    limits = ArchiveLimits(
        max_member_bytes=2000, max_total_bytes=5000, max_members=12, max_compression_ratio=50
    )
    with pytest.raises(ArchiveInvalid) as caught:
        validate_archive(io.BytesIO(buffer.getvalue()), limits=limits, label="algo.zip")
    assert caught.value.problems == [
        "algo.zip holds 14 members, over the limit of 12",
        "refused 2 members with a name used twice: 'algo/main.py', 'algo/data/'",
        "refused 1 member with a compression ratio over 50 (a zip bomb?): 'algo/zeros.bin'",
        "refused 1 member with more than 2,000 bytes: 'algo/big.txt'",
        "refused 7 members with an absolute path: '/abs0.py', '/abs1.py', '/abs2.py',"
        " '/abs3.py', '/abs4.py' and 2 more",
        "algo.zip would unpack to 103,125 bytes, over the limit of 5,000",
        "the entrypoint '../run.py' must be a relative path inside the archive",
    ]


def test_a_valid_archive_in_a_folder_lists_its_files_and_skips_macos_debris() -> None:
    data = make_zip(
        {
            "algo/algorithm.yaml": manifest(name="  Padded  ", entrypoint="src/run.py"),
            "algo/src/": "",
            "algo/src/run.py": "print(1)\n",
            "__MACOSX/algo/._run.py": "junk" * 1000,
        }
    )
    checked = validate_archive(io.BytesIO(data))
    assert (checked.name, checked.entrypoint, checked.root) == ("Padded", "src/run.py", "algo/")
    assert checked.members == ("algo/algorithm.yaml", "algo/src/run.py")
    assert checked.total_bytes == 114


def tiny_entries_zip(count: int, *, first: dict[str, str] | None = None) -> bytearray:
    """An archive of ``count`` empty members with short names (about 80 bytes each)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, text in (first or {}).items():
            archive.writestr(name, text)
        for n in range(count):
            archive.writestr(f"{n:x}", b"")
    return bytearray(buffer.getvalue())


def forge_entry_count(data: bytearray, entries: int) -> bytearray:
    """Make the end-of-central-directory record declare ``entries`` members (both counts)."""
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = entries.to_bytes(2, "little") * 2
    return data


@pytest.fixture
def directory_unread(monkeypatch) -> None:
    """Fail the test if zipfile starts reading a central directory (the ZipInfo per entry
    that a hostile archive is refused before)."""

    def read(self) -> None:
        raise AssertionError("the central directory was read")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", read)


def test_a_directory_of_too_many_entries_is_refused_before_it_is_read(directory_unread) -> None:
    data = tiny_entries_zip(3000, first={"algorithm.yaml": manifest(), "main.py": "print(1)\n"})
    assert len(data) < 300 * 1024  # far under the archive's size cap
    with pytest.raises(ArchiveInvalid) as caught:
        validate_archive(io.BytesIO(bytes(data)), label="many.zip")
    assert caught.value.problems == [
        "many.zip's directory lists 3,002 entries, over the limit of 500 members (2,000"
        " entries with macOS debris): refused unread"
    ]


def test_a_forged_entry_count_does_not_let_a_large_directory_through(directory_unread) -> None:
    """The end record claims 2 entries; its central directory holds 600 (about 30 KB), more
    than the limit's entries could take: refused by its size, unread."""
    limits = ArchiveLimits(max_members=10)
    data = forge_entry_count(tiny_entries_zip(600), entries=2)
    with pytest.raises(ArchiveInvalid, match=r"^the algorithm archive has 1 problem:") as caught:
        validate_archive(io.BytesIO(bytes(data)), limits=limits, label="forged.zip")
    (problem,) = caught.value.problems
    assert problem.startswith("forged.zip's central directory is ")
    assert problem.endswith(
        " bytes, over the 20,480 bytes that 40 entries may take: refused unread"
    )
    # The largest count the end record can declare without zip64 is refused the same way.
    huge = forge_entry_count(tiny_entries_zip(3), entries=0xFFFF)
    with pytest.raises(ArchiveInvalid, match="lists 65,535 entries, over the limit of 10"):
        validate_archive(io.BytesIO(bytes(huge)), limits=limits, label="forged.zip")


def test_a_mac_archive_with_its_debris_is_still_read_and_every_problem_listed() -> None:
    """Within the slack for folders and __MACOSX entries the directory is read as before:
    the member count is checked without the debris, with the other problems."""
    files = {"algorithm.yaml": manifest(), "main.py": "print(1)\n"}
    files |= {f"m{n}.py": "x = 1\n" for n in range(7)}
    files |= {f"__MACOSX/._m{n}.py": "junk" for n in range(7)}
    checked = validate_archive(io.BytesIO(make_zip(files)), limits=ArchiveLimits(max_members=9))
    assert len(checked.members) == 9
    files["big.py"] = "x" * 2000
    with pytest.raises(ArchiveInvalid) as caught:
        validate_archive(
            io.BytesIO(make_zip(files)),
            limits=ArchiveLimits(max_members=9, max_member_bytes=1000),
            label="mac.zip",
        )
    assert caught.value.problems == [
        "mac.zip holds 10 members, over the limit of 9",
        "refused 1 member with more than 1,000 bytes: 'big.py'",
    ]
