"""WeCom's callback cryptography: the SHA-1 signature and the AES-256-CBC envelope.

The scheme (企业微信 "加解密方案"): ``key = base64(EncodingAESKey + "=")`` (32 bytes), ``IV =
key[:16]``, PKCS#7 padding to 32-byte blocks, and a plaintext of 16 random bytes, the message
length (4 bytes, big-endian), the message (UTF-8) and the receiver id (the CorpID). The
signature is the lowercase hex SHA-1 of token, timestamp, nonce and the encrypted text, sorted
and concatenated."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16
AES_KEY_LENGTH = 43


class CryptoError(ValueError):
    """A callback that is not ours: bad signature, bad encryption or another receiver."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    joined = "".join(sorted((token, timestamp, nonce, encrypted)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key of a 43-character EncodingAESKey; ValueError when it is not one."""
    if len(encoding_aes_key) != AES_KEY_LENGTH:
        raise ValueError(f"must be {AES_KEY_LENGTH} characters long (it is {len(encoding_aes_key)})")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("must contain only letters and digits (base64)") from exc
    if len(key) != 32:
        raise ValueError("does not decode to a 32-byte key")
    return key


def pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= BLOCK or len(data) < n or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts for one application (token, key, CorpID)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.sign(timestamp, nonce, encrypted)
        given = msg_signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode("ascii"), given):
            raise CryptoError("bad signature")

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        prefix = os.urandom(16) if random16 is None else random16
        if len(prefix) != 16:
            raise ValueError("the random prefix is 16 bytes")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pad(plain)) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("bad message length")
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receiver, self.receive_id.encode("utf-8")):
            raise CryptoError("addressed to another CorpID")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("not UTF-8") from exc

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify, then decrypt: the plaintext of a callback (or of a URL check's echostr)."""
        self.check(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def seal(
        self, message: str, timestamp: str, nonce: str, random16: bytes | None = None
    ) -> tuple[str, str]:
        """Encrypt and sign: ``(encrypted, msg_signature)``."""
        encrypted = self.encrypt(message, random16)
        return encrypted, self.sign(timestamp, nonce, encrypted)
