"""seed.fargate.acm_certificate against the local endpoint: a DNS-validated certificate requested once and found
again by its Name tag and names, its validation records returned, check mode writing nothing, the wait failing with
the records it waits for while they are missing and succeeding once they are in the zone, another certificate for
other names reported as superseded, removal returning the records only the deleted certificates used."""

from __future__ import annotations

import time

import yaml

NAME_TAG = "t-domain"


def playbook(tmp_path, args, name="pb.yml"):
    path = tmp_path / name
    task = {"name": "certificate", "seed.fargate.acm_certificate": args, "register": "result"}
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def result(run):
    return run.task_results("certificate")[0]


def certificate(**over):
    return {"name_tag": NAME_TAG, "domain_name": "app.example.com", "subject_alternative_names": ["*.app.example.com"],
            "tags": {"stack": "t"}, "wait_delay": 1} | over


def write(boto, zone_id, records):
    boto("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": r["name"], "Type": r["type"], "TTL": 300,
                                                   "ResourceRecords": [{"Value": r["value"]}]}} for r in records]})


def test_certificate_lifecycle(run_playbook, boto, tmp_path):
    acm = boto("acm")
    zone_id = boto("route53").create_hosted_zone(Name="example.com", CallerReference=str(time.time()))["HostedZone"]["Id"]

    dry = run_playbook(playbook(tmp_path, certificate()), check=True, diff=True)
    assert dry.rc == 0, dry.failure_messages()
    assert result(dry)["changed"] and "known-after-apply" in result(dry)["certificate_arn"]
    assert dry.writes == [] and acm.list_certificates()["CertificateSummaryList"] == []

    made = run_playbook(playbook(tmp_path, certificate()))
    assert made.rc == 0, made.failure_messages()
    out = result(made)
    arn = out["certificate_arn"]
    assert out["changed"] and out["certificate"]["status"] == "PENDING_VALIDATION"
    assert [c["action"] for c in made.writes] == ["RequestCertificate"]
    [record] = out["validation_records"]  # the wildcard shares the base domain's record
    assert record["type"] == "CNAME" and record["name"].endswith(".app.example.com.")

    again = run_playbook(playbook(tmp_path, certificate()))
    assert again.rc == 0 and not result(again)["changed"] and again.writes == []
    assert result(again)["certificate_arn"] == arn

    # Without the records in the zone the wait ends in a failure naming them.
    waiting = run_playbook(playbook(tmp_path, certificate(wait=True, wait_timeout=3)))
    assert waiting.rc != 0
    [message] = waiting.failure_messages()
    assert "PENDING_VALIDATION after 3 s" in message and record["name"] in message and record["value"] in message

    write(boto, zone_id, [record])
    issued = run_playbook(playbook(tmp_path, certificate(wait=True, wait_timeout=60)))
    assert issued.rc == 0, issued.failure_messages()
    assert result(issued)["certificate"]["status"] == "ISSUED" and result(issued)["certificate_arn"] == arn
    assert issued.writes == []

    # Other names: a new certificate; the first one is superseded.
    other = run_playbook(playbook(tmp_path, certificate(subject_alternative_names=["www.app.example.com"])))
    assert other.rc == 0, other.failure_messages()
    assert result(other)["certificate_arn"] != arn and result(other)["superseded_arns"] == [arn]
    www = [r for r in result(other)["validation_records"] if r["name"].endswith(".www.app.example.com.")]
    assert len(result(other)["validation_records"]) == 2 and len(www) == 1

    # Removing the first one: its record stays in use by the second, so none is returned for removal.
    first = run_playbook(playbook(tmp_path, {"name_tag": NAME_TAG, "certificate_arn": arn, "state": "absent"}))
    assert first.rc == 0 and result(first)["deleted_arns"] == [arn] and result(first)["validation_records"] == []
    # All of them: the remaining certificate's records are returned.
    rest = run_playbook(playbook(tmp_path, {"name_tag": NAME_TAG, "state": "absent"}))
    assert rest.rc == 0 and len(result(rest)["deleted_arns"]) == 1
    assert sorted(r["name"] for r in result(rest)["validation_records"]) == sorted(r["name"] for r in result(other)["validation_records"])
    assert acm.list_certificates()["CertificateSummaryList"] == []
    gone = run_playbook(playbook(tmp_path, {"name_tag": NAME_TAG, "state": "absent"}))
    assert gone.rc == 0 and not result(gone)["changed"] and gone.writes == []


def test_certificate_of_another_tag_is_never_touched(run_playbook, boto, tmp_path):
    acm = boto("acm")
    theirs = acm.request_certificate(DomainName="app.example.com", ValidationMethod="DNS",
                                     Tags=[{"Key": "Name", "Value": "someone-else"}])["CertificateArn"]
    made = run_playbook(playbook(tmp_path, certificate(subject_alternative_names=[])))
    assert made.rc == 0 and result(made)["certificate_arn"] != theirs
    gone = run_playbook(playbook(tmp_path, {"name_tag": NAME_TAG, "state": "absent"}))
    assert gone.rc == 0 and result(gone)["deleted_arns"] == [result(made)["certificate_arn"]]
    assert [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]] == [theirs]
