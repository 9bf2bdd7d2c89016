"""The upload's raw statements (cozy/files/index_sql.py) against the ORM queries they replaced:
same rows, same values through the converters, scoped to the instance, on either database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Sum
from django.db.transaction import TransactionManagementError

from cozy.files import index_sql
from cozy.files.models import ROOT_ID, TRASH_ID, Node, Version
from cozy.files.tree import ensure_root_and_trash
from cozy.instances.models import Instance

pytestmark = pytest.mark.django_db(transaction=True)


def _instance(domain: str) -> Instance:
    owner, _ = get_user_model().objects.get_or_create(username=domain.split(".")[0])
    instance = Instance.objects.create(domain=domain, owner=owner)
    ensure_root_and_trash(instance)
    return instance


def _values(node: Node) -> dict:
    return {f.attname: getattr(node, f.attname) for f in Node._meta.concrete_fields}


def _orm_with_parent(instance: Instance, doc_id: str) -> Node | None:
    return Node.objects.filter(instance=instance, doc_id=doc_id).select_related("parent").first()


@pytest.fixture
def two():
    return _instance("ann.localhost"), _instance("bob.localhost")


def test_a_node_comes_back_as_the_orm_makes_it(two):
    ann, _ = two
    root = Node.objects.get(instance=ann, doc_id=ROOT_ID)
    when = dt.datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    node = Node(instance=ann, type=Node.Type.FILE, name="é naïve.txt", parent=root, trashed=True, executable=True,
                restore_path="/x/y", created_at=when, updated_at=when, size=2**40, md5="ab" * 16, mime="text/plain",
                content_id="c1", tags=["a", "ü"], cozy_metadata={"n": 1, "nested": {"b": [True, None, 1.5]}},
                metadata={"datetime": "2021-03-04T05:06:07Z"})
    node.save(force_insert=True)
    raw, orm = index_sql.node_with_parent(ann.pk, node.doc_id), _orm_with_parent(ann, node.doc_id)
    assert raw is not None and orm is not None
    assert _values(raw) == _values(orm)
    assert raw.created_at == when and raw.created_at.utcoffset() is not None
    assert raw.trashed is True and raw.executable is True and raw.tags == ["a", "ü"]
    assert raw.cozy_metadata == {"n": 1, "nested": {"b": [True, None, 1.5]}}
    assert _values(raw.parent) == _values(orm.parent)
    assert not raw._state.adding and raw._state.db == orm._state.db


def test_the_root_has_no_parent_and_costs_no_query_for_it(two, django_assert_num_queries):
    ann, _ = two
    root = index_sql.node_with_parent(ann.pk, ROOT_ID)
    with django_assert_num_queries(0):
        assert root.parent is None


def test_lookups_of_the_same_doc_id_stay_in_their_instance(two):
    ann, bob = two
    for instance in two:
        node = index_sql.node_with_parent(instance.pk, TRASH_ID)
        assert node.instance_id == instance.pk and node.parent.instance_id == instance.pk
    ann_root = Node.objects.get(instance=ann, doc_id=ROOT_ID)
    Node(instance=ann, type=Node.Type.FILE, name="only-ann.txt", parent=ann_root).save(force_insert=True)
    ann_dir, ann_clash = index_sql.node_and_clash(ann.pk, ROOT_ID, "only-ann.txt")
    bob_dir, bob_clash = index_sql.node_and_clash(bob.pk, ROOT_ID, "only-ann.txt")
    assert (ann_dir.instance_id, ann_clash) == (ann.pk, True)
    assert (bob_dir.instance_id, bob_clash) == (bob.pk, False)
    secret = Node.objects.get(instance=ann, name="only-ann.txt")
    assert index_sql.node_with_parent(bob.pk, secret.doc_id) is None
    assert index_sql.node_and_clash(bob.pk, secret.doc_id, "x") is None


def test_the_name_clash_is_the_unique_constraints_exact_match(two):
    ann, _ = two
    root = Node.objects.get(instance=ann, doc_id=ROOT_ID)
    Node(instance=ann, type=Node.Type.FILE, name="Case.txt", parent=root, trashed=True).save(force_insert=True)
    for name, taken in [("Case.txt", True), ("case.txt", False), ("CASE.TXT", False), ("Case.txt ", False),
                        ("Case%", False), ("Case_txt", False)]:
        assert index_sql.node_and_clash(ann.pk, ROOT_ID, name)[1] is taken, name
        assert Node.objects.filter(parent=root, name=name).exists() is taken, name
    Node(instance=ann, type=Node.Type.FILE, name="case.txt", parent=root).save(force_insert=True)  # the DB agrees


def test_used_bytes_count_files_and_versions_of_the_instance_only(two):
    ann, bob = two
    for instance, sizes in ((ann, (5, 7)), (bob, (11,))):
        root = Node.objects.get(instance=instance, doc_id=ROOT_ID)
        for i, size in enumerate(sizes):
            node = Node(instance=instance, type=Node.Type.FILE, name=f"f{i}", parent=root, size=size, trashed=i == 1)
            node.save(force_insert=True)
            Version.objects.create(file=node, content_id=f"{instance.pk}-{i}", size=size * 100, md5="0" * 32,
                                   created_at=node.created_at)
    Node.objects.filter(instance=ann, doc_id=ROOT_ID).update(size=10**6)  # a directory's size is no content
    orm = (Node.objects.filter(instance=ann, type=Node.Type.FILE).aggregate(s=Sum("size"))["s"]
           + Version.objects.filter(file__instance=ann).aggregate(s=Sum("size"))["s"])
    assert index_sql.used_bytes(ann.pk) == orm == 5 + 7 + 500 + 700
    assert index_sql.used_bytes(bob.pk) == 11 + 1100
    assert index_sql.used_bytes(10**9) == 0  # no such instance
    assert isinstance(index_sql.used_bytes(ann.pk), int)


def test_the_state_is_read_under_the_lock_only_in_a_transaction(two):
    ann, _ = two
    Instance.objects.filter(pk=ann.pk).update(state=Instance.State.DELETING)
    with transaction.atomic():
        assert index_sql.locked_state(ann.pk) == Instance.State.DELETING
        assert index_sql.locked_state(10**9) is None
    if connection.features.has_select_for_update:
        with pytest.raises(TransactionManagementError):
            index_sql.locked_state(ann.pk)
