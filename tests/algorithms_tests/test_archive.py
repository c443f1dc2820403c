"""The archive core (no database): every problem listed at once, hostile archives refused."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import pytest

from algorithms.core import ArchiveInvalid, ArchiveLimits, extract_archive, validate_archive
from tests.algorithms_tests.archives import algorithm_zip, bomb_zip, make_zip, manifest


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
