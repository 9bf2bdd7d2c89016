import pytest

from s3util import FsUrlError, parse_fs_url

GOOD = "s3://s3.example.org:9000?access_key=AK&secret_key=S3cr3t&region=rbx&bucket_prefix=Cozy&use_ssl=false&path_style=false"


def test_parse_every_parameter():
    c = parse_fs_url(GOOD)
    assert (c.host, c.port, c.access_key, c.secret_key) == ("s3.example.org", 9000, "AK", "S3cr3t")
    assert (c.region, c.bucket_prefix, c.use_ssl, c.path_style) == ("rbx", "cozy", False, False)
    assert c.endpoint == "s3.example.org:9000"
    assert c.endpoint_url == "http://s3.example.org:9000"


def test_defaults():
    c = parse_fs_url("s3://s3.example.org?access_key=a&secret_key=b")
    assert (c.port, c.region, c.bucket_prefix, c.use_ssl, c.path_style) == (None, "us-east-1", "cozy", True, True)


def test_round_trip():
    c = parse_fs_url(GOOD)
    assert parse_fs_url(c.to_url()) == c


def test_secret_never_in_repr_or_redacted_url():
    c = parse_fs_url(GOOD)
    assert "S3cr3t" not in repr(c)
    assert "S3cr3t" not in str(c)
    assert "S3cr3t" not in c.redacted_url()


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("", "empty"),
        ("http://h?access_key=a&secret_key=b", "scheme"),
        ("s3://?access_key=a&secret_key=b", "host"),
        ("s3://h:99999?access_key=a&secret_key=b", "port"),
        ("s3://h:abc?access_key=a&secret_key=b", "port"),
        ("s3://h?secret_key=b", "access_key"),
        ("s3://h?access_key=a", "secret_key"),
        ("s3://h?access_key=a&secret_key=b&use_ssl=maybe", "use_ssl"),
        ("s3://h?access_key=a&secret_key=b&path_style=2x", "path_style"),
        ("s3://h?access_key=a&secret_key=b&bucket_prefix=Bad_Prefix!", "bucket_prefix"),
        ("s3://h?access_key=a&secret_key=b&colour=red", "colour"),
        ("s3://h/some/path?access_key=a&secret_key=b", "path"),
        ("s3://user:pw@h?access_key=a&secret_key=b", "credentials"),
        ("s3://h?access_key=a&secret_key=b&secret_key=c", "secret_key"),
    ],
)
def test_malformed_url_names_the_bad_part(url, names):
    with pytest.raises(FsUrlError) as info:
        parse_fs_url(url)
    message = str(info.value)
    assert names in message
    assert "\n" not in message
    assert "S3cr3t" not in message


def test_secret_not_echoed_in_errors():
    with pytest.raises(FsUrlError) as info:
        parse_fs_url("s3://h?access_key=a&secret_key=TopSecret&use_ssl=perhaps")
    assert "TopSecret" not in str(info.value)
