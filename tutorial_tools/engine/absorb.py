"""`tutorial absorb`: a fix made against the last step goes, hunk by hunk, to the step that
wrote the lines it touches, and every later step inherits it: all in one rewrite.

A hunk that changes or removes lines belongs to the latest step that wrote any of them
(earlier would collide with that step's own change); a hunk that only adds lines belongs to
the later of the steps that wrote the lines around it. Hunks are applied earliest first,
each carried through the steps after it before the next one is placed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import PatchError, TutorialError
from ..gitstore import MutableTree
from ..gitstore.merge import blame
from ..manifest import Manifest
from ..patch import FilePatch, PatchSyntaxError, parse_patch
from ..patch.parse import Hunk, split_hunk, trim_context
from ..reporter import Reporter
from .carry import carry
from .ready import REWRITING, require_clean, require_idle
from .rewrite import RewriteResult, finish_rewrite, open_history, remembered
from .treepatch import apply_to_tree


@dataclass(frozen=True)
class Placement:
    path: str
    hunk: int  # 1-based, within its file
    step: str | None  # None: left out
    reason: str = ""


@dataclass(frozen=True)
class AbsorbResult:
    placements: tuple[Placement, ...]
    rewrite: RewriteResult | None


def absorb(manifest: Manifest, patch: bytes, reporter: Reporter, *, command: str,
           dry_run: bool = False) -> AbsorbResult:
    require_idle(manifest, REWRITING)
    try:
        files = parse_patch(patch)
    except PatchSyntaxError as e:
        raise TutorialError(f"the patch is malformed at line {e.line}: {e.reason}") from e
    h = open_history(manifest)
    with h.repo:
        index_of = {c: i for i, c in enumerate(h.commits)}
        placements: list[Placement] = []
        by_step: dict[int, list[FilePatch]] = {}
        for fp in files:
            where = fp.display_path
            if fp.old_path is None or fp.new_path is None or fp.old_path != fp.new_path \
                    or fp.is_binary or not fp.hunks:
                placements.append(Placement(where, 0, None, "adds, deletes, renames or is "
                                            "binary: use `tutorial apply STEP` for it"))
                continue
            owners = blame(h.repo, h.tip, fp.old_path)
            pieces = [piece for hunk in fp.hunks for piece in split_hunk(hunk)]
            for n, hunk in enumerate(pieces, 1):
                lines = hunk.removed() or hunk.insertion_neighbours()
                steps = {index_of.get(owners[k - 1], -1) for k in lines if 0 < k <= len(owners)}
                if not steps or max(steps) < 0:
                    placements.append(Placement(where, n, None, "no step wrote its lines"))
                    continue
                target = max(steps)
                hunk = _context_at(hunk, owners, index_of, target)
                by_step.setdefault(target, []).append(replace(fp, hunks=(hunk,)))
                placements.append(Placement(where, n, h.labels[target]))
        if not by_step:
            return AbsorbResult(tuple(placements), None)
        if dry_run:
            return AbsorbResult(tuple(placements), None)
        require_clean(h.repo, REWRITING, h.branch_ref)
        trees = list(h.trees)
        first = min(by_step)
        for target in sorted(by_step):
            tree = MutableTree(h.repo, trees[target])
            try:
                for piece in by_step[target]:  # one at a time: their contexts may overlap
                    apply_to_tree(h.repo, tree, [piece], h.labels[target])
            except PatchError as e:
                raise TutorialError(
                    f"a hunk placed at step {h.labels[target]} does not apply there: "
                    f"{e.message}. Nothing was changed.",
                    "Apply that part by hand with `tutorial edit` or `tutorial apply`.") from e
            carried, _ = carry(h.repo, trees, target, tree.write(), h.labels,
                               remembered(h.repo))
            if carried.conflict is not None:
                c = carried.conflict
                raise TutorialError(
                    f"the fix placed at {h.labels[target]} conflicts at step "
                    f"{h.labels[c.index]}: {', '.join(c.paths)}. Nothing was changed.",
                    f"Apply it step by step: `tutorial apply {h.labels[target]} PATCH`, "
                    "which stops at the conflict for you to resolve.")
            for j, t in carried.trees.items():
                trees[j] = t
        new = {j: trees[j] for j in range(first, len(trees))}
        result = finish_rewrite(h, first, new, command, reporter, None, ())
        return AbsorbResult(tuple(placements), result)


def _context_at(hunk: Hunk, owners: list[str], index_of: dict[str, int], target: int) -> Hunk:
    """Keep only the context lines that already exist at the target step: the ones nearest
    the change, up to the first that a later step wrote."""
    def exists(line: int) -> bool:
        return 0 < line <= len(owners) and index_of.get(owners[line - 1], 0) <= target

    lead = len(hunk.ops) - len(hunk.ops.lstrip(b" "))
    tail = len(hunk.ops) - len(hunk.ops.rstrip(b" "))
    before = 0
    while before < lead and exists(hunk.old_start + lead - 1 - before):
        before += 1
    last_old = hunk.old_start + hunk.old_count - 1
    after = 0
    while after < tail and exists(last_old - tail + 1 + after):
        after += 1
    return trim_context(hunk, before, after)
