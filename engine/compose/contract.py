"""The template context as staff write against it: the names that exist, their documentation, and a check
that a template uses only those (with the line and column of each name that does not exist).

The names come from the sample contexts (`seeds.sample_context`, which mirrors docs/templates.md and
grows with it), so a field added to the contract is known here as soon as its sample has it; each
name's example and notes come from the table in docs/templates.md §2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import meta, nodes

from engine.compose.render import SMS_COMPACT, template_ast
from engine.compose.seeds import sample_context, sample_digest_context
from engine.detection.rules import TEMPLATE_STAGES
from engine.errors import TemplateError
from engine.vocabulary import SituationKind

DOCS = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
LEAF = "leaf"
Tree = dict[str, Any]  # name → a sub-tree (a dict in the context) or LEAF


@dataclass(frozen=True)
class Problem:
    part: str
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Documented:
    path: str  # "customer.first_name"
    example: str
    notes: str


def _merge(tree: Tree, value: Any) -> None:
    for key, item in value.items():
        if isinstance(item, dict):
            sub = tree.get(key)
            if not isinstance(sub, dict):
                sub = tree[key] = {}
            _merge(sub, item)
        elif key not in tree:
            tree[key] = LEAF


@lru_cache(maxsize=1)
def context_tree() -> Tree:
    """Every name a template may use, merged over every situation and stage (None values aside)."""
    tree: Tree = {SMS_COMPACT: LEAF}
    for kind, stages in TEMPLATE_STAGES.items():
        for stage in stages:
            for locale in ("en", "pt-BR"):
                sample = (
                    sample_digest_context(locale=locale)
                    if kind == SituationKind.DIGEST
                    else sample_context(kind, stage, locale=locale)
                )
                _merge(tree, sample)
    return tree


def leaf_paths(tree: Tree | None = None, prefix: str = "") -> list[str]:
    tree = context_tree() if tree is None else tree
    paths: list[str] = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        paths.extend(leaf_paths(value, f"{path}.") if isinstance(value, dict) else [path])
    return paths


_DOC_ROW = re.compile(r"^\|\s*(`[^|]+)\|\s*([^|]*)\|\s*(.*?)\s*\|\s*$")


@lru_cache(maxsize=1)
def documented() -> dict[str, Documented]:
    """The field table of docs/templates.md: `customer.first_name` → its example and notes."""
    if not DOCS.exists():
        return {}
    found: dict[str, Documented] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        match = _DOC_ROW.match(line)
        if not match:
            continue
        names = re.findall(r"`(\.?[a-z_][a-z0-9_.]*)`", match.group(1))
        example, notes = match.group(2).strip().replace("\\|", "|"), match.group(3).strip().replace("\\|", "|")
        base = ""
        for name in names:
            if name.startswith("."):
                name = base + name
            elif "." in name:
                base = name.rsplit(".", 1)[0]
            if name.split(".")[0] in context_tree():  # other tables in the page name other things
                found[name] = Documented(name, example, notes)
    return found


def _chain(node: nodes.Node) -> list[str] | None:
    """`customer.first_name` → ["customer", "first_name"]; None if the chain does not start at a name."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return [node.name, *reversed(parts)]


def locate(source: str, line: int | None, hint: str = "") -> tuple[int, int]:
    """(line, column) of a problem: the column of `hint` on that line if it is there, else of the line's first
    tag; line 1 when Jinja could not say."""
    line = line or 1
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    found = re.search(rf"\b{re.escape(hint)}\b", text) if hint else None
    return line, found.start() + 1 if found else _column(source, line, "\0")


def _column(source: str, line: int, dotted: str) -> int:
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    pattern = r"\s*\.\s*".join(re.escape(piece) for piece in dotted.split("."))
    match = re.search(rf"(?<![\w.]){pattern}(?!\w)", text)
    if match:
        return match.start() + 1
    tag = re.search(r"\{[{%]", text)
    return tag.start() + 1 if tag else 1


def _unknown(tree: Tree, chain: list[str]) -> str | None:
    """The dotted prefix that does not exist, or None when the chain is known (past a leaf: anything goes)."""
    current: Any = tree
    for depth, name in enumerate(chain):
        if not isinstance(current, dict):
            return None  # a value (a date, a list): its methods and items are the sandbox's business
        if name not in current:
            return ".".join(chain[: depth + 1])
        current = current[name]
    return None


def check_names(part: str, source: str, *, environment_globals: frozenset[str]) -> list[Problem]:
    """Each name the part uses that the context does not have: `{{ customer.nickname }}`, `{{ nope }}`."""
    try:
        ast = template_ast(source)
    except TemplateError:
        return []  # a syntax error: the render reports it with its line
    tree = context_tree()
    # Names the template makes itself ({% set %}, loop variables, macro arguments), wherever they are.
    own = {node.name for node in ast.find_all(nodes.Name) if node.ctx in ("store", "param")}
    undeclared = meta.find_undeclared_variables(ast) - environment_globals - own
    problems: dict[tuple[int, str], Problem] = {}
    for name in sorted(undeclared - set(tree)):
        for node in ast.find_all(nodes.Name):
            if node.name == name and node.ctx == "load":
                key = (node.lineno, name)
                problems.setdefault(
                    key, Problem(part, node.lineno, _column(source, node.lineno, name), f"unknown variable {name!r}")
                )
    for access in ast.find_all((nodes.Getattr, nodes.Getitem)):
        chain = _chain(access)
        if not chain or chain[0] not in undeclared or chain[0] not in tree:
            continue
        missing = _unknown(tree, chain)
        if missing:
            key = (access.lineno, missing)
            parent = missing.rsplit(".", 1)[0]
            problems.setdefault(
                key,
                Problem(
                    part,
                    access.lineno,
                    _column(source, access.lineno, missing),
                    f"unknown variable {missing!r}: {parent} has no such field",
                ),
            )
    return sorted(problems.values(), key=lambda p: (p.line, p.column))
