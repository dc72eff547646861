"""ACM DNS validation as AWS documents it, on moto's ACM and Route 53.

moto issues every requested certificate 60 seconds after the request, whatever the validation method and whether
or not its validation records exist anywhere, and gives every domain the same validation record. AWS
([DNS validation](https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html)):

- ``RequestCertificate`` with ``ValidationMethod=DNS`` leaves the certificate ``PENDING_VALIDATION``; a few seconds
  later ``DescribeCertificate`` shows one CNAME per domain in ``DomainValidationOptions[].ResourceRecord``
  (absent until then: "it can take several seconds for the ResourceRecord to be populated").
- The record is ``_<hash>.<domain>.`` -> ``_<hash>.<random>.acm-validations.aws.``, the same for a domain and its
  wildcard (``example.com`` and ``*.example.com``), and the same for every certificate of that domain in the
  account ("ACM uses the same CNAME record ... for all certificates of the same domain in the account").
- ACM checks the records periodically; once every domain's record resolves the certificate becomes ``ISSUED``
  (each domain ``ValidationStatus`` ``SUCCESS``, ``IssuedAt`` set); without them it turns ``VALIDATION_TIMED_OUT``
  after 72 hours.
- ``InUseBy`` lists the load balancers whose listeners use the certificate (and the CloudFront distributions whose
  viewer certificate it is), and ``DeleteCertificate`` of a
  certificate in use fails with ``ResourceInUseException`` (moto recorded the listener ARN when a listener was
  created, never removed it, and deleted certificates in use).

Here a record "resolves" when a public hosted zone of the endpoint's Route 53 (same account) has a CNAME of that
name and value. Time follows ``LOCALAWS_TIME_SCALE`` (real seconds per AWS minute, the CodeDeploy setting): the
ResourceRecord appears 6 AWS seconds after the request, issuance 1 AWS minute after ACM first sees every record
(checked when the certificate is read, as a client polling ACM would see it). Certificates requested with the
email method (or none) and private ones keep moto's behaviour.
"""

from __future__ import annotations

import hashlib
import time

from localaws.patches._shared import LOCK, AwsError, serialise_calls

_PATCHED = "_localaws_acm_dns"
RECORD_AFTER_MINUTES = 0.1  # ResourceRecord populated 6 AWS seconds after the request
ISSUE_AFTER_MINUTES = 1.0  # issued 1 AWS minute after the records are first seen
TIMEOUT_MINUTES = 72 * 60  # VALIDATION_TIMED_OUT after 72 hours without the records

# certificate ARN -> {"requested": monotonic, "seen": monotonic | None, "issued": epoch | None}; DNS-validated only
_DNS: dict[str, dict] = {}


def reset() -> None:
    with LOCK:
        _DNS.clear()


def _minutes_since(start: float) -> float:
    from localaws.patches import codedeploy

    return (time.monotonic() - start) / codedeploy.SETTINGS.seconds_per_minute


def validation_record(account_id: str, domain: str) -> dict:
    """The CNAME ACM asks for: per account and domain, the wildcard sharing its base domain's record."""
    base = domain.lower().removeprefix("*.").rstrip(".")
    name = hashlib.sha256(f"name:{account_id}:{base}".encode()).hexdigest()
    value = hashlib.sha256(f"value:{account_id}:{base}".encode()).hexdigest()
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in value[32:42])
    return {"Name": f"_{name[:32]}.{base}.", "Type": "CNAME", "Value": f"_{value[:32]}.{letters}.acm-validations.aws."}


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _record_exists(account_id: str, record: dict) -> bool:
    from moto.route53.models import route53_backends

    for partition in route53_backends[account_id].values():
        for zone in partition.zones.values():
            if zone.private_zone or not _norm(record["Name"]).endswith(_norm(zone.name)):
                continue
            for rrset in zone.rrsets:
                if (rrset.type == "CNAME" and _norm(rrset.name) == _norm(record["Name"])
                        and _norm(record["Value"]) in [_norm(v) for v in rrset.records or []]):
                    return True
    return False


def _in_use_by(account_id: str, region: str, arn: str) -> list[str]:
    """The load balancers whose listeners hold the certificate and, in us-east-1, the CloudFront distributions that
    use it as their viewer certificate (as AWS lists them in InUseBy)."""
    from moto.cloudfront.models import cloudfront_backends
    from moto.elbv2.models import elbv2_backends

    users = []
    if region == "us-east-1":
        for dist in cloudfront_backends[account_id]["aws"].distributions.values():
            cert = dist.distribution_config.ViewerCertificate
            if getattr(cert, "acm_certificate_arn", "") == arn:
                users.append(dist.arn)
    for lb in elbv2_backends[account_id][region].load_balancers.values():
        for listener in lb.listeners.values():
            held = [c if isinstance(c, str) else c.get("CertificateArn") for c in listener.certificates or []]
            if arn in held or listener.certificate == arn:
                users.append(lb.arn)
                break
    return users


def _where(bundle) -> tuple[str, str]:
    """(account, region) of a certificate, from its ARN (moto's CertBundle keeps neither)."""
    parts = bundle.arn.split(":")
    return parts[4], parts[3]


def _names(bundle) -> list[str]:
    return list(dict.fromkeys([bundle.common_name, *bundle.sans]))


def apply() -> None:
    from moto.acm import models, responses

    if getattr(responses.AWSCertificateManagerResponse, _PATCHED, False):
        return
    serialise_calls(responses.AWSCertificateManagerResponse)
    response_cls, bundle_cls = responses.AWSCertificateManagerResponse, models.CertBundle

    original_request, original_check = response_cls.request_certificate, bundle_cls.check
    original_describe, original_delete = bundle_cls.describe, models.AWSCertificateManagerBackend.delete_certificate

    def request_certificate(self):
        result = original_request(self)
        if self._get_param("ValidationMethod") == "DNS" and not self._get_param("CertificateAuthorityArn"):
            arn = result.result["CertificateArn"]
            _DNS.setdefault(arn, {"requested": time.monotonic(), "seen": None, "issued": None})
        return result

    def check(self):
        state = _DNS.get(self.arn)
        if state is None:
            return original_check(self)
        if self.status != "PENDING_VALIDATION":
            return None
        account = _where(self)[0]
        records = [validation_record(account, name) for name in _names(self)]
        if _minutes_since(state["requested"]) >= RECORD_AFTER_MINUTES and all(
                _record_exists(account, r) for r in records):
            state["seen"] = state["seen"] or time.monotonic()
            if _minutes_since(state["seen"]) >= ISSUE_AFTER_MINUTES:
                self.status, state["issued"] = "ISSUED", time.time()
        else:
            state["seen"] = None
            if _minutes_since(state["requested"]) >= TIMEOUT_MINUTES:
                self.status = "VALIDATION_TIMED_OUT"
        return None

    def describe(self):
        out = original_describe(self)
        cert = out["Certificate"]
        account, region = _where(self)
        cert["InUseBy"] = _in_use_by(account, region, self.arn)
        state = _DNS.get(self.arn)
        if state is None:
            return out
        populated = _minutes_since(state["requested"]) >= RECORD_AFTER_MINUTES
        status = {"ISSUED": "SUCCESS", "VALIDATION_TIMED_OUT": "FAILED"}.get(self.status, self.status)
        options = []
        for name in _names(self):
            option = {"DomainName": name, "ValidationDomain": name, "ValidationStatus": status, "ValidationMethod": "DNS"}
            if populated:
                option["ResourceRecord"] = validation_record(account, name)
            options.append(option)
        cert["DomainValidationOptions"] = options
        cert.pop("IssuedAt", None)
        if state["issued"]:
            cert["IssuedAt"] = state["issued"]
        return out

    def delete_certificate(self, arn):
        bundle = self._certificates.get(arn)
        if bundle is not None and _in_use_by(self.account_id, self.region_name, arn):
            raise AwsError("ResourceInUseException", f"Certificate {arn} in account {self.account_id} is in use.")
        _DNS.pop(arn, None)
        return original_delete(self, arn)

    response_cls.request_certificate = request_certificate
    bundle_cls.check = check
    bundle_cls.describe = describe
    models.AWSCertificateManagerBackend.delete_certificate = delete_certificate
    setattr(response_cls, _PATCHED, True)
