"""schemathesis against /api/openapi.json, as ``schemathesis run --checks all`` runs it:
every check it has, every phase (examples, coverage, fuzzing, stateful), positive and
negative data, through its own engine, over HTTP to the app under gunicorn. Seeded,
derandomized and bounded so that a CI run is the same run every time, in well under
two minutes."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import schemathesis
from schemathesis.config import HealthCheck, SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder

from tests.cozyclient import ROOT, make_instance, md5_b64

pytestmark = pytest.mark.django_db(transaction=True)
SEED = 19
MAX_EXAMPLES = 5  # per operation, phase and mode


def fuzz_config(base_url: str, token: str) -> SchemathesisConfig:
    # The Mango query's schema is recursive: the coverage phase (every boundary of every
    # part) would not end; fuzzing draws its queries instead.
    config = SchemathesisConfig.from_dict({"seed": SEED, "operations": [
        {"include-path": "/files/_find", "phases": {"coverage": {"enabled": False}}}]})
    project = config.projects.default
    project.update(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, workers=1,
                   suppress_health_check=[HealthCheck.all], request_timeout=30)
    # NUL in generated text too: the document's patterns exclude it and the server refuses it
    # (a 400 on every database, cozy.files.parser), which the negative mode checks.
    project.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES, deterministic=True,
                              database="none", allow_x00=True)
    project.checks.update(included_check_names=["all"])
    project.phases.update(phases=["examples", "coverage", "fuzzing", "stateful"])
    return config


KNOWN: set[tuple[str, str, str]] = set()  # (check, method, path) failures tolerated: none


def _failed(recorder: ScenarioRecorder) -> list[str]:
    lines = []
    for case_id, checks in recorder.checks.items():
        interaction = recorder.interactions.get(case_id)
        method, uri = (interaction.request.method, interaction.request.uri) if interaction else ("?", "?")
        response = interaction.response if interaction else None
        got = f"{response.status_code} {response.content[:160]!r}" if response else "-"
        for check in checks:
            if check.failure_info is None or (check.name, method, urlsplit(uri).path) in KNOWN:
                continue
            failure = check.failure_info.failure
            message = failure.message.replace("\n", " | ")[:240]
            lines.append(f"{recorder.label} [{check.name}] {failure.title}: {message} <- {method} {uri[:200]} -> {got}")
    return lines


def _holds_nul(request) -> bool:
    return "%00" in request.uri or b"\\u0000" in (request.body or b"")


def failures_of(stream: events.EventGenerator) -> tuple[list[str], int, int]:
    """One line per failed check (operation, check, message, the request, its status), the
    number of requests sent, and of those with a NUL in their URL or JSON body."""
    found: dict[str, None] = {}
    sent = with_nul = 0
    started = time.time()
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            sent += len(event.recorder.interactions)
            with_nul += sum(_holds_nul(i.request) for i in event.recorder.interactions.values())
            found.update(dict.fromkeys(_failed(event.recorder)))
        elif isinstance(event, events.NonFatalError):
            found[f"{event.label} [error] {event.info.title}: {str(event.value)[:300]}"] = None
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.PhaseFinished):
            print(f"{event.phase.name}: {event.status} at {event.timestamp - started:.1f}s")  # shown on failure
        elif isinstance(event, events.EngineFinished):
            found.update(dict.fromkeys(f"[after run] {f.title}: {f.message[:300]}" for f in event.failures))
    return list(found), sent, with_nul


def test_every_check_passes(http_server):
    # schemathesis sends Host: 127.0.0.1:<port>; the instance answers with or without the port
    _, token = make_instance("127.0.0.1", "fuzzer")
    auth = {"Authorization": f"Bearer {token}"}
    status, _, _ = http_server.request("POST", f"/files/{ROOT}?Type=file&Name=seed.txt", host="127.0.0.1",
                                       body=b"seed", headers={**auth, "Content-MD5": md5_b64(b"seed")})
    assert status == 201
    base = f"http://127.0.0.1:{http_server.port}"
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json", config=fuzz_config(base, token))
    assert len(list(schema.get_all_operations())) >= 31
    failures, sent, with_nul = failures_of(from_schema(schema).execute())
    print(f"{sent} requests, {with_nul} with a NUL")  # shown with -s
    assert not failures, "\n".join([f"{len(failures)} failures:", *failures])
    assert sent > 1000, sent  # the run really ran
    assert with_nul > 20, with_nul  # and sent NUL in text (all refused, as the document says)
