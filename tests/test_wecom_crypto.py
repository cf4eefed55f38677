"""WeCom's callback cryptography against the published golden vectors (WeCom's own callback
sample and wechatpy's crypto tests, copied to tests/data/wecom_vectors.json), byte for byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wecom.crypto import BLOCK, CryptoError, WeComCrypto, aes_key, pad, signature, unpad
from bot.wecom.inbound import BadCallback, parse_envelope, parse_message, to_input


def _vectors() -> dict[str, Any]:
    """The published vectors, kept beside the tests (a copy of shared/wecom/vectors.json) so
    these tests always run."""
    path = Path(__file__).parent / "data" / "wecom_vectors.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return _vectors()


def sample(vectors: dict[str, Any]) -> tuple[dict[str, Any], WeComCrypto]:
    s = vectors["wecom_sample"]
    return s, WeComCrypto(s["token"], s["encoding_aes_key"], s["corp_id"])


def wechatpy(vectors: dict[str, Any]) -> tuple[dict[str, Any], WeComCrypto]:
    w = vectors["wechatpy_tests"]
    return w, WeComCrypto(w["token"], w["encoding_aes_key"], w["receive_id"])


def test_url_verification_vector(vectors: dict[str, Any]) -> None:
    s, crypto = sample(vectors)
    v = s["verify_url"]
    assert signature(s["token"], v["timestamp"], v["nonce"], v["echostr"]) == v["msg_signature"]
    assert crypto.open(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"]) == v["plaintext"]


def test_post_vector_decrypts_to_the_text_message(vectors: dict[str, Any]) -> None:
    s, crypto = sample(vectors)
    p = s["post"]
    plain = crypto.open(p["msg_signature"], p["timestamp"], p["nonce"], p["encrypt"])
    assert plain == p["plaintext"]
    msg = parse_message(plain)
    assert (msg.user, msg.msg_type, msg.content, msg.msg_id) == ("ChenJiaShun", "text", "你好", "1456453720")
    assert msg.update_id == "1456453720" and msg.agent_id == "1000002"
    inp = to_input(msg, _no_download)
    assert inp is not None and inp.kind == "text" and inp.text == "你好" and inp.update_id == "1456453720"


async def _no_download(media_id: str) -> bytes:
    raise AssertionError("no download expected")


def test_fixed_encryption_matches_byte_for_byte(vectors: dict[str, Any]) -> None:
    w, crypto = wechatpy(vectors)
    e = w["encrypt_fixed"]
    encrypted, sig = crypto.seal(e["plaintext"], e["timestamp"], e["nonce"], e["random16"].encode())
    assert encrypted == e["ciphertext"]
    assert sig == e["msg_signature"]
    assert crypto.decrypt(encrypted) == e["plaintext"]


def test_wechatpy_decrypt_vector(vectors: dict[str, Any]) -> None:
    w, crypto = wechatpy(vectors)
    d = w["decrypt"]
    plain = crypto.open(d["msg_signature"], d["timestamp"], d["nonce"], d["encrypt"])
    assert all(word in plain for word in d["plaintext_contains"])


def test_bad_signature_is_refused(vectors: dict[str, Any]) -> None:
    s, crypto = sample(vectors)
    p = s["post"]
    with pytest.raises(CryptoError, match="signature"):
        crypto.open("0" * 40, p["timestamp"], p["nonce"], p["encrypt"])
    with pytest.raises(CryptoError, match="signature"):  # the timestamp is signed too
        crypto.open(p["msg_signature"], str(int(p["timestamp"]) + 1), p["nonce"], p["encrypt"])


def test_wrong_corp_id_is_refused(vectors: dict[str, Any]) -> None:
    s, _ = sample(vectors)
    other = WeComCrypto(s["token"], s["encoding_aes_key"], "wwsomeoneelse00000")
    p = s["post"]
    with pytest.raises(CryptoError, match="CorpID"):
        other.open(p["msg_signature"], p["timestamp"], p["nonce"], p["encrypt"])


def test_bad_padding_and_garbage_are_refused(vectors: dict[str, Any]) -> None:
    _, crypto = sample(vectors)
    # Well-formed AES blocks whose plaintext ends in an impossible pad byte (0).
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(crypto.key), modes.CBC(crypto.key[:16])).encryptor()
    raw = enc.update(b"x" * 31 + b"\x00") + enc.finalize()
    with pytest.raises(CryptoError, match="padding"):
        crypto.decrypt(base64.b64encode(raw).decode())
    for junk in ("not base64 at all!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(CryptoError):
            crypto.decrypt(junk)


def test_padding_is_to_32_byte_blocks() -> None:
    for n in (0, 1, 31, 32, 33):
        padded = pad(b"a" * n)
        assert len(padded) % BLOCK == 0 and len(padded) > n and unpad(padded) == b"a" * n
    with pytest.raises(CryptoError):
        unpad(b"a" * 31 + bytes([33]))


def test_aes_key_validation() -> None:
    assert len(aes_key("6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")) == 32
    with pytest.raises(ValueError, match="43"):
        aes_key("short")
    with pytest.raises(ValueError, match="base64"):
        aes_key("!" * 43)


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=300), random16=st.binary(min_size=16, max_size=16))
def test_round_trip(text: str, random16: bytes) -> None:
    crypto = WeComCrypto(
        "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1"
    )
    encrypted, sig = crypto.seal(text, "1", "2", random16)
    assert crypto.open(sig, "1", "2", encrypted) == text


def test_envelope_and_messages() -> None:
    with pytest.raises(BadCallback):
        parse_envelope(b"<xml><ToUserName>x</ToUserName></xml>")
    with pytest.raises(BadCallback):
        parse_envelope(b"not xml")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    with pytest.raises(BadCallback, match="document type"):
        parse_envelope(bomb)
    press = parse_message(
        "<xml><FromUserName><![CDATA[LiSi]]></FromUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
        "<EventKey><![CDATA[12:a:1]]></EventKey><TaskId><![CDATA[t1]]></TaskId>"
        "<ResponseCode><![CDATA[rc1]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )
    assert press.update_id == "LiSi:1700000000:template_card_event:12:a:1"
    inp = to_input(press, _no_download)
    assert inp is not None and inp.kind == "button" and inp.data == "12:a:1"
    long_user = press.__class__(user="u" * 64, create_time="1700000000", msg_type="event", event="click")
    assert len(long_user.update_id) <= 64
    click = parse_message(
        "<xml><FromUserName>LiSi</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>click</Event><EventKey>inspect</EventKey></xml>"
    )
    inp = to_input(click, _no_download)
    assert inp is not None and inp.kind == "command" and inp.command == "inspect"
    enter = parse_message(
        "<xml><FromUserName>LiSi</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>enter_agent</Event></xml>"
    )
    assert to_input(enter, _no_download) is None
    voice = parse_message(
        "<xml><FromUserName>LiSi</FromUserName><CreateTime>1</CreateTime><MsgType>voice</MsgType>"
        "<MsgId>42</MsgId></xml>"
    )
    inp = to_input(voice, _no_download)
    assert inp is not None and inp.kind == "unsupported" and inp.update_id == "42"
