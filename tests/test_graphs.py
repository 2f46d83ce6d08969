"""Shared references and cycles: stored once with HDF5 hard links, loaded as one object."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from jangada_like import Persistable, SerializableProperty


class Node(Persistable, tag="tests.graphs.node"):
    name = SerializableProperty(default="")
    parent = SerializableProperty(default=None)
    children = SerializableProperty(default=None)
    x = SerializableProperty(default=None)
    y = SerializableProperty(default=None)


def test_shared_object_array_and_container_keep_identity(tmp_path: Path) -> None:
    shared_obj, shared_arr, shared_list = Node(name="s"), np.arange(5), [1, "a", None]
    root = Node(
        x=[shared_obj, shared_arr, shared_list], y={"o": shared_obj, "a": shared_arr, "l": shared_list}
    )
    back = Node.load(root.save(tmp_path / "g"))
    assert back.x[0] is back.y["o"] and back.x[1] is back.y["a"] and back.x[2] is back.y["l"]
    with h5py.File(tmp_path / "g.hdf5", "r") as f:
        assert f["root/x/0"] == f["root/y/o"]  # one HDF5 object behind two links


def test_self_reference_and_parent_child_cycles(tmp_path: Path) -> None:
    me = Node(name="me")
    me.x = me
    parent = Node(name="parent")
    parent.children = [Node(name=f"c{i}", parent=parent) for i in range(12)]
    root = Node(x=me, y=parent)
    back = Node.load(root.save(tmp_path / "c"))
    assert back.x.x is back.x
    assert all(child.parent is back.y for child in back.y.children)
    assert [c.name for c in back.y.children] == [f"c{i}" for i in range(12)]


def test_lazy_proxies_of_one_dataset_are_one_object(tmp_path: Path) -> None:
    arr = np.zeros(10)
    path = Node(x=arr, y=[arr]).save(tmp_path / "p")
    with Node(path, mode="r") as node:
        assert node.x is node.y[0]


def test_cycle_survives_copy_and_equality(tmp_path: Path) -> None:
    a = Node(name="a")
    a.x = a
    back = Node.load(a.save(tmp_path / "a"))
    assert back == a and back.copy().x is not None
