"""POST /files/_find as the Drive's search and Recent view ask it (cozy/drive/static/drive/api.js)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.cozyclient import Cozy, doc_id, make_instance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("find.localhost", "finn")
    return Cozy(instance, token, Client())


def find(cozy: Cozy, **query):
    query["selector"].setdefault("trashed", False)  # as the Drive asks: the trash only when it says so
    return cozy.client.post("/files/_find", data=json.dumps(query), content_type="application/json", **cozy._h())


def names(resp) -> list[str]:
    assert resp.status_code == 200, resp.content
    return [r["attributes"]["name"] for r in resp.json()["data"]]


def test_search_by_name_everywhere_but_the_trash(cozy):
    work = doc_id(cozy.mkdir("Work"))
    deep = doc_id(cozy.mkdir("Reports 2024", work))
    cozy.upload("Annual REPORT.pdf", b"x", deep)
    cozy.upload("report-draft.txt", b"y")
    cozy.upload("notes.txt", b"z")
    gone = doc_id(cozy.upload("old report.txt", b"w"))
    cozy.delete(f"/files/{gone}")
    resp = find(cozy, selector={"name": {"$regex": "(?i)report"}}, sort=[{"name": "asc"}])
    assert names(resp) == ["Annual REPORT.pdf", "Reports 2024", "report-draft.txt"]
    found = {r["attributes"]["name"]: r["attributes"]["path"] for r in resp.json()["data"]}
    assert found == {"Annual REPORT.pdf": "/Work/Reports 2024/Annual REPORT.pdf", "Reports 2024": "/Work/Reports 2024",
                     "report-draft.txt": "/report-draft.txt"}
    assert resp.json()["meta"]["count"] == 3
    assert names(find(cozy, selector={"name": {"$regex": "(?i)report"}, "type": "file"}, sort=[{"name": "asc"}])) == [
        "Annual REPORT.pdf", "report-draft.txt"]
    assert names(find(cozy, selector={"name": {"$regex": "report"}})) == ["report-draft.txt"]  # case kept
    assert names(find(cozy, selector={"name": {"$regex": "(?i)report"}, "trashed": True})) == ["old report.txt"]
    assert names(find(cozy, selector={"name": {"$regex": r"(?i)draft\.txt"}})) == ["report-draft.txt"]
    assert names(find(cozy, selector={"name": "notes.txt"})) == ["notes.txt"]


def test_recent_files_newest_first(cozy):
    for name in ("one.txt", "two.txt", "three.txt"):
        cozy.upload(name, b"-")
    cozy.mkdir("a folder")
    resp = find(cozy, selector={"type": "file"}, sort=[{"updated_at": "desc"}], limit=2)
    assert names(resp) == ["three.txt", "two.txt"] and resp.json()["meta"]["count"] == 3


def test_a_regex_is_never_run(cozy):
    cozy.upload("report.txt", b"y")
    resp = find(cozy, selector={"name": {"$regex": "(?i)re.*port"}})
    assert resp.status_code == 400 and "literal" in resp.json()["errors"][0]["detail"]
