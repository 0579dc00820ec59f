"""Multi-document YAML with the node of each document kept, for line numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ci_actions.errors import ConfigError
from ci_actions.yamlsafe import BoundedLoader, YamlLimit

_Loader: Any = BoundedLoader


@dataclass(frozen=True)
class Document:
    data: Any
    node: yaml.Node


def parse_documents(text: str, file: str) -> list[Document]:
    """Every non-empty document; a YAML error names the file and line (exit 2)."""
    loader = _Loader(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is not None:
                docs.append(Document(data, node))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else file
        reason = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, YamlLimit):
            raise ConfigError(f"{where}: {reason}", hint="expand or remove the aliases") from None
        raise ConfigError(
            f"{where}: YAML does not parse: {reason}", hint="fix the YAML syntax there"
        ) from None
    finally:
        loader.dispose()
    return docs
