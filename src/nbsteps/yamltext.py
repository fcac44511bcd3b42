"""Parse the YAML a user gives as a parameter value (`-p`, a params file), within bounds.

YAML aliases let 200 characters expand to gigabytes (`a: &a [x, x]`, `b: &b [*a, *a]`, ...),
nesting can be deep enough to overflow the parser's recursion, and some tags make values that
no notebook cell or JSON record can hold (`!!binary`, `!!set`). This module composes the
document first, measures it as it would expand, and builds values only when they fit.

Dates as users write them (`2024-05-01`, unquoted) stay the text they wrote: a notebook
parameter is text, a number, a bool, a list or a mapping, never a `datetime.date`.
"""

from typing import Any

import yaml

from nbsteps.errors import ParameterError

MAX_TEXT_CHARS = 1_000_000  # one -p value, or a whole params file
MAX_NODES = 100_000  # scalars, lists and mappings, counting every alias as expanded
MAX_DEPTH = 50  # lists and mappings within each other


class BoundError(ParameterError):
    """The value is too large, too deep, or of a type no parameter takes."""


class PlainLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp type: `2024-05-01` stays the string "2024-05-01"."""


PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_value(text: str, where: str) -> Any:
    """The value `text` holds, or ParameterError saying which bound it breaks (`where` names
    the value in the message: "-p k", "params/train.yaml")."""
    if len(text) > MAX_TEXT_CHARS:
        raise BoundError(f"{where} is {len(text):,} characters long; the limit is "
                             f"{MAX_TEXT_CHARS:,}: pass a path to a file instead")
    loader = PlainLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        measure_node(node, where)
        value = loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ParameterError(f"{where} is not valid YAML: {one_line(error)}") from None
    except RecursionError:
        raise BoundError(f"{where} is nested too deeply (more than {MAX_DEPTH} levels)"
                             ) from None
    finally:
        loader.dispose()
    check_plain(value, where)
    return value


def measure_node(root: yaml.Node, where: str) -> None:
    """Refuse a document that refers to itself, nests deeper than MAX_DEPTH or would expand
    to more than MAX_NODES values. Sizes are memoized per node, so a chain of aliases that
    expands to billions is measured in a few steps."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key], depths[key]
        if key in on_path:
            raise BoundError(f"{where} refers to itself through a YAML alias")
        children = node_children(node)
        on_path.add(key)
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = visit(child)
            size, depth = size + child_size, max(depth, child_depth)
        on_path.discard(key)
        depth += 1 if children or not isinstance(node, yaml.ScalarNode) else 0
        if depth > MAX_DEPTH:
            raise BoundError(f"{where} is nested too deeply (more than {MAX_DEPTH} levels)")
        if size > MAX_NODES:
            raise BoundError(f"{where} expands to more than {MAX_NODES:,} values (YAML "
                                 "aliases repeat what they name): write the values out, or "
                                 "pass a path to a file instead")
        sizes[key], depths[key] = size, depth
        return size, depth

    visit(root)


def node_children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


PLAIN_SCALARS = (type(None), bool, int, float, str)


def check_plain(value: Any, where: str, depth: int = 0) -> None:
    """Only what a notebook cell and a JSON record both hold: None, bool, int, float, text,
    lists, and mappings with text keys."""
    if depth > MAX_DEPTH:
        raise BoundError(f"{where} is nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(value, PLAIN_SCALARS):
        return
    if isinstance(value, list):
        for item in value:
            check_plain(item, where, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BoundError(f"{where}: the key {key!r} is not text; quote it "
                                     f"('{key}': ...)")
            check_plain(item, where, depth + 1)
        return
    raise BoundError(f"{where} holds a YAML {type(value).__name__}, which a notebook "
                         "parameter cannot take; use text, numbers, booleans, lists or mappings")


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())
