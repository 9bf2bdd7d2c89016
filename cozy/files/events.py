"""Signals the files app sends about contents, for apps that derive data from them.

The files app knows none of its listeners (thumbnails, previews...).
"""

from collections.abc import Callable, Collection
from typing import Any

from django.dispatch import Signal

# Sent inside the writing transaction once ``node`` (with ``instance``) has its new content:
# a listener that works on the bytes queues its job with ``transaction.on_commit``.
content_committed = Signal()

# Sent after the commit, once the contents ``names`` ("<file_id>/<content_id>" in the files
# area) of ``instance`` are no longer referenced and their objects were deleted (or tried):
# a listener deletes what it derived from them.
contents_deleted = Signal()

# Functions of a file giving {name: url} links for its document (``links``): an app appends
# one in its ready(). The file is a Node, or in a listing a cozy.files.rows.NodeRow (its
# attributes, without related objects). They must be cheap: listings call them for every child.
link_providers: list[Callable[[Any], dict[str, str]]] = []

# Functions of an instance giving the names ("<file_id>/<content_id>" in the files area) of the
# contents that an unfinished operation of another app wrote and holds before its index commit
# (an import, stopped or running): fsck reports them as held and ``--fix`` keeps them. An app
# appends one in its ready().
content_holders: list[Callable[[Any], Collection[str]]] = []


def held_contents(instance: Any) -> set[str]:
    """The names that some unfinished operation holds (see ``content_holders``)."""
    return {name for holder in content_holders for name in holder(instance)}
