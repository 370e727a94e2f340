"""The pure patch code against patches that real git wrote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from tutorial_tools.patch import (
    HunkFailed,
    apply_binary,
    apply_delta,
    apply_hunks,
    parse_patch,
    unquote,
)


def _diff(tmp_path: Path, old: dict[str, bytes], new: dict[str, bytes]) -> bytes:
    repo = Repo(tmp_path / "r")
    for name, data in old.items():
        repo.write(name, data)
    repo.commit("old")
    for name in old:
        (repo.path / name).unlink()
    for name, data in new.items():
        repo.write(name, data)
    repo.commit("new")
    return subprocess.run(
        ["git", "-C", str(repo.path), "-c", "core.quotePath=true", "diff", "--binary",
         "--full-index", "-M", "HEAD~1", "HEAD"], capture_output=True, check=True,
    ).stdout


@pytest.mark.parametrize(("old", "new"), [
    (b"a\r\nb\r\nc\r\n", b"a\r\nB\r\nc\r\n"),
    (b"one\ntwo", b"one\ntwo\nthree"),
    (b"one\ntwo\n", b"one\ntwo"),
    (b"", b"x"),
    (b"\n".join(b"line %d" % i for i in range(100)) + b"\n",
     b"\n".join(b"line %d" % (i * 2 if i % 30 == 0 else i) for i in range(100)) + b"\n"),
])
def test_text_patches_reproduce_git(tmp_path: Path, old: bytes, new: bytes) -> None:
    files = parse_patch(_diff(tmp_path, {"f.txt": old}, {"f.txt": new}))
    assert len(files) == 1
    assert apply_hunks(old, files[0].hunks) == new


def test_binary_delta_and_literal(tmp_path: Path) -> None:
    old = bytes(range(256)) * 40
    new = old[:5000] + b"\0changed\0" + old[5000:]
    files = parse_patch(_diff(tmp_path, {"b.bin": old}, {"b.bin": new}))
    assert files[0].binary is not None
    assert files[0].binary.method == "delta"
    assert apply_binary(old, files[0].binary) == new


def test_hunk_found_at_an_offset() -> None:
    patch = (b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -2,2 +2,2 @@\n b\n-c\n+C\n")
    (fp,) = parse_patch(patch)
    assert apply_hunks(b"new\nfirst\na\nb\nc\n", fp.hunks) == b"new\nfirst\na\nb\nC\n"


def test_hunk_that_does_not_match_names_its_number() -> None:
    patch = (b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
             b"@@ -5 +5 @@\n-zzz\n+y\n")
    (fp,) = parse_patch(patch)
    with pytest.raises(HunkFailed) as e:
        apply_hunks(b"a\n2\n3\n4\n5\n", fp.hunks)
    assert e.value.index == 2


def test_quoted_names_rename_and_mode(tmp_path: Path) -> None:
    name = "caf\u00e9 \"menu\".txt"
    files = parse_patch(_diff(tmp_path, {name: b"same\n" * 10}, {"b/x.txt": b"same\n" * 10}))
    (fp,) = files
    assert fp.old_path == name.encode()
    assert fp.new_path == b"b/x.txt"
    assert unquote(b'"caf\\303\\251\\t"') == "caf\u00e9\t".encode()


def test_git_line_names_with_spaces(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write("a b.txt", b"x")
    repo.commit("one")
    (repo.path / "a b.txt").chmod(0o755)
    repo.commit("two")
    out = subprocess.run(["git", "-C", str(repo.path), "diff", "HEAD~1", "HEAD"],
                         capture_output=True, check=True).stdout
    (fp,) = parse_patch(out)
    assert fp.old_path == fp.new_path == b"a b.txt"
    assert (fp.old_mode, fp.new_mode) == (b"100644", b"100755")
    assert git(repo.path, "log", "--format=%s") == "two\none"


def test_a_delta_copying_past_its_base_is_refused() -> None:
    base = b"0123456789"
    # sizes 10 -> 2; copy 4 bytes from offset 8 (bit 0: offset byte, bit 4: size byte): a
    # slice would give the 2 bytes the header promises, but git refuses the copy
    delta = bytes([10, 2, 0x80 | 0x01 | 0x10, 8, 4])
    with pytest.raises(ValueError, match="corrupt binary delta"):
        apply_delta(base, delta)
    assert apply_delta(base, bytes([10, 4, 0x80 | 0x01 | 0x10, 6, 4])) == b"6789"


def test_hunk_sections_and_similarity_come_from_the_headers(tmp_path: Path) -> None:
    patch = (b"diff --git a/f b/g\nsimilarity index 87%\nrename from f\nrename to g\n"
             b"--- a/f\n+++ b/g\n@@ -1 +1 @@ def main():\r\n-a\n+b\n"
             b"@@ -5 +5 @@@@ odd\n-c\n+d\n@@ -9 +9 @@\n-e\n+f\n"
             b"diff --git a/h b/h\n--- a/h\n+++ b/h\n@@ -1 +1 @@\n-x\n+y\n"
             b"similarity index 5%\n")
    renamed, plain = parse_patch(patch)
    assert renamed.similarity == 87 and plain.similarity is None
    assert [h.section for h in renamed.hunks] == [b"def main():", b"@@ odd", b""]

    old = "\n".join(f"line {i}" for i in range(20)) + "\n"
    (fp,) = parse_patch(_diff(tmp_path, {"a.txt": old.encode()},
                              {"b.txt": old.replace("line 19", "last").encode()}))
    assert fp.similarity is not None and 80 <= fp.similarity < 100
