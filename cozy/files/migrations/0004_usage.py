# The per-instance byte counters of the quota (files.Usage), and the triggers that keep them.
# Triggers, not application code: every way a node or a version changes (save, bulk delete,
# cascade, raw SQL, an import) goes through them, in the same transaction as the change.

from django.db import migrations, models

# A node counts its size when it is a file; a version always does. Written once per vendor:
# SQLite has row triggers only; PostgreSQL gets statement triggers over transition tables,
# so that a delete of 100,000 nodes writes the counter once, not 100,000 times.

_SQLITE_UPSERT = ("INSERT INTO files_usage (instance_id, files, versions) {rows} "
                  "ON CONFLICT (instance_id) DO UPDATE SET files = files + excluded.files, "
                  "versions = versions + excluded.versions;")
_NODE_BYTES = "CASE WHEN {r}.type = 'file' THEN {r}.size ELSE 0 END"


def _sqlite_node(row: str, sign: str) -> str:
    return _SQLITE_UPSERT.format(rows=f"VALUES ({row}.instance_id, {sign}({_NODE_BYTES.format(r=row)}), 0)")


def _sqlite_version(row: str, sign: str) -> str:
    # the node is there: Django deletes a file's versions before the file
    return _SQLITE_UPSERT.format(rows=f"SELECT n.instance_id, 0, {sign}{row}.size FROM files_node n "
                                      f"WHERE n.id = {row}.file_id")


SQLITE = [
    "CREATE TRIGGER files_usage_node_insert AFTER INSERT ON files_node "
    f"WHEN NEW.type = 'file' AND NEW.size != 0 BEGIN {_sqlite_node('NEW', '')} END",
    "CREATE TRIGGER files_usage_node_delete AFTER DELETE ON files_node "
    f"WHEN OLD.type = 'file' AND OLD.size != 0 BEGIN {_sqlite_node('OLD', '-')} END",
    "CREATE TRIGGER files_usage_node_update AFTER UPDATE OF size, type, instance_id ON files_node "
    "WHEN OLD.size != NEW.size OR OLD.type != NEW.type OR OLD.instance_id != NEW.instance_id "
    f"BEGIN {_sqlite_node('OLD', '-')} {_sqlite_node('NEW', '')} END",
    "CREATE TRIGGER files_usage_version_insert AFTER INSERT ON files_version "
    f"BEGIN {_sqlite_version('NEW', '')} END",
    "CREATE TRIGGER files_usage_version_delete AFTER DELETE ON files_version "
    f"BEGIN {_sqlite_version('OLD', '-')} END",
    "CREATE TRIGGER files_usage_version_update AFTER UPDATE OF size, file_id ON files_version "
    "WHEN OLD.size != NEW.size OR OLD.file_id != NEW.file_id "
    f"BEGIN {_sqlite_version('OLD', '-')} {_sqlite_version('NEW', '')} END",
]

# One function a table: each branch reads only the transition tables its event has.
_PG_UPSERT = ("INSERT INTO files_usage AS u (instance_id, files, versions) "
              "SELECT instance_id, SUM(files)::bigint, SUM(versions)::bigint FROM ({rows}) d "
              "GROUP BY instance_id HAVING SUM(files) <> 0 OR SUM(versions) <> 0 "
              "ON CONFLICT (instance_id) DO UPDATE SET files = u.files + excluded.files, "
              "versions = u.versions + excluded.versions;")
_PG_NODES = "SELECT instance_id, {sign}size AS files, 0 AS versions FROM {table} WHERE type = 'file'"
_PG_VERSIONS = ("SELECT n.instance_id, 0 AS files, {sign}v.size AS versions FROM {table} v "
                "JOIN files_node n ON n.id = v.file_id")


def _pg_function(name: str, part: str) -> str:
    new, old = part.format(sign="", table="new_rows"), part.format(sign="-", table="old_rows")
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN {_PG_UPSERT.format(rows=new)}
  ELSIF TG_OP = 'DELETE' THEN {_PG_UPSERT.format(rows=old)}
  ELSE {_PG_UPSERT.format(rows=f"{new} UNION ALL {old}")}
  END IF;
  RETURN NULL;
END $$"""


def _pg_triggers(kind: str, function: str) -> list[str]:
    tables = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
              "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    return [f"CREATE TRIGGER files_usage_{kind}_{event.lower()} AFTER {event} ON files_{kind} REFERENCING {refs} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()" for event, refs in tables.items()]


POSTGRESQL = [
    _pg_function("files_usage_nodes", _PG_NODES), *_pg_triggers("node", "files_usage_nodes"),
    _pg_function("files_usage_versions", _PG_VERSIONS), *_pg_triggers("version", "files_usage_versions"),
    """CREATE OR REPLACE FUNCTION files_usage_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM files_usage WHERE instance_id = COALESCE(NEW.id, OLD.id);
  RETURN NULL;
END $$""",
]

# A new instance starts from no row (a stale one, of an id used before, is dropped), and a
# deleted one leaves none.
INSTANCES = {
    "sqlite": [f"CREATE TRIGGER files_usage_instance_{event.lower()} AFTER {event} ON instances_instance "
               f"BEGIN DELETE FROM files_usage WHERE instance_id = {row}.id; END"
               for event, row in (("INSERT", "NEW"), ("DELETE", "OLD"))],
    "postgresql": [f"CREATE TRIGGER files_usage_instance_{event.lower()} AFTER {event} ON instances_instance "
                   "FOR EACH ROW EXECUTE FUNCTION files_usage_instance()" for event in ("INSERT", "DELETE")],
}

BACKFILL = """INSERT INTO files_usage (instance_id, files, versions)
SELECT i.id,
  COALESCE((SELECT SUM(n.size) FROM files_node n WHERE n.instance_id = i.id AND n.type = 'file'), 0),
  COALESCE((SELECT SUM(v.size) FROM files_version v JOIN files_node n ON n.id = v.file_id
            WHERE n.instance_id = i.id), 0)
FROM instances_instance i"""


def create_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(vendor)
    if statements is None:
        raise RuntimeError(f"no usage triggers for the {vendor} database")
    for sql in [*statements, *INSTANCES[vendor], BACKFILL]:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    for kind, table in (("node", "files_node"), ("version", "files_version"), ("instance", "instances_instance")):
        for event in ("insert", "delete", "update"):
            on = f" ON {table}" if postgresql else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS files_usage_{kind}_{event}{on}")
    if postgresql:
        for function in ("files_usage_nodes", "files_usage_versions", "files_usage_instance"):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


class Migration(migrations.Migration):

    dependencies = [
        ('files', '0003_partial_indexes'),
        ('instances', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Usage',
            fields=[
                ('instance_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('files', models.BigIntegerField(default=0)),
                ('versions', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
