"""Mango selectors on files, translated to SQL: every operator, options and refusals.

Only the database is involved (no content is read), so nodes are made directly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cozy.files import mango
from cozy.files.errors import BadRequest
from cozy.files.models import Node
from cozy.files.tree import ensure_root_and_trash
from cozy.instances.models import Instance, Token

pytestmark = pytest.mark.django_db


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


@pytest.fixture
def tree():
    user = get_user_model().objects.create(username="mango")
    instance = Instance.objects.create(domain="mango.localhost", owner=user)
    root, _ = ensure_root_and_trash(instance)

    def add(name, parent=root, kind="file", **fields):
        return Node.objects.create(instance=instance, type=kind, name=name, parent=parent, **fields)

    photos = add("photos", kind="directory", created_at=day(1), updated_at=day(1))
    add("cat.jpg", photos, mime="image/jpeg", size=300, tags=["pets", "cats"], created_at=day(2), updated_at=day(5),
        cozy_metadata={"createdByApp": "photos"}, metadata={"datetime": "2023-05-01T00:00:00Z"})
    add("dog.png", photos, mime="image/png", size=200, tags=["pets"], created_at=day(3), updated_at=day(4),
        metadata={"datetime": "2022-05-01T00:00:00Z"})
    add("notes.txt", mime="text/plain", size=10, created_at=day(4), updated_at=day(3), executable=True)
    add("old.pdf", mime="application/pdf", size=5000, trashed=True, created_at=day(5), updated_at=day(2),
        restore_path="/")
    _, token = Token.issue(instance)
    return instance, photos, token


def names(instance, selector) -> set[str]:
    q = mango.selector_q(selector)
    return set(Node.objects.filter(instance=instance).filter(q).values_list("name", flat=True))


FILES = {"cat.jpg", "dog.png", "notes.txt", "old.pdf"}


@pytest.mark.parametrize("selector,expected", [
    ({"type": "file"}, FILES),
    ({"type": {"$eq": "directory"}, "name": {"$ne": ""}}, {"photos", ".cozy_trash"}),
    ({"class": "image"}, {"cat.jpg", "dog.png"}),
    ({"mime": {"$in": ["text/plain", "application/pdf"]}}, {"notes.txt", "old.pdf"}),
    ({"type": "file", "mime": {"$nin": ["text/plain", "application/pdf"]}}, {"cat.jpg", "dog.png"}),
    ({"size": {"$gt": 200}}, {"cat.jpg", "old.pdf"}),
    ({"size": {"$gte": "200"}}, {"cat.jpg", "dog.png", "old.pdf"}),
    ({"size": {"$lt": 200}}, {"notes.txt"}),
    ({"size": {"$lte": 200, "$gt": 10}}, {"dog.png"}),
    ({"created_at": {"$gte": "2024-01-04T00:00:00Z", "$lt": "2025-01-01T00:00:00"}}, {"notes.txt", "old.pdf"}),
    ({"updated_at": {"$lt": "2024-01-03T00:00:00Z"}, "type": "file"}, {"old.pdf"}),
    ({"trashed": True}, {"old.pdf"}),
    ({"trashed": False, "type": "file"}, {"cat.jpg", "dog.png", "notes.txt"}),
    ({"size": {"$exists": True}}, FILES),
    ({"size": {"$exists": False}, "name": {"$gt": None}}, {"", "photos", ".cozy_trash"}),
    ({"restore_path": {"$exists": True}}, {"old.pdf"}),
    ({"$or": [{"name": "cat.jpg"}, {"size": {"$gt": 1000}}]}, {"cat.jpg", "old.pdf"}),
    ({"$and": [{"class": "image"}, {"size": {"$lt": 250}}]}, {"dog.png"}),
    ({"$nor": [{"type": "directory"}, {"trashed": True}]}, {"cat.jpg", "dog.png", "notes.txt"}),
    ({"type": "file", "$not": {"class": "image"}}, {"notes.txt", "old.pdf"}),
    ({"name": {"$gt": "d", "$lt": "o"}}, {"dog.png", "notes.txt"}),
    ({"tags": {"$all": ["pets", "cats"]}}, {"cat.jpg"}),
    ({"tags": {"$elemMatch": {"$eq": "pets"}}}, {"cat.jpg", "dog.png"}),
    ({"tags": {"$elemMatch": {"$in": ["cats", "none"]}}}, {"cat.jpg"}),
    ({"tags": {"$size": 1}}, {"dog.png"}),
    ({"executable": True}, {"notes.txt"}),
    ({"cozyMetadata.createdByApp": "photos"}, {"cat.jpg"}),
    ({"cozyMetadata.createdByApp": {"$exists": True}}, {"cat.jpg"}),
    ({"metadata.datetime": {"$gt": "2023-01-01"}}, {"cat.jpg"}),
    ({"path": "/photos/dog.png"}, {"dog.png"}),
    ({"path": {"$in": ["/photos", "/notes.txt"]}}, {"photos", "notes.txt"}),
    ({"path": "/"}, {""}),
    ({"name": {"$regex": "(?i)CAT"}}, {"cat.jpg"}),
    ({"name": {"$regex": "\\.jpg"}}, {"cat.jpg"}),
    ({"name": {"$regex": "(?i)o"}, "type": "file"}, {"dog.png", "notes.txt", "old.pdf"}),
    ({"_id": {"$ne": "io.cozy.files.trash-dir"}, "type": "directory"}, {"", "photos"}),
])
def test_operator(tree, selector, expected):
    instance, _, _ = tree
    assert names(instance, selector) == expected


@pytest.mark.parametrize("scoped", [False, True])
def test_dir_id(tree, scoped):
    instance, photos, _ = tree

    def found(selector):
        q = mango.selector_q(selector, scope=instance.pk if scoped else None)
        return set(Node.objects.filter(instance=instance).filter(q).values_list("name", flat=True))

    assert found({"dir_id": photos.doc_id}) == {"cat.jpg", "dog.png"}
    assert found({"dir_id": {"$in": [photos.doc_id, "nope"]}, "type": "file"}) == {"cat.jpg", "dog.png"}
    assert found({"dir_id": {"$ne": photos.doc_id}, "type": "file"}) == {"notes.txt", "old.pdf"}
    assert found({"dir_id": "nope"}) == set()


@pytest.mark.parametrize("body,fragment", [
    ({"selector": {"name": {"$regex": "^c"}}}, "$regex"),
    ({"selector": {"name": {"$regex": "(?i)a.b"}}}, "literal"),
    ({"selector": {"size": {"$regex": "1"}}}, "$regex"),
    ({"selector": {"secret_field": 1}}, "secret_field"),
    ({"selector": {"$where": "1"}}, "$where"),
    ({"selector": {"size": {"$gt": "big"}}}, "number"),
    ({"selector": {"trashed": "yes"}}, "true or false"),
    ({"selector": {"created_at": {"$gt": "last week"}}}, "RFC 3339"),
    ({"selector": {"mime": {"$in": "text/plain"}}}, "array"),
    ({"selector": {"path": {"$gt": "/a"}}}, "path"),
    ({"selector": {}, "sort": [{"name": "up"}]}, "asc"),
    ({"selector": {}, "sort": ["secret_field"]}, "secret_field"),
    ({"selector": {}, "limit": -1}, "limit"),
    ({"selector": {}, "bookmark": "forged"}, "bookmark"),
    ({"selector": {}, "group": 1}, "group"),
    ({"selector": []}, "object"),
    ({"selector": {"size": {"$gt": 10**30}}}, "range"),
    ({"selector": {"metadata.n": {"$gt": 10**30}}}, "range"),
    ({"selector": {"name": {"$in": ["x"] * 1001}}}, "at most"),
    ({"selector": {"name": {"$elemMatch": {"$eq": "x"}}}}, "$elemMatch"),
    ({"selector": {"tags": {"$gt": "x"}}}, "tags"),
    ({"selector": {"$or": [{"$or": [{"$or": [{"$not": {"$not": {"$and": [{"name": "x"}] * 2}}}]}]}] * 2}},
     None),
])
def test_refused(body, fragment):
    if fragment is None:  # nested, but within bounds
        mango.parse(body)
        return
    with pytest.raises(BadRequest) as err:
        mango.parse(body)
    assert fragment in err.value.detail


def test_nesting_is_bounded():
    selector: dict = {"name": "x"}
    for _ in range(40):
        selector = {"$or": [selector]}
    with pytest.raises(BadRequest, match="nest"):
        mango.parse({"selector": selector})


def test_sort_limit_skip_bookmark(tree):
    instance, _, _ = tree

    def run(body):
        query = mango.parse(body)
        qs = Node.objects.filter(instance=instance).filter(query.where).order_by(*query.order)
        return [n.name for n in qs[query.skip: query.skip + query.limit]]

    sel = {"type": "file"}
    assert run({"selector": sel, "sort": [{"size": "desc"}]}) == ["old.pdf", "cat.jpg", "dog.png", "notes.txt"]
    assert run({"selector": sel, "sort": ["name"], "limit": 2, "skip": 1}) == ["dog.png", "notes.txt"]
    assert run({"selector": sel, "sort": ["name"], "limit": 2.0, "skip": 1.0}) == ["dog.png", "notes.txt"]
    for bad in (1.5, -1, True, "1"):
        with pytest.raises(BadRequest, match="skip must be an integer from 0"):
            mango.parse({"selector": sel, "skip": bad})
    assert run({"selector": sel, "sort": [{"updated_at": "asc"}]}) == ["old.pdf", "notes.txt", "dog.png", "cat.jpg"]
    bookmark = mango.encode_bookmark(3)
    assert run({"selector": sel, "sort": ["name"], "bookmark": bookmark}) == ["old.pdf"]
    got = run({"selector": {"class": "image"}, "sort": [{"metadata.datetime": "desc"}]})
    assert got == ["cat.jpg", "dog.png"]


def test_translation_is_one_sql_query(tree):
    instance, _, _ = tree
    query = mango.parse({"selector": {"$or": [{"class": "image"}, {"tags": {"$all": ["pets"]}}],
                                      "path": "/photos/cat.jpg"}, "sort": [{"name": "asc"}]})
    with CaptureQueriesContext(connection) as ctx:
        found = list(Node.objects.filter(instance=instance).filter(query.where).order_by(*query.order))
    assert [n.name for n in found] == ["cat.jpg"]
    assert len(ctx.captured_queries) == 1


@pytest.mark.parametrize("selector,index", [
    ({"trashed": True, "type": "file"}, "node_trashed"),
    ({"trashed": True}, "node_trashed"),
    ({"tags": {"$all": ["pets"]}}, "node_tagged"),
    ({"tags": {"$elemMatch": {"$in": ["cats", "none"]}}}, "node_tagged"),
])
def test_trashed_and_tags_are_index_lookups(tree, selector, index):
    """A few rows of an instance, found in their partial index (a scan of every row before)."""
    instance, _, _ = tree
    query = mango.parse({"selector": selector})
    qs = Node.objects.filter(instance=instance).filter(query.where).order_by(*query.order)
    if connection.vendor == "postgresql":  # a five-row table: the planner would rightly scan it
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    assert index in qs.explain(), qs.explain()
    assert index in qs.order_by().explain()  # the COUNT(*) for meta.count as well


def test_untrashed_queries_keep_their_own_indexes(tree):
    """node_trashed holds trashed rows only: a query on trashed=false cannot be lured into it."""
    instance, _, _ = tree
    query = mango.parse({"selector": {"class": "image", "trashed": False}, "sort": [{"created_at": "desc"}]})
    plan = Node.objects.filter(instance=instance).filter(query.where).order_by(*query.order).explain()
    assert "node_trashed" not in plan and "node_tagged" not in plan


def test_find_route(tree):
    instance, photos, token = tree
    client = Client(HTTP_HOST=instance.domain, HTTP_AUTHORIZATION=f"Bearer {token}")

    def find(body):
        return client.post("/files/_find", data=json.dumps(body), content_type="application/json")

    resp = find({"selector": {"dir_id": photos.doc_id, "type": "file"}, "sort": [{"name": "asc"}],
                 "limit": 1, "fields": ["name", "size"]})
    assert resp.status_code == 200, resp.content
    doc = resp.json()
    assert doc["meta"]["count"] == 2
    assert [d["attributes"] for d in doc["data"]] == [{"name": "cat.jpg", "size": "300"}]
    assert doc["data"][0]["meta"]["rev"]
    resp = find({"selector": {"dir_id": photos.doc_id, "type": "file"}, "sort": [{"name": "asc"}],
                 "bookmark": doc["bookmark"]})
    assert [d["attributes"]["name"] for d in resp.json()["data"]] == ["dog.png"]
    assert "next" not in resp.json()["links"]
    # root ids are the same in every instance: dir_id names this instance's root only
    other = Instance.objects.create(domain="other.localhost", owner=instance.owner)
    other_root, _ = ensure_root_and_trash(other)
    Node.objects.create(instance=other, type="file", name="theirs.txt", parent=other_root)
    resp = find({"selector": {"dir_id": {"$in": [other_root.doc_id]}}, "limit": 1000})
    listed = {d["attributes"]["name"] for d in resp.json()["data"]}
    assert "theirs.txt" not in listed and {"photos", "notes.txt"} <= listed
    resp = find({"selector": {"name": {"$regex": "x["}}})
    assert resp.status_code == 400
    assert "$regex" in resp.json()["errors"][0]["detail"]
    assert client.post("/files/_find", data="not json", content_type="application/json").status_code == 400


def test_all_docs_and_normal_docs(tree):
    instance, photos, token = tree
    client = Client(HTTP_HOST=instance.domain, HTTP_AUTHORIZATION=f"Bearer {token}")
    resp = client.post("/files/_all_docs?include_docs=true", data=json.dumps({"keys": [photos.doc_id, "nope"]}),
                       content_type="application/json")
    assert [d["id"] for d in resp.json()["data"]] == [photos.doc_id]
    resp = client.get("/data/io.cozy.files/_normal_docs?limit=4")
    doc = resp.json()
    assert doc["total_rows"] == 7 and len(doc["rows"]) == 4 and doc["bookmark"]
    assert {"_id", "_rev", "name", "path"} <= set(doc["rows"][0])
    rest = client.get(f"/data/io.cozy.files/_normal_docs?limit=4&bookmark={doc['bookmark']}").json()["rows"]
    assert len(rest) == 3 and {r["_id"] for r in rest}.isdisjoint(r["_id"] for r in doc["rows"])
    resp = client.get(f'/data/io.cozy.files/_all_docs?include_docs=true&keys=["{photos.doc_id}"]')
    assert resp.json()["rows"][0]["doc"]["name"] == "photos"


def test_paths_one_query_per_new_directory_and_no_loop_on_a_cycle(tree):
    from cozy.files.jsonapi import node_path

    instance, photos, _ = tree
    deep = Node.objects.create(instance=instance, type="directory", name="deep", parent=photos)
    leaf = Node.objects.create(instance=instance, type="file", name="leaf.txt", parent=deep)
    paths: dict[int, str] = {}
    leaf = Node.objects.select_related("parent").get(pk=leaf.pk)
    assert node_path(leaf, paths) == "/photos/deep/leaf.txt"
    cat = Node.objects.select_related("parent").get(name="cat.jpg")
    with CaptureQueriesContext(connection) as ctx:
        assert node_path(cat, paths) == "/photos/cat.jpg"
    assert len(ctx.captured_queries) == 0  # photos is cached
    # a damaged index: a cycle between two directories ends the walk
    a = Node.objects.create(instance=instance, type="directory", name="a", parent=photos)
    b = Node.objects.create(instance=instance, type="directory", name="b", parent=a)
    Node.objects.filter(pk=a.pk).update(parent=b)
    inside = Node.objects.create(instance=instance, type="file", name="x", parent=b)
    assert node_path(Node.objects.select_related("parent").get(pk=inside.pk), {}).endswith("/b/x")
