"""schemathesis against /api/openapi.json: every check it has (as ``--checks all``) finds nothing."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup

from cozy.wsgi import application
from tests.cozyclient import Cozy, doc_id, make_instance

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_check_passes(fs_url, s3_client):
    from django.test import Client

    # schemathesis' WSGI client sends Host: localhost
    instance, token = make_instance("localhost", "fuzzer")
    seeded = Cozy(instance, token, Client())
    file_id = doc_id(seeded.upload("seed.txt", b"seed"))
    seeded.put(file_id, b"seed v2")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    load_all_checks()
    checks = CHECKS.get_all()  # status codes, content types, schemas, negative and positive data, auth...
    assert len(checks) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            try:
                case.call_and_validate(headers=headers, checks=checks)
            except FailureGroup as failure:  # one group naming every failed check
                failures.append(f"{case.method} {case.formatted_path}: {str(failure)[:300]}")

        run()
    assert failures == []
    # the seeded file is still there and intact unless a generated request legitimately changed it
    assert seeded.get(f"/files/{file_id}").status_code in (200, 404)
