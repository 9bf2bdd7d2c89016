"""The Drive UI of an instance being deleted answers 410 on every page, before any login."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from cozy.instances.models import Instance
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"
HOST = "leaving.localhost"


@pytest.fixture
def leaving(fs_url, s3_client) -> Instance:
    instance, _ = make_instance(HOST, "lea")
    owner = instance.owner
    owner.set_password(PASSWORD)
    owner.save()
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.DELETING)
    return instance


def test_login_page_of_deleting_instance_is_410(leaving):
    resp = Client().get("/auth/login", HTTP_HOST=HOST)
    assert resp.status_code == 410, resp.status_code


def test_owner_can_still_log_in_to_deleting_instance(leaving):
    client = Client()
    resp = client.post("/auth/login", {"username": "lea", "password": PASSWORD}, HTTP_HOST=HOST)
    assert resp.status_code == 410, (resp.status_code, resp.get("Location"))
    assert "_auth_user_id" not in client.session


def test_anonymous_drive_and_home_of_deleting_instance_are_410(leaving):
    client = Client()
    assert client.get("/drive/", HTTP_HOST=HOST).status_code == 410
    assert client.get("/", HTTP_HOST=HOST).status_code == 410


def test_other_user_on_deleting_instance_gets_410(leaving):
    client = Client()
    client.force_login(get_user_model().objects.create(username="stranger"))
    assert client.get("/drive/", HTTP_HOST=HOST).status_code == 410
