"""New objects stored as one pack, some as deltas on others: git reads back every object
byte for byte, and `git fsck` finds the pack sound."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.gitrepo import Repo, git, git_bytes
from tutorial_tools.gitstore import MutableTree, Repository
from tutorial_tools.gitstore.objects import TreeEntry
from tutorial_tools.gitstore.pack import delta
from tutorial_tools.patch import apply_delta


def versions(seed: int) -> list[bytes]:
    """Successive versions of a text file, each a few edits away from the one before."""
    rng = random.Random(seed)
    lines = [b"line %d of a file that is long enough to matter\n" % i for i in range(3000)]
    out = [b"".join(lines)]
    for n in range(12):
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(lines))
            lines[at:at + rng.randint(0, 3)] = [b"edit %d\n" % n] * rng.randint(0, 300)
        out.append(b"".join(lines))
    out.append(out[-1][:5000] + bytes(range(256)) * 300 + out[-1][5000:])  # long insert
    out.append(b"")
    out.append(out[-3][: len(out[-3]) // 2])
    return out


def test_objects_made_from_others_read_back_intact(tmp_path: Path) -> None:
    src = Repo(tmp_path / "repo")
    src.write("seed.txt", "seed\n")
    src.commit("seed")
    repo = Repository(src.path)
    blobs = versions(7)
    ids = [repo.write(b"blob", blobs[0])]
    for data in blobs[1:]:
        ids.append(repo.write(b"blob", data, like=ids[-1]))
    trees = []
    entries = [TreeEntry(b"100644", b"f%03d" % i, ids[i % len(ids)]) for i in range(200)]
    for i in range(60):  # more versions than a delta chain may hold
        entries[i % 200] = TreeEntry(b"100644", entries[i % 200].name, ids[(i * 7) % len(ids)])
        trees.append(repo.write_tree(entries, like=trees[-1] if trees else None))
    repo.flush()
    repo.close()

    fresh = Repository(src.path)
    for oid, data in zip(ids, blobs, strict=True):
        assert fresh.read_kind(oid, b"blob") == data
    for oid in trees:
        assert len(fresh.tree_entries(oid)) == 200
    fresh.close()
    git(src.path, "fsck", "--strict", "--no-dangling")
    packs = list((src.path / ".git" / "objects" / "pack").glob("*.pack"))
    # Stored whole (zlib alone), the blobs take 125 kB and the trees 270 kB.
    assert sum(p.stat().st_size for p in packs) < 100_000
    # The index written beside the pack is the very one git's index-pack makes of it.
    for pack in packs:
        ours = pack.with_suffix(".idx").read_bytes()
        git(src.path, "index-pack", "-o", str(tmp_path / "git.idx"), str(pack))
        assert (tmp_path / "git.idx").read_bytes() == ours
        (tmp_path / "git.idx").unlink()


def test_delta_copies_what_the_two_share() -> None:
    base = b"".join(b"%05d some text\n" % i for i in range(20000))  # 300 kB: long copies
    target = base[:100000] + b"changed\n" + base[100016:]
    d = delta(base, target)
    assert d is not None and len(d) < 100
    assert delta(b"a" * 1000, b"b" * 1000) is None  # nothing shared


chunk = st.sampled_from([b"a\n", b"b\n", b"\n", b"line of some length, to be copied\n" * 3,
                         bytes(range(200)), b"x" * 70000])


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(chunk, max_size=40), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3),
                                                       st.lists(chunk, max_size=3)),
                                             max_size=5))
def test_a_delta_gives_back_the_target(parts: list[bytes],
                                       edits: list[tuple[int, int, list[bytes]]]) -> None:
    base = b"".join(parts)
    changed = list(parts)
    for at, deleted, inserted in edits:
        changed[at:at + deleted] = inserted
    target = b"".join(changed)
    patch = delta(base, target)
    if patch is not None:
        assert apply_delta(base, patch) == target


def test_edited_trees_are_the_trees_git_makes(tmp_path: Path) -> None:
    """Replaced entries keep their order; new names and files that become folders (or
    back) are sorted as git sorts them (a folder as if its name ended in "/")."""
    src = Repo(tmp_path / "repo")
    for path in ("a", "a-b", "b/c", "b.txt", "d/e/f"):
        src.write(path, path + "\n")
    src.commit("start")
    repo = Repository(src.path)
    blob = repo.write(b"blob", b"new\n")
    tree = MutableTree(repo, git(src.path, "rev-parse", "HEAD^{tree}"))
    tree.set(b"a-b", b"100644", blob)  # replaced: order kept
    tree.remove(b"a")
    tree.set(b"a/x", b"100644", blob)  # the file `a` becomes a folder, after `a-b`
    tree.set(b"b", b"100755", blob)  # the folder `b` becomes a file, before `b.txt`
    tree.set(b"d/e/0", b"100644", blob)  # a new name, first in its folder
    tree.set(b"c", b"100644", blob)
    oid = tree.write()
    repo.flush()
    repo.close()
    listing = git(src.path, "ls-tree", "-r", "-t", oid)
    remade = git(src.path, "mktree", "--missing", input=git_bytes(src.path, "ls-tree", oid))
    assert remade == oid  # git orders the top folder's entries the same way
    assert [line.split("\t")[1] for line in listing.splitlines()] == [
        "a-b", "a", "a/x", "b", "b.txt", "c", "d", "d/e", "d/e/0", "d/e/f"]
    git(src.path, "fsck", "--strict", "--no-dangling")
