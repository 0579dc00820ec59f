"""The one loader for YAML from outside: PyYAML's safe loader with aliases bounded.

A few hundred bytes of nested aliases (`b: [*a, *a, ...]`, "billion laughs")
stand for billions of nodes: harmless while they are shared references, but
any walk over the data (a schema check, a JSON dump) expands them. And
libyaml's composer recurses once per nesting level, so a file of 100,000
`[` crashes the interpreter outright. So every document is checked before
it is used:

- no more than MAX_DEPTH levels of nesting, aliases followed;
- once aliases are expanded, no more than MAX_EXPANSION times the nodes it
  holds as written (or MIN_BUDGET nodes, for small files);
- no alias inside the node it names (a recursive structure).

A document that breaks a limit raises `YamlLimit`, a `yaml.MarkedYAMLError`
with the line of the node where it happened, so every caller that already
names the file and line of a YAML error does so for these too (exit 2).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_DEPTH = 100
MAX_EXPANSION = 10
MIN_BUDGET = 100_000
# Below this many nesting indicators, libyaml's recursive composer is safe;
# above it the events are counted first (cheap) so it never recurses deeper.
_COMPOSER_SAFE_DEPTH = 1000
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there


class YamlLimit(yaml.MarkedYAMLError):
    """A document beyond the limits above; `problem_mark` is where."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_tree(root: Node) -> None:
    """check_node for a document without aliases (a tree): only its depth can be wrong."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, level = pop()
        if level > MAX_DEPTH:
            raise YamlLimit(f"nests deeper than {MAX_DEPTH} levels", node.start_mark)
        if isinstance(node, SequenceNode):
            for item in node.value:
                push((item, level + 1))
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                push((key, level + 1))
                push((value, level + 1))


def check_node(root: Node | None, *, aliases: bool = True) -> None:
    """Raise YamlLimit when `root` nests too deep, aliases itself or expands too far.

    `aliases=False` promises the text had none (no `*` in it): a cheaper walk.
    """
    if root is None:
        return
    if not aliases:
        _check_tree(root)
        return
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    order: list[Node] = []
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # iterative post-order: no recursion, each node once
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[key] > MAX_DEPTH:
                raise YamlLimit(f"nests deeper than {MAX_DEPTH} levels", node.start_mark)
            order.append(node)
            continue
        if key in size:
            continue
        if key in entered:
            raise YamlLimit("an alias refers to a node that contains it", node.start_mark)
        entered.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)
    budget = max(MIN_BUDGET, MAX_EXPANSION * len(order))
    if size[id(root)] > budget:
        first = next(n for n in order if size[id(n)] > budget)  # the smallest such subtree
        raise YamlLimit(
            f"its aliases expand to more than {budget} nodes (from {len(order)} written):"
            " refused as a YAML bomb",
            first.start_mark,
        )


_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)(?=\s|$)", re.M)  # never inside a scalar


_LINE_BREAK = re.compile(r"[\r\n]")  # libyaml breaks lines on more (NEL, LS, PS): never fewer


def _indicator_bound(doc: str) -> int:
    """Every level of nesting needs an indicator of its own (`[`, `{`, `-`, `:`, `?`)."""
    return sum(doc.count(c) for c in "[{-:?")


def _layout_bound(doc: str) -> int:
    """A block collection opens only at a column beyond its parent's (and a mapping may
    hold one sequence at its own column): block levels are at most twice the longest
    line plus 2. Inside a flow collection nothing is block, and each level needs a `[`
    or `{` (a `[` may hold one `key: value` pair, a level of its own)."""
    longest = max(map(len, _LINE_BREAK.split(doc)))
    return 2 * (longest + 2) + 2 * (doc.count("[") + doc.count("{"))


def _nesting_bound(text: str) -> int:
    """No document of `text` nests deeper than this. Both bounds hold; the second keeps
    long ordinary files (many short lines) clear of the event count below."""
    bound = 0
    for doc in _DOCUMENT_MARKER.split(text):
        levels = _indicator_bound(doc)
        if levels > _COMPOSER_SAFE_DEPTH:
            levels = min(levels, _layout_bound(doc))
        bound = max(bound, levels)
    return bound


def _check_events(text: str, base: Any) -> None:
    level = 0
    for event in yaml.parse(text, Loader=base):
        if isinstance(event, yaml.CollectionStartEvent):
            level += 1
            if level > MAX_DEPTH:
                raise YamlLimit(f"nests deeper than {MAX_DEPTH} levels", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            level -= 1


class BoundedLoader(_Base):  # type: ignore[misc]
    """The safe loader whose every document is checked (see the module's doc)."""

    _checked = False

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._text = stream if isinstance(stream, str) else None
        # an alias (`*a`) needs an anchor (`&a`) before it: a text without both has none
        self._aliases = self._text is None or ("*" in self._text and "&" in self._text)

    def _before_composing(self) -> None:
        if self._checked:
            return
        self._checked = True
        if self._text is not None and _nesting_bound(self._text) > _COMPOSER_SAFE_DEPTH:
            _check_events(self._text, _Base)

    def check_node(self) -> bool:
        self._before_composing()
        return bool(super().check_node())

    def get_node(self) -> Node | None:
        self._before_composing()
        node: Node | None = super().get_node()
        check_node(node, aliases=self._aliases)
        return node

    def get_single_node(self) -> Node | None:
        self._before_composing()
        node: Node | None = super().get_single_node()
        check_node(node, aliases=self._aliases)
        return node


def load(text: str) -> Any:
    """yaml.safe_load, bounded: one document (None when empty)."""
    return yaml.load(text, Loader=BoundedLoader)  # a safe loader
