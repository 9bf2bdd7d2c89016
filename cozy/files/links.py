"""Download links (POST /files/downloads -> GET /files/downloads/{secret}/{name}):
usable without credentials, as an ``<a href>``, so the secret says everything.

The secret is signed with Django's signing (the project's SECRET_KEY), expires,
and names the instance, the file and the content it was made for: a link to
a content that was deleted stops working, and another instance's host refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.core import signing

from cozy.files.errors import NotFound
from cozy.files.models import Node, Version
from cozy.files.tree import get_node, node_by_path
from cozy.instances.models import Instance

SALT = "cozy.files.download-link"
LINK_TTL = 3600  # seconds, as cozy-stack's download secrets


@dataclass
class Target:
    node: Node
    content_id: str
    size: int
    md5: str
    mime: str
    filename: str


def target_for(instance: Instance, *, file_id: str = "", path: str = "", version_id: str = "",
               filename: str = "") -> Target:
    """What POST /files/downloads names: VersionId, else Id, else Path (the first given: a
    schema cannot say "exactly one of these parameters"); none names nothing, a 404."""
    if not (file_id or path or version_id):
        raise NotFound("give one of VersionId, Id or Path")
    if version_id:
        version_file, _, content_id = version_id.rpartition("/")  # the route's pattern says both are there
        node = get_node(instance, version_file)
        version = Version.objects.filter(file=node, content_id=content_id).first()
        if version is None:
            raise NotFound("no such version")
        return Target(node, version.content_id, version.size, version.md5, version.mime, filename or node.name)
    found = get_node(instance, file_id) if file_id else node_by_path(instance, path)
    if found is None:
        raise NotFound("no such file or directory")
    node = found
    if node.is_dir:  # not a file: nothing to download here
        raise NotFound("a directory has no content to download (see POST /files/archive)")
    return Target(node, node.content_id, node.size, node.md5, node.mime, filename or node.name)


def make_link(instance: Instance, target: Target) -> str:
    secret = signing.dumps({"i": instance.pk, "f": target.node.doc_id, "c": target.content_id,
                            "n": target.filename}, salt=SALT, compress=True)
    return f"/files/downloads/{secret}/{quote(target.filename, safe='')}"


def resolve(instance: Instance, secret: str) -> Target:
    """The content a secret was made for, if still there; 404 for any bad, old or foreign secret."""
    try:
        data = signing.loads(secret, salt=SALT, max_age=LINK_TTL)
    except signing.BadSignature:  # SignatureExpired is one
        raise NotFound("this download link is invalid or has expired") from None
    if not isinstance(data, dict) or data.get("i") != instance.pk:
        raise NotFound("this download link is invalid or has expired")
    node = Node.objects.filter(instance=instance, doc_id=data.get("f"), type=Node.Type.FILE).first()
    if node is None:
        raise NotFound("this file no longer exists")
    name = str(data.get("n") or node.name)
    if node.content_id == data.get("c"):
        return Target(node, node.content_id, node.size, node.md5, node.mime, name)
    version = Version.objects.filter(file=node, content_id=data.get("c")).first()
    if version is None:
        raise NotFound("this content no longer exists")
    return Target(node, version.content_id, version.size, version.md5, version.mime, name)
