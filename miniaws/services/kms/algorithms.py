"""Key specs and the cryptography behind them: which usages and algorithms each KeySpec allows (as AWS
documents in https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html), generating
and loading key material, signing, RSA-OAEP, HMAC and data key pairs. Pure functions over bytes, no state.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
SIGN_VERIFY = "SIGN_VERIFY"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT = "KEY_AGREEMENT"

#: symmetric keys are AES-256-GCM keys
SYMMETRIC_KEY_BYTES = 32

RSA_BITS: dict[str, int] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
#: HMAC key spec -> (its one MAC algorithm, key length in bytes: HMAC_224 keys are 224 bits, ...)
HMAC_SPECS: dict[str, tuple[str, int]] = {
    "HMAC_224": ("HMAC_SHA_224", 28), "HMAC_256": ("HMAC_SHA_256", 32),
    "HMAC_384": ("HMAC_SHA_384", 48), "HMAC_512": ("HMAC_SHA_512", 64),
}
MAC_HASHES: dict[str, str] = {"HMAC_SHA_224": "sha224", "HMAC_SHA_256": "sha256", "HMAC_SHA_384": "sha384",
                              "HMAC_SHA_512": "sha512"}

#: the KeyUsage values each supported KeySpec accepts
KEY_USAGES: dict[str, tuple[str, ...]] = {
    SYMMETRIC_DEFAULT: (ENCRYPT_DECRYPT,),
    **{spec: (ENCRYPT_DECRYPT, SIGN_VERIFY) for spec in RSA_BITS},
    **{spec: (SIGN_VERIFY, KEY_AGREEMENT) for spec in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")},
    "ECC_SECG_P256K1": (SIGN_VERIFY,),
    **{spec: (GENERATE_VERIFY_MAC,) for spec in HMAC_SPECS},
}

RSA_SIGNING = ("RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
               "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512")
#: each curve signs with exactly one ECDSA algorithm in KMS
EC_SIGNING: dict[str, str] = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
                              "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}
RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
#: data key pairs (GenerateDataKeyPair) this implementation can make
KEY_PAIR_SPECS = tuple(RSA_BITS) + tuple(EC_CURVES)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256,
                                                  "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


def is_symmetric(spec: str) -> bool:
    return spec == SYMMETRIC_DEFAULT


def encryption_algorithms(spec: str, usage: str) -> list[str]:
    if usage != ENCRYPT_DECRYPT:
        return []
    return [SYMMETRIC_DEFAULT] if is_symmetric(spec) else list(RSA_ENCRYPTION)


def signing_algorithms(spec: str, usage: str) -> list[str]:
    if usage != SIGN_VERIFY:
        return []
    return list(RSA_SIGNING) if spec in RSA_BITS else [EC_SIGNING[spec]]


def mac_algorithms(spec: str) -> list[str]:
    return [HMAC_SPECS[spec][0]] if spec in HMAC_SPECS else []


def key_agreement_algorithms(usage: str) -> list[str]:
    return ["ECDH"] if usage == KEY_AGREEMENT else []


# -- key material ---------------------------------------------------------------------------------------
def _der(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def generate_private_key(spec: str) -> PrivateKey:
    if spec in RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS[spec])
    return ec.generate_private_key(EC_CURVES[spec]())


def generate_material(spec: str) -> bytes:
    """Fresh key material: AES key bytes, HMAC key bytes, or a PKCS#8 DER private key. Slow for RSA 4096."""
    if is_symmetric(spec):
        return os.urandom(SYMMETRIC_KEY_BYTES)
    if spec in HMAC_SPECS:
        return os.urandom(HMAC_SPECS[spec][1])
    return _der(generate_private_key(spec))


def load_private_key(material: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(material, password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError("unsupported private key type")
    return key


def check_material(spec: str, material: bytes) -> bytes:
    """Validate caller-chosen material for `spec` (PEM or DER accepted for private keys); returns canonical bytes."""
    if is_symmetric(spec):
        if len(material) != SYMMETRIC_KEY_BYTES:
            raise ValueError(f"{spec} key material must be {SYMMETRIC_KEY_BYTES} bytes, not {len(material)}")
        return material
    if spec in HMAC_SPECS:
        size = HMAC_SPECS[spec][1]
        if len(material) != size:
            raise ValueError(f"{spec} key material must be {size} bytes, not {len(material)}")
        return material
    try:
        if material.lstrip().startswith(b"-----BEGIN"):
            loaded = serialization.load_pem_private_key(material.strip(), password=None)
        else:
            loaded = serialization.load_der_private_key(material, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"key material is not an unencrypted {spec} private key (PEM or DER)") from None
    if spec in RSA_BITS:
        if not isinstance(loaded, rsa.RSAPrivateKey) or loaded.key_size != RSA_BITS[spec]:
            raise ValueError(f"key material is not an {spec} private key")
        return _der(loaded)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(loaded.curve, EC_CURVES[spec]):
        raise ValueError(f"key material is not an {spec} private key")
    return _der(loaded)


def public_key_der(key: PrivateKey) -> bytes:
    """X.509 SubjectPublicKeyInfo, DER — what GetPublicKey returns."""
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key_pair(spec: str) -> tuple[bytes, bytes]:
    """(PKCS#8 DER private key, DER SubjectPublicKeyInfo) for GenerateDataKeyPair."""
    key = generate_private_key(spec)
    return _der(key), public_key_der(key)


# -- signing --------------------------------------------------------------------------------------------
def signing_hash(algorithm: str) -> hashes.HashAlgorithm:
    """The hash named by the algorithm's suffix: RSASSA_PSS_SHA_384 and ECDSA_SHA_384 both hash with SHA-384."""
    return _HASHES["SHA_" + algorithm.rsplit("_", 1)[-1]]()


def _prepared(algorithm: str, message: bytes, digest: bool) -> tuple[bytes, Any]:
    chosen = signing_hash(algorithm)
    return message, (Prehashed(chosen) if digest else chosen)


def _rsa_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS"):
        chosen = signing_hash(algorithm)
        # KMS uses a salt as long as the digest (RFC 8017 recommendation), not the maximum length
        return padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size)
    return padding.PKCS1v15()


def sign(key: PrivateKey, algorithm: str, message: bytes, digest: bool) -> bytes:
    data, hash_arg = _prepared(algorithm, message, digest)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, _rsa_padding(algorithm), hash_arg)
    # ECDSA signatures are DER-encoded (r, s), as KMS returns them
    return key.sign(data, ec.ECDSA(hash_arg))


def verify(key: PrivateKey, algorithm: str, message: bytes, digest: bool, signature: bytes) -> bool:
    data, hash_arg = _prepared(algorithm, message, digest)
    try:
        public = key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, _rsa_padding(algorithm), hash_arg)
        else:
            public.verify(signature, data, ec.ECDSA(hash_arg))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- RSA encryption ---------------------------------------------------------------------------------------
def _oaep(algorithm: str) -> padding.OAEP:
    chosen = hashes.SHA1() if algorithm == "RSAES_OAEP_SHA_1" else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(chosen), algorithm=chosen, label=None)


def rsa_max_plaintext(spec: str, algorithm: str) -> int:
    """OAEP's limit, k - 2·hLen - 2 (RFC 8017 §7.1.1): 214 bytes for RSA_2048 with SHA-1, 190 with SHA-256."""
    digest = 20 if algorithm == "RSAES_OAEP_SHA_1" else 32
    return RSA_BITS[spec] // 8 - 2 * digest - 2


def rsa_encrypt(key: rsa.RSAPrivateKey, algorithm: str, plaintext: bytes) -> bytes:
    return key.public_key().encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(key: rsa.RSAPrivateKey, algorithm: str, ciphertext: bytes) -> bytes:
    """Raises ValueError when the ciphertext was not made with this key and algorithm."""
    return key.decrypt(ciphertext, _oaep(algorithm))


# -- HMAC -----------------------------------------------------------------------------------------------
def mac(key: bytes, algorithm: str, message: bytes) -> bytes:
    return hmac.new(key, message, MAC_HASHES[algorithm]).digest()


def mac_matches(key: bytes, algorithm: str, message: bytes, tag: bytes) -> bool:
    return hmac.compare_digest(mac(key, algorithm, message), tag)


def material_id(key_id: str, version: int, material: bytes) -> str:
    """A stable 64-hex KeyMaterialId: deterministic for seeded keys, never reveals the material."""
    return hashlib.sha256(b"miniaws kms key material id\0" + f"{key_id}/{version}\0".encode() + material).hexdigest()
