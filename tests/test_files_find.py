"""POST /files/_find: the Mango subset the Drive's search and Recent view use."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.cozyclient import Cozy, doc_id, make_instance
from tests.test_files_api import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("find.localhost", "finn")
    return Cozy(instance, token, Client())


def find(cozy: Cozy, **query):
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
    resp = find(cozy, selector={"name": {"$regex": "(?i)report"}})
    assert names(resp) == ["Annual REPORT.pdf", "Reports 2024", "report-draft.txt"]
    found = {r["attributes"]["name"]: r["meta"]["dir_path"] for r in resp.json()["data"]}
    assert found == {"Annual REPORT.pdf": "/Work/Reports 2024", "Reports 2024": "/Work", "report-draft.txt": "/"}
    assert resp.json()["meta"]["count"] == 3
    assert names(find(cozy, selector={"name": {"$regex": "(?i)report"}, "type": "file"})) == [
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


@pytest.mark.parametrize("query", [
    {"selector": {"name": {"$regex": "(?i)re.*port"}}},  # a real regex is never run
    {"selector": {"name": {"$regex": ""}}},
    {"selector": {"size": {"$gt": 3}}},
    {"selector": {"type": "link"}},
    {"selector": {"trashed": "yes"}},
    {"sort": [{"size": "desc"}]},
    {"limit": 1000},
    {"fields": ["name"]},
])
def test_what_is_not_supported_is_a_400(cozy, query):
    assert_error(find(cozy, **query), 400, cozy)
