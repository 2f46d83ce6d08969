"""Every path gives the same tree: eager load, lazy session, and the fast layouts (object tables,
sequence datasets) against the general one, on random trees with shared values, byte orders,
memory orders and lengths on both sides of every threshold (issue 14, item 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jangada_like import Persistable, SerializableProperty
from jangada_like._compare import values_equal


class Node(Persistable, tag="tests.differential.node"):
    a = SerializableProperty(default=None)
    b = SerializableProperty(default=None)
    kids = SerializableProperty(default=None)


def _arrays() -> st.SearchStrategy[np.ndarray]:
    @st.composite
    def build(draw: Any) -> np.ndarray:
        kind = draw(st.sampled_from(["<f8", ">f8", "<i4", ">i8", "<u2", "<c16", "|b1"]))
        shape = draw(st.sampled_from([(3,), (2, 3), (0,), (1, 1)]))
        values = np.arange(int(np.prod(shape))).reshape(shape) % 2 if kind == "|b1" else None
        arr = np.asarray(
            values if values is not None else np.arange(int(np.prod(shape))).reshape(shape), dtype=kind
        )
        if len(shape) == 2 and draw(st.booleans()):
            arr = np.asfortranarray(arr)
        return arr

    return build()


scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=5),
    st.booleans(),
    st.none(),
)


@st.composite
def trees(draw: Any) -> Node:
    """A tree of nodes whose leaves may be shared: values are drawn from a pool, reused at will."""
    pool: list[Any] = [draw(_arrays()) for _ in range(draw(st.integers(1, 3)))]

    def leaf() -> Any:
        choice = draw(st.integers(0, 3))
        if choice == 0 and pool:
            return pool[draw(st.integers(0, len(pool) - 1))]  # shared with other places
        if choice == 1:
            return draw(_arrays())
        if choice == 2:
            return draw(st.lists(scalars, max_size=10))
        return draw(scalars)

    def node(depth: int) -> Node:
        kids: Any = None
        if depth < 2 and draw(st.integers(0, 3)) > depth:
            count = draw(st.sampled_from([0, 1, 7, 8, 9, 12]))  # both sides of the table threshold
            style = draw(st.sampled_from(["mixed", "ints", "one shared array", "arrays of one kind"]))
            template = draw(_arrays())
            kids = []
            for _ in range(count):
                if style == "mixed":
                    b: Any = leaf()
                elif style == "ints":
                    b = draw(st.integers(0, 9))
                elif style == "one shared array":
                    b = template
                else:  # same dtype, shape and memory order: the shape a column table could hold
                    b = template.copy(order="K")
                kids.append(Node(a=draw(st.integers(0, 9)) if style != "mixed" else leaf(), b=b))
            if kids and draw(st.booleans()):
                kids.append(kids[0])  # an object met twice: the list is not a table
        return Node(a=leaf(), b=leaf(), kids=kids)

    return node(0)


def _identity(root: Any) -> set[frozenset[str]]:
    """Which places of the tree hold one object: the partition of paths by ``id``."""
    places: dict[int, set[str]] = {}
    keep: list[Any] = []

    def visit(value: Any, path: str) -> None:
        if isinstance(value, (np.ndarray, list, dict, Persistable)) or getattr(
            type(value), "__jangada_list__", False
        ):
            keep.append(value)
            seen = id(value) in places
            places.setdefault(id(value), set()).add(path)
            if seen:
                return
        if isinstance(value, Persistable):
            for name in ("a", "b", "kids"):
                visit(getattr(value, name), f"{path}.{name}")
        elif isinstance(value, list) or getattr(type(value), "__jangada_list__", False):
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]")

    visit(root, "root")
    return {frozenset(paths) for paths in places.values() if len(paths) > 1}


def _types(root: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def visit(value: Any, path: str, depth: int = 0) -> None:
        if depth > 20:
            return
        if isinstance(value, np.ndarray):
            order = (
                "F" if value.ndim > 1 and value.flags.f_contiguous and not value.flags.c_contiguous else "C"
            )
            out.append((path, f"ndarray {value.dtype.str} {value.shape} {order}"))
        elif isinstance(value, Persistable):
            out.append((path, type(value).__name__))
            for name in ("a", "b", "kids"):
                visit(getattr(value, name), f"{path}.{name}", depth + 1)
        elif isinstance(value, list) or getattr(type(value), "__jangada_list__", False):
            out.append((path, "list"))
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]", depth + 1)
        else:
            out.append((path, type(value).__name__))

    visit(root, "root")
    return out


@settings(max_examples=60)
@given(tree=trees())
def test_eager_lazy_and_copy_give_the_same_tree(tmp_path_factory: Any, tree: Node) -> None:
    path = Path(tmp_path_factory.mktemp("diff")) / "t.hdf5"
    tree.save(path)
    eager = Node.load(path)
    assert values_equal(eager, tree)
    assert _types(eager) == _types(tree)
    assert _identity(eager) == _identity(tree)
    with Node(path, mode="r") as lazy:
        materialised = {
            name: np.asarray(v[()]) if getattr(type(v), "__jangada_lazy__", False) else v
            for name, v in ((n, getattr(lazy, n)) for n in ("a", "b"))
        }
        assert lazy == eager
        for name, value in materialised.items():
            assert values_equal(value, getattr(eager, name))
    copied = tree.copy()
    assert values_equal(copied, tree) and _types(copied) == _types(tree)
