"""A step's downloads: the zip holds exactly the step's tree (names, modes, links, bytes),
and the patch applies to the step before it and gives the step's tree."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git, git_bytes
from testing.site import build_site, make_site_project, write_mkdocs
from testing.tutorials import import_and_build
from tutorial_tools.errors import RenderError
from tutorial_tools.gitstore import Repository
from tutorial_tools.site.downloads import ZipMaker


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_site_project(tmp_path)
    write_mkdocs(root)
    return root


def tree_listing(repo: Path, tag: str) -> dict[bytes, tuple[int, bytes]]:
    """path -> (mode, content) of every blob and link at `tag`, as git has them."""
    out = {}
    for entry in git_bytes(repo, "ls-tree", "-r", "-z", f"refs/tags/{tag}").split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            mode, _, oid = meta.split(b" ")
            out[path] = (int(mode, 8), git_bytes(repo, "cat-file", "blob", oid.decode()))
    return out


def zip_listing(data: bytes, folder: bytes) -> dict[bytes, tuple[int, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None  # every CRC checks out
        out = {}
        for info in z.infolist():
            raw = info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            assert raw.startswith(folder + b"/")
            out[raw[len(folder) + 1:]] = (info.external_attr >> 16, z.read(info))
        return out


def test_each_zip_holds_the_steps_tree_with_modes_and_links(project: Path) -> None:
    site = build_site(project)
    repo = project / "build" / "repo"
    for tag in ("1a", "1b", "2a", "2b", "2c"):
        data = (site.site / "steps" / tag / f"{tag}.zip").read_bytes()
        assert zip_listing(data, tag.encode()) == tree_listing(repo, tag)
    files = zip_listing((site.site / "steps/2a/2a.zip").read_bytes(), b"2a")
    assert stat.S_ISLNK(files[b"current"][0]) and files[b"current"][1] == b"app.py"
    assert files[b"run.sh"][0] == 0o100755 and files[b"app.py"][0] == 0o100644
    assert files[b"logo.bin"][1] == bytes(range(256))
    # The same step gives the same bytes on the next build (from the cache or not).
    first = (site.site / "steps/2a/2a.zip").read_bytes()
    assert (build_site(project).site / "steps/2a/2a.zip").read_bytes() == first


def test_each_patch_applies_to_the_step_before_and_gives_the_step(project: Path,
                                                                   tmp_path: Path) -> None:
    site = build_site(project)
    repo = project / "build" / "repo"
    clone = tmp_path / "reader"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    for before, tag in (("1a", "1b"), ("1b", "2a"), ("2a", "2b"), ("2b", "2c")):
        patch = site.site / "steps" / tag / f"{tag}.patch"
        git(clone, "checkout", "-q", "--detach", f"refs/tags/{before}")
        git(clone, "apply", "--check", str(patch))
        git(clone, "am", "-q", str(patch))
        assert git(clone, "rev-parse", "HEAD^{tree}") == git(repo, "rev-parse", f"{tag}^{{tree}}")
        assert git(clone, "log", "-1", "--format=%an <%ae>%n%s") == git(
            repo, "log", "-1", "--format=%an <%ae>%n%s", f"refs/tags/{tag}")
    text = (site.site / "steps/1b/1b.patch").read_text()
    assert text.startswith("From ") and "\nSubject: [PATCH] Chapter 1: The app (1b)\n" in text


def test_names_that_are_not_utf8_keep_their_bytes(tmp_path: Path) -> None:
    src = Repo(tmp_path / "src")
    src.write(b"caf\xe9.txt", "latin-1 name\n")
    src.write("naïve.txt", "utf-8 name\n")
    src.commit("Chapter 1: Names (1a)", tag="1a")
    root = import_and_build(src, tmp_path / "project")
    write_mkdocs(root)
    site = build_site(root)
    files = zip_listing((site.site / "steps/1a/1a.zip").read_bytes(), b"1a")
    assert set(files) == {b"caf\xe9.txt", "naïve.txt".encode()}
    assert files == tree_listing(root / "build" / "repo", "1a")


def test_a_tree_naming_dot_dot_gives_no_zip_that_extracts_outside(tmp_path: Path) -> None:
    # git fsck refuses such trees, but `git mktree` writes them: the zip must not carry one.
    src = Repo(tmp_path / "src")
    src.write("ok.txt", "fine\n")
    src.commit("one", tag="1a")
    blob = git(src.path, "rev-parse", "1a:ok.txt").strip()

    def tree(*entries: str) -> str:
        return git(src.path, "mktree", input="".join(e + "\n" for e in entries).encode()).strip()

    inner = tree(f"100644 blob {blob}\tevil")
    for name in ("..", "..\\..", "a\\..\\..\\b"):
        middle = tree(f"040000 tree {inner}\t{name}")
        crafted = tree(f"040000 tree {middle}\t{name}", f"100644 blob {blob}\tok.txt")
        with Repository(src.path) as repo, pytest.raises(RenderError) as caught:
            ZipMaker(repo).make(crafted, "1a", 0)
        assert "1a.zip" in caught.value.message and "evil" in caught.value.message
