"""The SSRF rules: which addresses and URLs the server may fetch for a user."""

from __future__ import annotations

import pytest

from fieldproof.core.netguard import check_url, is_public
from fieldproof.errors import WebUrlInvalid


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "64:ff9b::a00:1", "2002:7f00:1::1",
    "2001:db8::1",
])
def test_private_loopback_link_local_and_their_disguises_are_refused(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "203.0.114.1", "2606:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize("url", [
    "", "ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)", "http://",
    "http://user:pw@example.org/", "https://example.org/ a", "http://example.org:0/",
    "http://example.org:99999/", "https://" + "a" * 2100 + ".org/", "http://exa\nmple.org/",
])
def test_urls_that_cannot_be_recorded(url: str) -> None:
    with pytest.raises(WebUrlInvalid):
        check_url(url)


def test_ordinary_urls_pass() -> None:
    for url in ("https://weibo.com/1234/abc?x=1#y", "http://[2606:4700::1111]:8080/",
                "https://v.douyin.com/iAbCdEf/"):
        assert check_url(url) == url
