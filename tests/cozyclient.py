"""A small client for the files API, over Django's test client or a live server."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.test import Client

from cozy.files.content import content_name
from cozy.instances.models import Instance, Token
from cozy.instances.services import create_instance

ROOT = "io.cozy.files.root-dir"
TRASH = "io.cozy.files.trash-dir"


def content_key(instance: Instance, doc_id: str, content_id: str) -> str:
    """The full object key of a content, for tests that look at the store directly."""
    return f"{instance.key_prefix}files/{content_name(doc_id, content_id)}"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def make_instance(domain: str, username: str, *, org: str = "", quota: int | None = None) -> tuple[Instance, str]:
    get_user_model().objects.get_or_create(username=username)
    instance = create_instance(domain, username, org_id=org, quota=quota)
    _, token = Token.issue(instance)
    return instance, token


@dataclass
class Cozy:
    instance: Instance
    token: str
    client: Client

    @property
    def host(self) -> str:
        return self.instance.domain

    def _h(self, **extra) -> dict:
        headers = {"HTTP_HOST": self.host, "HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        headers.update(extra)
        return headers

    def upload(self, name: str, data: bytes, dir_id: str = ROOT, *, md5: str | None = "auto", **extra):
        if md5 == "auto":
            md5 = md5_b64(data)
        if md5:
            extra["HTTP_CONTENT_MD5"] = md5
        return self.client.post(f"/files/{dir_id}?Type=file&Name={_q(name)}", data=data,
                                content_type=extra.pop("content_type", "application/octet-stream"), **self._h(**extra))

    def mkdir(self, name: str, dir_id: str = ROOT):
        return self.client.post(f"/files/{dir_id}?Type=directory&Name={_q(name)}", **self._h())

    def put(self, file_id: str, data: bytes, **extra):
        extra.setdefault("HTTP_CONTENT_MD5", md5_b64(data))
        return self.client.put(f"/files/{file_id}", data=data, content_type="application/octet-stream",
                               **self._h(**extra))

    def get(self, path: str, **extra):
        return self.client.get(path, **self._h(**extra))

    def download(self, file_id: str, **extra) -> bytes:
        resp = self.get(f"/files/download/{file_id}", **extra)
        assert resp.status_code in (200, 206), resp.status_code
        return b"".join(resp.streaming_content)

    def patch(self, file_id: str, **attrs):
        body = {"data": {"type": "io.cozy.files", "id": file_id, "attributes": attrs}}
        return self.client.patch(f"/files/{file_id}", data=json.dumps(body), content_type="application/json",
                                 **self._h())

    def delete(self, path: str):
        return self.client.delete(path, **self._h())

    def post(self, path: str):
        return self.client.post(path, **self._h())


def _q(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def doc_id(resp) -> str:
    return resp.json()["data"]["id"]
