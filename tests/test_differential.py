"""Every path gives the same tree: eager load, lazy session, and the fast layouts (object tables,
sequence datasets) against the general one, on random trees with shared values, byte orders,
memory orders and lengths on both sides of every threshold (issue 14, item 3)."""

from __future__ import annotations

import contextlib
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


@settings(max_examples=40)
@given(tree=trees())
def test_the_quick_root_reader_and_serialize_give_what_the_general_walk_gives(
    tmp_path_factory: Any, tree: Node
) -> None:
    """The quick reader of a session's root is only a shortcut through the same codecs: with it
    turned off, every session sees the same values; jangada's in-memory ``serialize`` /
    ``deserialize`` gives back the tree a save and load give."""
    import jangada_like._session as session_module

    path = Path(tmp_path_factory.mktemp("quick")) / "t.hdf5"
    tree.save(path)
    eager = Node.load(path)
    for mode in ("r", "r+"):
        seen = []
        for quick in (True, False):
            original = session_module.quick_root
            if not quick:
                session_module.quick_root = lambda *args: False  # type: ignore[assignment]
            try:
                with Node(path, mode=mode) as lazy:
                    seen.append({n: _plain(getattr(lazy, n)) for n in ("a", "b", "kids")})
            finally:
                session_module.quick_root = original
        assert values_equal(seen[0], seen[1]) and values_equal(seen[0], _plain(eager))
    rebuilt = Node.deserialize(Node.serialize(tree))
    assert values_equal(rebuilt, eager) and _types(rebuilt) == _types(eager)


def _plain(value: Any, depth: int = 0) -> Any:
    """A value read in a session, read whole inside its block (arrays, lists item by item,
    objects property by property), so sessions can be compared after they closed."""
    if depth > 20:
        return "..."
    if getattr(type(value), "__jangada_lazy__", False):
        return np.asarray(value[()])
    if getattr(type(value), "__jangada_list__", False) or isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, Persistable):
        return {n: _plain(getattr(value, n), depth + 1) for n in ("a", "b", "kids")}
    return value


_MUTATIONS = [
    ("attr", "root", "__class_version__", 99),
    ("attr", "root", "__class_version__", "one"),
    ("attr", "root", "__class__", 3),
    ("attr", "root", "__class__", "tests.differential.other"),
    ("attr", "root/b", "__dataset_type__", "numpy.scalar"),
    ("attr", "root/b", "__dataset_type__", 7),
    ("attr", "root", "a", "text"),
    ("attr", "root", "undeclared", 1),
    ("soft", "root", "b", "/root/a_missing"),
    ("soft", "root", "b", "/root/kids"),
    ("external", "root", "b", "other.hdf5"),
    ("hard", "root", "kids", "/root/b"),
    ("delete", "root", "b", None),
    ("group", "root", "b", None),
    ("attr", "/", "jangada_like_format", 99),
]


@settings(max_examples=40, deadline=None)
@given(mutations=st.lists(st.sampled_from(_MUTATIONS), min_size=1, max_size=3))
def test_the_quick_root_reader_and_the_general_walk_agree_on_hostile_files(
    tmp_path_factory: Any, mutations: list[tuple[str, str, str, Any]]
) -> None:
    """A damaged or hostile flat root gives, with and without the quick reader, the same values
    or the same library error."""
    import warnings

    import h5py

    import jangada_like._session as session_module
    from jangada_like.errors import JangadaError

    folder = Path(tmp_path_factory.mktemp("hostile"))
    path = Node(a=1.5, b=np.arange(4.0), kids=np.zeros(2)).save(folder / "t.hdf5")
    with h5py.File(folder / "other.hdf5", "w") as other:
        other["x"] = np.arange(4.0)
    with h5py.File(path, "r+") as f:
        for mutation in mutations:
            with contextlib.suppress(KeyError, OSError):  # an earlier mutation took its place away
                _mutate(f, folder, *mutation)
    outcomes: list[tuple[str, Any]] = []
    for quick in (True, False):
        original = session_module.quick_root
        if not quick:
            session_module.quick_root = lambda *args: False  # type: ignore[assignment]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with Node(path, mode="r") as lazy:
                    values = {n: _plain(getattr(lazy, n)) for n in ("a", "b", "kids")}
            outcomes.append(("ok", (values, sorted({w.category.__name__ for w in caught}))))
        except JangadaError as exc:
            outcomes.append(("error", type(exc)))
        finally:
            session_module.quick_root = original
    assert outcomes[0][0] == outcomes[1][0], outcomes
    if outcomes[0][0] == "ok":
        assert values_equal(outcomes[0][1][0], outcomes[1][1][0])
        assert outcomes[0][1][1] == outcomes[1][1][1]  # the same warnings
    else:
        assert outcomes[0][1] is outcomes[1][1]


def _mutate(f: Any, folder: Path, kind: str, where: str, name: str, value: Any) -> None:
    import h5py

    group = f[where]
    if kind == "attr":
        group.attrs[name] = value
        return
    if name in group:
        del group[name]
    if kind == "soft":
        group[name] = h5py.SoftLink(value)
    elif kind == "external":
        group[name] = h5py.ExternalLink(str(folder / value), "x")
    elif kind == "hard":
        group[name] = f[value]
    elif kind == "group":
        group.create_group(name)
