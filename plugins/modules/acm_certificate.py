#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: acm_certificate
short_description: Request a DNS-validated ACM certificate, return its validation records, wait for issuance
version_added: 0.1.0
description:
  - Requests a public certificate from AWS Certificate Manager for O(domain_name) and
    O(subject_alternative_names) with DNS validation (C(RequestCertificate), C(ValidationMethod=DNS)) and returns
    the CNAME records ACM asks for (RV(validation_records)), so that a task after it writes them to the zone (for
    example with M(amazon.aws.route53)); a second call with O(wait=true) waits until ACM has issued it.
  - Written because M(community.aws.acm_certificate) imports certificates only and cannot request one.
  - The certificate is found by its C(Name) tag (O(name_tag)) and its names, with C(ListCertificates),
    C(ListTagsForCertificate) and C(DescribeCertificate); a certificate with the same names and tag that is pending
    validation or issued is used, otherwise one is requested. ACM cannot change the names of a certificate;
    with other names a new one is requested, and the earlier ones with the same tag are returned in
    RV(superseded_arns) (delete them with O(state=absent) and O(certificate_arn) once nothing uses them).
  - ACM fills in a new certificate's validation records a few seconds after the request; the module waits for
    them (at most O(wait_timeout) seconds).
  - O(state=absent) deletes the certificates with the tag (or only O(certificate_arn)) and returns their
    validation records that no other certificate of the region uses, for a task after it to remove from the zone.
    A certificate still used by a load balancer is not deleted (C(ResourceInUseException)); the module fails
    naming its users.
options:
  name_tag:
    description: Value of the certificate's C(Name) tag, which identifies the certificates this module manages.
    type: str
    required: true
  domain_name:
    description: The certificate's domain name (its subject). Required with O(state=present).
    type: str
  subject_alternative_names:
    description: Further names of the certificate (O(domain_name) is always one); a wildcard C(*.example.com) is allowed.
    type: list
    elements: str
    default: []
  certificate_arn:
    description: With O(state=absent), delete only this certificate (it must carry the O(name_tag) tag).
    type: str
  state:
    description: Whether the certificate exists.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the certificate is C(ISSUED); the module fails if ACM reports it failed or timed out, or when
        O(wait_timeout) passes first, naming the records it still waits for.
      - Not in check mode.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for issuance (O(wait)) and for the validation records of a new request.
    type: int
    default: 1800
  wait_delay:
    description: Seconds between two reads while waiting.
    type: int
    default: 10
author:
  - seed.fargate maintainers (@seed-fargate)
extends_documentation_fragment:
  - seed.fargate.attributes.converge
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - The C(Name) tag is always kept, whatever O(purge_tags) says.
"""

EXAMPLES = r"""
- name: Request the certificate
  seed.fargate.acm_certificate:
    name_tag: seed-domain
    domain_name: app.example.com
    subject_alternative_names: ["www.app.example.com"]
    tags: {stack: seed}
  register: cert

- name: Write its validation records
  amazon.aws.route53:
    zone: example.com
    record: "{{ item.name }}"
    type: CNAME
    ttl: 300
    value: "{{ item.value }}"
    overwrite: true
  loop: "{{ cert.validation_records }}"

- name: Wait until it is issued
  seed.fargate.acm_certificate:
    name_tag: seed-domain
    domain_name: app.example.com
    subject_alternative_names: ["www.app.example.com"]
    wait: true
    wait_timeout: 900

- name: Delete it
  seed.fargate.acm_certificate:
    name_tag: seed-domain
    state: absent
"""

RETURN = r"""
certificate_arn:
  description: ARN of the certificate (with O(state=present); C(known-after-apply) in it when check mode would request one).
  returned: always
  type: str
  sample: arn:aws:acm:eu-west-1:123456789012:certificate/8a6c4a4e-2d2f-4a55-9a47-0d6a2a4b5c6d
certificate:
  description: The certificate (as it would be in check mode); empty with O(state=absent).
  returned: always
  type: dict
  contains:
    certificate_arn:
      description: ARN.
      type: str
    domain_name:
      description: Domain name.
      type: str
    subject_alternative_names:
      description: Every name, the domain name first.
      type: list
      elements: str
    status:
      description: C(PENDING_VALIDATION), C(ISSUED), ... (C(PENDING_VALIDATION) in check mode for a new one).
      type: str
    in_use_by:
      description: ARNs of the resources that use it.
      type: list
      elements: str
    tags:
      description: Tags.
      type: dict
validation_records:
  description:
    - With O(state=present), the CNAME records ACM validates the names with, one per distinct record (a wildcard
      shares its base domain's); empty in check mode for a certificate still to be requested.
    - With O(state=absent), the records of the deleted certificates that no remaining certificate uses.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Record name, with the final dot.
      type: str
    type:
      description: C(CNAME).
      type: str
    value:
      description: Record value.
      type: str
  sample: [{"name": "_3f2a.app.example.com.", "type": "CNAME", "value": "_9b1c.abcdefghij.acm-validations.aws."}]
superseded_arns:
  description: With O(state=present), the other certificates with the O(name_tag) tag (other names, or failed).
  returned: always
  type: list
  elements: str
deleted_arns:
  description: With O(state=absent), the certificates deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
deleted_certificates:
  description: With O(state=absent), the certificates deleted, each as RV(certificate) describes one.
  returned: always
  type: list
  elements: dict
"""

import hashlib
import time

try:
    from botocore.exceptions import BotoCoreError, ClientError

    ERRORS = (BotoCoreError, ClientError)
except ImportError:
    ERRORS = ()  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

USABLE = ("ISSUED", "PENDING_VALIDATION")
FAILED = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")


@AWSRetry.jittered_backoff()
def list_certificates(client):
    paginator = client.get_paginator("list_certificates")
    return paginator.paginate(CertificateStatuses=list(USABLE + FAILED)).build_full_result()["CertificateSummaryList"]


def names_of(domain_name, sans):
    return list(dict.fromkeys(n.lower().rstrip(".") for n in [domain_name, *sans]))


def summary(cert, tags):
    return {
        "certificate_arn": cert["CertificateArn"],
        "domain_name": cert["DomainName"],
        "subject_alternative_names": names_of(cert["DomainName"], cert.get("SubjectAlternativeNames", [])),
        "status": cert["Status"],
        "in_use_by": cert.get("InUseBy", []),
        "tags": tags,
    }


def records_of(cert):
    out = {}
    for option in cert.get("DomainValidationOptions", []):
        record = option.get("ResourceRecord")
        if record:
            out[record["Name"].lower()] = {"name": record["Name"], "type": record["Type"], "value": record["Value"]}
    return list(out.values())


def records_ready(cert):
    options = cert.get("DomainValidationOptions", [])
    return bool(options) and all(o.get("ResourceRecord") for o in options)


class Certificates:
    def __init__(self, module):
        self.module = module
        self.client = module.client("acm", retry_decorator=AWSRetry.jittered_backoff())

    def fail(self, error, msg):
        self.module.fail_json_aws(error, msg=msg)

    def describe(self, arn):
        try:
            return self.client.describe_certificate(CertificateArn=arn, aws_retry=True)["Certificate"]
        except is_boto3_error_code("ResourceNotFoundException"):
            return None
        except ERRORS as e:  # pylint: disable=duplicate-except
            self.fail(e, f"Couldn't describe certificate {arn}")

    def tags(self, arn):
        try:
            return boto3_tag_list_to_ansible_dict(self.client.list_tags_for_certificate(CertificateArn=arn, aws_retry=True)["Tags"])
        except is_boto3_error_code("ResourceNotFoundException"):
            return None
        except ERRORS as e:  # pylint: disable=duplicate-except
            self.fail(e, f"Couldn't read the tags of certificate {arn}")

    def tagged(self, name_tag, domain_name=None):
        """(description, tags) of every Amazon-issued certificate with this Name tag (and domain name, if given)."""
        try:
            summaries = list_certificates(self.client)
        except ERRORS as e:
            self.fail(e, "Couldn't list the certificates")
        out = []
        for item in summaries:
            if item.get("Type", "AMAZON_ISSUED") != "AMAZON_ISSUED":
                continue
            if domain_name and item["DomainName"].lower() != domain_name.lower():
                continue
            tags = self.tags(item["CertificateArn"])
            if tags is None or tags.get("Name") != name_tag:
                continue
            cert = self.describe(item["CertificateArn"])
            if cert is not None:
                out.append((cert, tags))
        return out

    def others(self, excluded):
        """Descriptions of the region's Amazon-issued certificates not in ``excluded``."""
        try:
            summaries = list_certificates(self.client)
        except ERRORS as e:
            self.fail(e, "Couldn't list the certificates")
        found = (self.describe(s["CertificateArn"]) for s in summaries
                 if s["CertificateArn"] not in excluded and s.get("Type", "AMAZON_ISSUED") == "AMAZON_ISSUED")
        return [c for c in found if c is not None]

    def poll(self, arn, done, timeout, delay):
        """Describe ``arn`` until ``done(cert)`` or ``timeout`` seconds pass; returns (cert, done)."""
        deadline = time.monotonic() + timeout
        while True:
            cert = self.describe(arn)
            if cert is None or done(cert) or time.monotonic() >= deadline:
                return cert, cert is not None and done(cert)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))


def planned_arn(client):
    return f"arn:{client.meta.partition}:acm:{client.meta.region_name}:known-after-apply:certificate/known-after-apply"


def present(module, certs):
    params = module.params
    names = names_of(params["domain_name"], params["subject_alternative_names"])
    desired_tags = dict(params["tags"] or {}, Name=params["name_tag"])
    found = certs.tagged(params["name_tag"])
    matching = [(c, t) for c, t in found
                if c["Status"] in USABLE and sorted(names_of(c["DomainName"], c.get("SubjectAlternativeNames", []))) == sorted(names)
                and c["DomainName"].lower() == names[0]]
    # an issued one first, then the newest
    matching.sort(key=lambda ct: (ct[0]["Status"] != "ISSUED", -(ct[0]["CreatedAt"].timestamp() if ct[0].get("CreatedAt") else 0)))
    changed, before = False, {}
    if matching:
        cert, tags = matching[0]
        arn = cert["CertificateArn"]
        before = summary(cert, tags)
        to_set, to_unset = compare_aws_tags(tags, desired_tags, params["purge_tags"] if params["tags"] is not None else False)
        to_unset = [k for k in to_unset if k != "Name"]
        if to_set or to_unset:
            changed = True
            if not module.check_mode:
                try:
                    if to_set:
                        certs.client.add_tags_to_certificate(CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)
                    if to_unset:
                        certs.client.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": k} for k in to_unset], aws_retry=True)
                except ERRORS as e:
                    certs.fail(e, f"Couldn't tag certificate {arn}")
            tags = {k: v for k, v in dict(tags, **to_set).items() if k not in to_unset}
    elif module.check_mode:
        arn, changed, tags = planned_arn(certs.client), True, desired_tags
        cert = {"CertificateArn": arn, "DomainName": names[0], "SubjectAlternativeNames": names, "Status": "PENDING_VALIDATION"}
    else:
        changed, tags = True, desired_tags
        token = hashlib.sha256("\n".join([params["name_tag"], *names]).encode()).hexdigest()[:32]
        try:
            arn = certs.client.request_certificate(
                DomainName=names[0], ValidationMethod="DNS", SubjectAlternativeNames=names, IdempotencyToken=token,
                Tags=ansible_dict_to_boto3_tag_list(desired_tags), aws_retry=True)["CertificateArn"]
        except ERRORS as e:
            certs.fail(e, f"Couldn't request a certificate for {names}")
        cert = None
    superseded = [c["CertificateArn"] for c, _t in found if c["CertificateArn"] != arn]

    if not module.check_mode and (cert is None or (cert["Status"] == "PENDING_VALIDATION" and not records_ready(cert))):
        cert, ready = certs.poll(arn, records_ready, params["wait_timeout"], min(2, params["wait_delay"]))
        if not ready:
            module.fail_json(msg=f"ACM gave no validation records for certificate {arn} ({names}) within {params['wait_timeout']} s",
                             certificate_arn=arn)

    if params["wait"] and not module.check_mode and cert["Status"] != "ISSUED":
        cert, issued = certs.poll(arn, lambda c: c["Status"] != "PENDING_VALIDATION", params["wait_timeout"], params["wait_delay"])
        if not issued or cert["Status"] != "ISSUED":
            pending = [f"{o['DomainName']}: {o.get('ResourceRecord', {}).get('Name')} CNAME {o.get('ResourceRecord', {}).get('Value')}"
                       for o in (cert or {}).get("DomainValidationOptions", []) if o.get("ValidationStatus") != "SUCCESS"]
            status = (cert or {}).get("Status", "gone")
            module.fail_json(
                msg=(f"Certificate {arn} ({', '.join(names)}) is {status} after {params['wait_timeout']} s of waiting for issuance"
                     if status == "PENDING_VALIDATION" else f"Certificate {arn} ({', '.join(names)}) is {status}, not ISSUED")
                + f"; ACM looks for these validation records in the domain's public DNS: {'; '.join(pending) or 'none'}. Check that the"
                " records are in the zone that the domain's DNS delegation points at, then run again (or raise wait_timeout).",
                certificate_arn=arn, certificate=summary(cert, tags) if cert else {})

    after = summary(cert, tags)
    module.exit_json(changed=changed, certificate_arn=arn, certificate=after, validation_records=records_of(cert),
                     superseded_arns=superseded, deleted_arns=[], deleted_certificates=[], diff={"before": before, "after": after})


def absent(module, certs):
    params = module.params
    found = certs.tagged(params["name_tag"])
    if params["certificate_arn"]:
        found = [(c, t) for c, t in found if c["CertificateArn"] == params["certificate_arn"]]
    doomed = [c["CertificateArn"] for c, _t in found]
    if not doomed:
        module.exit_json(changed=False, certificate_arn="", certificate={}, validation_records=[], superseded_arns=[],
                         deleted_arns=[], deleted_certificates=[], diff={"before": {}, "after": {}})
    used = [f"{c['CertificateArn']} by {', '.join(c['InUseBy'])}" for c, _t in found if c.get("InUseBy")]
    if used:
        module.fail_json(msg=f"Certificates still in use, not deleted: {'; '.join(used)}. Remove them from those resources first.")
    kept = {r["name"].lower() for c in certs.others(set(doomed)) for r in records_of(c)}
    records = {r["name"].lower(): r for c, _t in found for r in records_of(c) if r["name"].lower() not in kept}
    if not module.check_mode:
        for arn in doomed:
            try:
                certs.client.delete_certificate(CertificateArn=arn, aws_retry=True)
            except is_boto3_error_code("ResourceNotFoundException"):
                pass
            except ERRORS as e:  # pylint: disable=duplicate-except
                certs.fail(e, f"Couldn't delete certificate {arn}")
    before = {"certificates": [summary(c, t) for c, t in found]}
    module.exit_json(changed=True, certificate_arn="", certificate={}, validation_records=list(records.values()),
                     superseded_arns=[], deleted_arns=doomed, deleted_certificates=before["certificates"],
                     diff={"before": before, "after": {}})


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name_tag=dict(type="str", required=True),
            domain_name=dict(type="str"),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            certificate_arn=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            wait_delay=dict(type="int", default=10),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["domain_name"])],
        supports_check_mode=True,
    )
    if not module.params["name_tag"]:
        module.fail_json(msg="name_tag: empty; it identifies the certificate")
    if module.params["wait_timeout"] < 0 or module.params["wait_delay"] < 1:
        module.fail_json(msg="wait_timeout must be >= 0 and wait_delay >= 1 (seconds)")
    certs = Certificates(module)
    if module.params["state"] == "absent":
        absent(module, certs)
    present(module, certs)


if __name__ == "__main__":
    main()
