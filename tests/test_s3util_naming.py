import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3util.naming import RESERVED_KINDS, bucket_name, system_bucket

VALID = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def assert_valid(name: str) -> None:
    assert VALID.match(name), name
    assert "--" not in name or True  # double hyphens are legal S3 names
    try:
        ipaddress.ip_address(name)
        raise AssertionError(f"{name} looks like an IP address")
    except ValueError:
        pass


def test_org_and_default():
    assert bucket_name("cozy", "acme") == "cozy-acme"
    assert bucket_name("cozy", None) == "cozy-default"
    assert bucket_name("cozy", "") == "cozy-default"


def test_system_buckets():
    assert [system_bucket("cozy", k) for k in RESERVED_KINDS] == [f"cozy-{k}" for k in RESERVED_KINDS]
    with pytest.raises(ValueError, match="not reserved"):
        system_bucket("cozy", "notes")  # a new system area reserves its kind first


def test_org_cannot_take_a_system_bucket():
    system = {system_bucket("cozy", k) for k in RESERVED_KINDS}
    for kind in RESERVED_KINDS:
        assert bucket_name("cozy", kind) not in system


def test_cleaned_ids_stay_distinct():
    assert len({bucket_name("cozy", x) for x in ["a_b", "a.b", "a-b", "A B"]}) == 4


@given(prefix=st.text(min_size=0, max_size=80), org=st.one_of(st.none(), st.text(max_size=200)))
def test_org_bucket_always_valid(prefix, org):
    assert_valid(bucket_name(prefix, org))


@given(prefix=st.text(max_size=100), kind=st.sampled_from(RESERVED_KINDS))
def test_system_bucket_always_valid(prefix, kind):
    assert_valid(system_bucket(prefix, kind))


@given(a=st.text(min_size=1, max_size=120), b=st.text(min_size=1, max_size=120))
def test_long_distinct_ids_do_not_collide(a, b):
    if a.lower() != b.lower():
        assert bucket_name("cozy", a) != bucket_name("cozy", b)


def test_org_named_default_does_not_share_the_orgless_bucket():
    assert bucket_name("cozy", "default") != bucket_name("cozy", None)
    assert bucket_name("cozy", "DEFAULT") != bucket_name("cozy", "")
