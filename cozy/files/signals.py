"""What the files app does when other parts of cozy act: a new instance gets its root and trash."""

from __future__ import annotations

from typing import Any

from cozy.files.fsck import lost
from cozy.files.tree import ensure_root_and_trash
from cozy.instances.models import Instance
from cozy.instances.signals import instance_created


def _create_root(sender: type[Instance], instance: Instance, **kwargs: Any) -> None:
    ensure_root_and_trash(instance)


def connect() -> None:
    instance_created.connect(_create_root, dispatch_uid="cozy.files.create_root")
    lost.connect()
