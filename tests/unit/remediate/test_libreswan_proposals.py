"""strongSwan proposals in libreswan's terms (plugins/module_utils/conf/libreswan_proposals.py).

The expected libreswan values and pluto names come from libreswan 4.10's own parser on the lab's gw3
(tests/fixtures/libreswan_algparse/, see its NOTE.md).
"""

from __future__ import annotations

import doctest
import pathlib

import pytest

from ansible_collections.vpnops.ikev2.plugins.module_utils.conf import libreswan_proposals as lp

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "libreswan_algparse" / "algparse.txt"


@pytest.fixture(scope="module")
def pluto():
    """libreswan value -> (names, error) as pluto 4.10's parser printed them."""
    return dict(((e["kind"], e["value"]), (e["names"], e["error"])) for e in lp.parse_algparse(FIXTURE.read_text()))


# strongSwan proposal, kind, the libreswan value it must become (one that pluto parsed in the fixture).
CASES = [
    ("aes256gcm16-prfsha384-ecp384", "ike", "aes_gcm256-sha2_384;dh20"),
    ("aes256-sha256-ecp256", "ike", "aes256-sha2_256;dh19"),
    ("aes256gcm12-prfsha384-ecp384", "ike", "aes_gcm_b256-sha2_384;dh20"),
    ("aes128gcm8-prfsha256-ecp256", "ike", "aes_gcm_a128-sha2_256;dh19"),
    ("aes128-sha256-modp2048", "ike", "aes128-sha2_256;dh14"),
    ("aes-sha256-modp2048", "ike", "aes128-sha2_256;dh14"),
    ("aes256ctr-sha512-ecp521", "ike", "aes_ctr256-sha2_512;dh21"),
    ("camellia256-sha256-modp3072", "ike", "camellia256-sha2_256;dh15"),
    ("chacha20poly1305-prfsha256-curve25519", "ike", "chacha20_poly1305-sha2_256;dh31"),
    ("aes128-aesxcbc-modp4096", "ike", "aes128-aes_xcbc;dh16"),
    ("aes192-sha1-modp1536", "ike", "aes192-sha1;dh5"),
    ("aes128-aes256-sha256-sha384-ecp256-ecp384", "ike", "aes128+aes256-sha2_256+sha2_384;dh19+dh20"),
    ("aes256-sha256-modp6144", "ike", "aes256-sha2_256;dh17"),
    ("aes256-sha256-prfsha256-modp8192", "ike", "aes256-sha2_256;dh18"),
    ("aes256gcm16", "esp", "aes_gcm256"),
    ("aes256-sha256", "esp", "aes256-sha2_256"),
    ("aes128gcm12", "esp", "aes_gcm_b128"),
    ("aes256ccm8", "esp", "aes_ccm_a256"),
    ("aes256ccm16", "esp", "aes_ccm256"),
    ("chacha20poly1305", "esp", "chacha20_poly1305"),
    ("aes256-sha512", "esp", "aes256-sha2_512"),
    ("aes128-sha384", "esp", "aes128-sha2_384"),
    ("aes128-sha1", "esp", "aes128-sha1"),
    ("aes256gmac", "esp", "aes_gmac256"),
    ("aes256gcm16-ecp384", "esp", "aes_gcm256;dh20"),
    ("aes256-sha256-ecp256", "esp", "aes256-sha2_256;dh19"),
    ("null-sha256", "esp", "null-sha2_256"),
    ("aes128-aesxcbc", "esp", "aes128-aes_xcbc"),
    ("aes128-aescmac", "esp", "aes128-aes_cmac"),
    ("3des-md5", "esp", "3des-md5"),
]


@pytest.mark.parametrize("proposal,kind,libreswan", CASES)
def test_translation_is_what_pluto_parses(pluto, proposal, kind, libreswan):
    text, name = lp.translate_one(proposal, kind)
    assert text == libreswan
    names, error = pluto[(kind, libreswan)]
    assert error is None
    assert names == [name]


def test_every_fixture_value_that_pluto_accepts_is_covered(pluto):
    covered = set((k, v) for _, k, v in CASES)
    accepted = set(key for key, (names, error) in pluto.items() if error is None)
    assert accepted <= covered, accepted - covered


def test_the_lab_golden_set():
    t = lp.translate(["aes256gcm16-prfsha384-ecp384", "aes256-sha256-ecp256"], "aes256gcm16,aes256-sha256")
    assert t == {"ike": "aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19", "esp": "aes_gcm256,aes256-sha2_256",
                 "ike_names": ["AES_GCM_16_256-HMAC_SHA2_384-DH20", "AES_CBC_256-HMAC_SHA2_256-DH19"],
                 "esp_names": ["AES_GCM_16_256-NONE", "AES_CBC_256-HMAC_SHA2_256_128"], "errors": []}


@pytest.mark.parametrize("proposal,kind,message", [
    ("aes256-sha256-prfsha384-ecp256", "ike", "libreswan uses one hash for integrity and PRF; sha256 and prfsha384 differ"),
    ("aes256gcm16-ecp384", "ike", "an AEAD IKE proposal needs a PRF"),
    ("aes256ccm16-prfsha256-ecp256", "ike", "libreswan offers aes256ccm16 for ESP only, not for IKE"),
    ("aes256-sha256-modp1024", "ike", "libreswan 4 has no key exchange group modp1024"),
    ("aes256-sha256-ecp256bp", "ike", "libreswan 4 has no key exchange group ecp256bp"),
    ("aes256-sha256-curve448", "ike", "no key exchange group curve448"),
    ("blowfish256-sha256-ecp256", "ike", "libreswan 4 has no blowfish256"),
    ("aes256-sha256", "ike", "no key exchange group (e.g. ecp384)"),
    ("aes256-aescmac-ecp256", "ike", "libreswan 4 has no IKE PRF aescmac"),
    ("aes256-sha256_96", "esp", "libreswan 4 has no sha256_96"),
    ("aes256gcm16-esn", "esp", "esn is set with libreswan's esn= option"),
    ("aes256gcm16-sha256", "esp", "an AEAD cipher takes no integrity algorithm"),
    ("aes256gcm16-aes256-sha256", "esp", "cannot mix AEAD and non-AEAD"),
    ("aes256", "esp", "no integrity algorithm"),
    ("sha256-ecp256", "ike", "no encryption algorithm"),
    ("aes256-sha256-ecp385", "ike", "'ecp385' is not a strongSwan algorithm keyword libreswan knows"),
    ("aes256--sha256", "esp", "empty algorithm"),
    ("aes256gcm16-prfsha256", "esp", "ESP has no PRF"),
])
def test_untranslatable_proposals_are_clear_errors(proposal, kind, message):
    with pytest.raises(lp.TranslationError) as e:
        lp.translate_one(proposal, kind)
    assert message in str(e.value)
    assert repr(proposal) in str(e.value)


def test_translate_collects_every_error_and_gives_no_values():
    t = lp.translate(["aes256gcm16-prfsha384-ecp384", "aes256-sha256-prfsha512-ecp256"], ["aes256gcm16-esn"])
    assert t["ike"] is None and t["esp"] is None
    assert len(t["errors"]) == 2
    assert lp.translate([], ["aes256gcm16"])["errors"] == ["no IKE proposals given"]
    assert lp.translate(None, None)["errors"] == ["no IKE proposals given", "no ESP proposals given"]
    assert "empty or not text" in lp.translate([5], ["aes256gcm16"])["errors"][0]


def test_errors_pluto_prints_are_read(pluto):
    assert pluto[("ike", "aes256-sha2_256;dh2")] == ([], "IKE DH algorithm 'dh2' is not recognized")
    assert pluto[("ike", "aes_ccm256-sha2_256;dh19")][1] == "IKE encryption algorithm 'aes_ccm256' is not supported"


def test_algparse_with_several_arguments():
    out = ("algparse -v2 -pfs 'ike=aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19'\n"
           "\tAES_GCM_16_256-HMAC_SHA2_384-DH20\n\tAES_CBC_256-HMAC_SHA2_256-DH19\n"
           "algparse -v2 -pfs 'esp=aes_gcm256,aes256-sha2_256'\n\tAES_GCM_16_256-NONE\n\tAES_CBC_256-HMAC_SHA2_256_128\n"
           "algparse -v2 -pfs 'ike=bogus'\n\tERROR: IKE encryption algorithm 'bogus' is not recognized\n")
    got = lp.parse_algparse(out)
    assert [(g["kind"], len(g["names"]), g["error"]) for g in got] == [
        ("ike", 2, None), ("esp", 2, None), ("ike", 0, "IKE encryption algorithm 'bogus' is not recognized")]


# gw3's conn file as lab/render.py writes it, with the proposal_mismatch_libreswan fault.
RW_CONF = ("conn rw-cert\n\tleft=198.19.0.15\n\tleftid=@gw3.lab\n\tleftcert=gw3\n\tright=%any\n"
           "\tikev2=insist\n\tike=aes256-sha2_256;modp2048\n\tesp=aes_gcm256\n\tdpddelay=30\n\tauto=add\n")


def test_parse_conns():
    conns = lp.parse_conns("# comment\nconfig setup\n\tlogfile=/var/log/pluto.log\n\n" + RW_CONF +
                           "\nconn other # a comment\n\tphase2alg=aes256-sha2_256\n\tauto=ignore\n", "/etc/ipsec.d/rw.conf")
    assert [(c["name"], c["ike"], c["esp"], c["esp_key"], c["auto"], c["line"]) for c in conns] == [
        ("rw-cert", "aes256-sha2_256;modp2048", "aes_gcm256", "esp", "add", 4),
        ("other", None, "aes256-sha2_256", "phase2alg", "ignore", 15)]
    assert conns[0]["path"] == "/etc/ipsec.d/rw.conf"


def test_set_algorithms_changes_only_those_lines():
    new = lp.set_algorithms(RW_CONF, ["rw-cert"], "aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19", "aes_gcm256,aes256-sha2_256")
    old_lines, new_lines = RW_CONF.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert changed == [("\tike=aes256-sha2_256;modp2048", "\tike=aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19"),
                       ("\tesp=aes_gcm256", "\tesp=aes_gcm256,aes256-sha2_256")]
    # Idempotent, and the other conns are untouched.
    assert lp.set_algorithms(new, ["rw-cert"], "aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19",
                             "aes_gcm256,aes256-sha2_256") == new
    assert lp.set_algorithms(RW_CONF, ["other"], "x", "y") == RW_CONF


def test_set_algorithms_inserts_missing_lines_and_keeps_line_endings():
    text = "conn a\r\n    auto=add\r\nconn b\r\n    ike=old\r\n"
    new = lp.set_algorithms(text, ["a", "b"], "NEW", "E")
    assert new == "conn a\r\n    ike=NEW\r\n    esp=E\r\n    auto=add\r\nconn b\r\n    esp=E\r\n    ike=NEW\r\n"
    assert [(c["name"], c["ike"], c["esp"]) for c in lp.parse_conns(new)] == [("a", "NEW", "E"), ("b", "NEW", "E")]


def test_docstring_examples():
    failures, _ = doctest.testmod(lp)
    assert failures == 0


def test_no_proposal_chosen_by_exchange():
    # Shaped after pluto 4.10's lines on gw3: the IKE_SA_INIT refusal of proposal_mismatch_libreswan, and the
    # CREATE_CHILD_SA refusal seen after the fix when cl6 asked for its CHILD_SA again (message texts as pluto logged
    # them; timestamps and the middle line, seen only truncated, shortened).
    log = ('Dec  5 14:19:40.1: "rw-cert"[1] 198.19.0.21 #1: responding to IKE_SA_INIT message (ID 0) from '
           '198.19.0.21:500 with unencrypted notification NO_PROPOSAL_CHOSEN\n'
           'Dec  5 15:04:53.5: "rw-cert"[1] 198.19.0.21 #4: process returned NO_PROPOSAL_CHOSEN\n'
           'Dec  5 15:04:53.577177: "rw-cert"[1] 198.19.0.21 #4: responding to CREATE_CHILD_SA message (ID 2) from '
           '198.19.0.21:4500 with encrypted notification NO_PROPOSAL_CHOSEN\n'
           'Dec  5 15:04:54.0: "rw-cert"[1] 198.19.0.21 #3: responder established IKE SA\n')
    got = lp.no_proposal_chosen(log)
    assert len(got["ike"]) == 1 and "IKE_SA_INIT" in got["ike"][0]
    assert len(got["create_child_sa"]) == 2
    assert lp.no_proposal_chosen("") == {"ike": [], "create_child_sa": []}
