"""YAML loading that remembers line numbers, so config errors can name the line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ircbot.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
# libyaml's parser when PyYAML was built with it (several times faster), else the pure-Python one.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlSource:
    """A parsed YAML file: its data plus the node tree to look lines up in."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: tuple[int | str, ...]) -> int:
        """1-based line of the deepest node along `loc` that exists."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == str(part)), None)
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                if match is None:
                    break
                line = (key or match).start_mark.line + 1
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def read_yaml(path: Path) -> YamlSource:
    """Parse a YAML file; syntax errors become a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    loader = _Loader(text)
    try:
        # One parse gives both the node tree (for line numbers) and the data built from it.
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{path}:{line}: YAML syntax error: {exc.problem}"]) from exc
    finally:
        loader.dispose()
    return YamlSource(path=path, data=data, root=root)


def validate(source: YamlSource, model: type[M]) -> M:
    """Validate YAML data against a pydantic model; each error names file, line and field."""
    try:
        return model.model_validate(source.data if source.data is not None else {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            field = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{source.path}:{source.line_of(loc)}: {field}: {_clean(err['msg'])}")
        raise ConfigError(problems) from exc


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")
