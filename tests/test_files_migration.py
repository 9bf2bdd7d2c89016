"""Migration 0002 on an index that already has rows: each joins the change feed and
gets its class; the instance's counter starts past them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def migrate_to(target: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


def test_existing_rows_join_the_feed():
    old = migrate_to([("files", "0001_initial")])
    user = old.get_model("auth", "User").objects.create(username="legacy")
    instance = old.get_model("instances", "Instance").objects.create(domain="legacy.localhost", owner=user,
                                                                      db_prefix="ilegacy")
    node_model = old.get_model("files", "Node")
    root = node_model.objects.create(instance=instance, doc_id="io.cozy.files.root-dir", type="directory", name="")
    photo = node_model.objects.create(instance=instance, type="file", name="a.jpg", parent=root, mime="image/jpeg")
    try:
        new = migrate_to([("files", "0002_client_routes")])
        nodes = new.get_model("files", "Node").objects.order_by("pk")
        assert [n.seq for n in nodes] == [root.pk, photo.pk]
        assert nodes.get(pk=photo.pk).mime_class == "image"
        assert new.get_model("files", "Sequence").objects.get(instance_id=instance.pk).last == photo.pk
    finally:
        migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
