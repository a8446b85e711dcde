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


@dataclass(frozen=True)
class Problem:
    """One problem in a config file: where it is (file, line, field) and what is wrong."""

    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"

    @classmethod
    def at(cls, source: YamlSource, loc: tuple[int | str, ...], message: str) -> Problem:
        """The problem at `loc` (a path of keys and indexes) in a parsed file."""
        return cls(source.path, source.line_of(loc), ".".join(map(str, loc)) or "(top level)", message)


def validate(source: YamlSource, model: type[M]) -> M:
    """Validate YAML data against a pydantic model; each error names file, line and field."""
    valid, problems = check(source, model)
    if valid is None:
        raise ConfigError([str(p) for p in problems])
    return valid


def check(source: YamlSource, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Validate YAML data against a pydantic model: the model, or None and every problem found."""
    try:
        return model.model_validate(source.data if source.data is not None else {}), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(Problem.at(source, loc, _clean(err["msg"])))
        return None, problems


def grouped(problems: list[Problem | str], *, fields_shown: int = 5) -> list[str]:
    """Problems as lines, the same message in one file on many lines said once, listing its lines and fields.

    A copied block repeats its mistake: twenty lines saying the same thing hide the one that says something else.
    """
    groups: dict[tuple[Path, str], list[Problem]] = {}
    for problem in problems:
        if isinstance(problem, Problem):
            groups.setdefault((problem.path, problem.message), []).append(problem)
    lines = []
    for problem in problems:
        if not isinstance(problem, Problem):
            lines.append(problem)
            continue
        group = groups.pop((problem.path, problem.message), None)
        if group is None:
            continue  # said with the first of its group
        if len(group) == 1:
            lines.append(str(problem))
            continue
        numbers = ", ".join(str(n) for n in sorted({p.line for p in group}))
        fields = ", ".join(p.field for p in group[:fields_shown])
        more = f" and {len(group) - fields_shown} more" if len(group) > fields_shown else ""
        lines.append(f"{problem.path}: lines {numbers}: {problem.message} ({len(group)} times: {fields}{more})")
    return lines


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")
