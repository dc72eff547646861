"""HTTPS on the load balancer when the stack description gives a certificate, against the local endpoint: the
production listener on 443 with the certificate and TLS policy, 80 redirecting to it, the blue/green test
listener on TLS too, 443 open on the load balancer's security group; in sync on the next converge and under
--check --diff; and back to plain HTTP (443 closed) when the certificate is taken out."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SITE = "playbooks/site.yml"
POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # roles/alb/defaults/main.yml alb_ssl_policy

pytestmark = pytest.mark.slow(minutes=2.5)


def self_signed(name: str = "seed.example.com") -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def listeners(boto) -> dict[int, dict]:
    elbv2 = boto("elbv2")
    [lb] = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == "seed"]
    return {li["Port"]: li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}


def alb_ingress_ports(boto) -> list[int]:
    [group] = boto("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": ["seed-alb"]}])["SecurityGroups"]
    return sorted(p["FromPort"] for p in group["IpPermissions"] if any(r["CidrIp"] == "0.0.0.0/0" for r in p["IpRanges"]))


def in_sync(run) -> None:
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    changed = [t["task"]["name"] for p in run.plays for t in p["tasks"] if any(h.get("changed") for h in t["hosts"].values())]
    assert run.changed == 0 and run.writes == [], (changed, run.writes)


def test_https_listeners_converge_stay_in_sync_and_go(run_playbook, boto):
    pem, key = self_signed()
    certificate = boto("acm").import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    https = {"stack_certificate_arn": certificate}

    run = run_playbook(SITE, https)
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    found = listeners(boto)
    assert sorted(found) == [80, 443, 9000]
    for port in (443, 9000):  # production and the blue/green test listener, both on TLS
        assert found[port]["Protocol"] == "HTTPS", found[port]
        assert [c["CertificateArn"] for c in found[port]["Certificates"]] == [certificate]
        assert found[port]["SslPolicy"] == POLICY
        assert found[port]["DefaultActions"][0]["Type"] == "forward"
    assert found[80]["Protocol"] == "HTTP"
    [redirect] = found[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert {k: redirect["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    rules = boto("elbv2").describe_rules(ListenerArn=found[443]["ListenerArn"])["Rules"]
    assert [r["Conditions"][0]["Values"] for r in rules if not r["IsDefault"]] == [["/api/*"]]
    assert alb_ingress_ports(boto) == [80, 443]

    in_sync(run_playbook(SITE, https))
    in_sync(run_playbook(SITE, https, check=True, diff=True))

    # The certificate taken out of the description: plain HTTP on 80 again, 443 closed.
    plain = run_playbook(SITE)
    assert plain.rc == 0, plain.failure_messages() or plain.stderr[-3000:]
    found = listeners(boto)
    assert sorted(found) == [80, 9000] and {li["Protocol"] for li in found.values()} == {"HTTP"}
    assert found[80]["DefaultActions"][0]["Type"] == "forward"
    assert alb_ingress_ports(boto) == [80]
    in_sync(run_playbook(SITE))
