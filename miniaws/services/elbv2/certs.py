"""The self-signed certificate a load balancer's HTTPS listeners present (miniaws has no ACM to issue one).

One per load balancer, for its DNS name plus `localhost` and the loopback addresses, made with `cryptography` on
the first HTTPS listener and kept with the load balancer (so it survives restarts and clients can pin it). Fetch it
from GET /_miniaws/elbv2/certificate?LoadBalancerArn=… to verify TLS against it.
"""
from __future__ import annotations

import datetime
import ipaddress

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: browsers and curl accept at most 825 days for a TLS server certificate
VALIDITY_DAYS = 825


def self_signed(dns_name: str, now: float, extra_hosts: tuple[str, ...] = ()) -> tuple[str, str]:
    """(certificate PEM, private key PEM) for `dns_name`, valid from a day before `now`."""
    # imported here: cryptography.x509 is a large module and only an HTTPS listener needs it (start-up time)
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "miniaws")])
    sans: list[x509.GeneralName] = [x509.DNSName(dns_name), x509.DNSName("localhost")]
    addresses = {"127.0.0.1", "::1"}
    for host in extra_hosts:
        try:
            addresses.add(str(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    sans.extend(x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses))
    start = datetime.datetime.fromtimestamp(now, datetime.timezone.utc) - datetime.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert_pem, key_pem
