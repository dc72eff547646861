"""ELBv2 gaps met by the platform roles (alb), outside CodeDeploy/deployments.

* An application load balancer reports AWS's full set of default attributes
  (``access_logs.s3.enabled=false``, ``idle_timeout.timeout_seconds=60``,
  ``routing.http2.enabled=true``, ...). moto leaves several out (for Terraform's
  sake), and amazon.aws.elb_application_lb then fails with
  ``KeyError: 'access_logs_s3_enabled'`` when it compares attributes.
* DeleteLoadBalancer refuses a load balancer whose ``deletion_protection.enabled`` is ``true``
  with ``OperationNotPermitted``, as AWS does (moto deletes it).
"""

from __future__ import annotations

from typing import Any

# AWS's defaults for a new application load balancer (DescribeLoadBalancerAttributes).
ALB_DEFAULT_ATTRIBUTES = {
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "client_keep_alive.seconds": "3600",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "",
    "connection_logs.s3.prefix": "",
    "deletion_protection.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
    "load_balancing.cross_zone.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
}


def apply() -> None:
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer

    if FakeLoadBalancer.__dict__.get("_localaws_platform_attrs"):
        return

    class OperationNotPermitted(ELBClientError):
        code = "OperationNotPermitted"

    original_delete = ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self: Any, arn: str) -> None:
        lb = self.load_balancers.get(arn)
        if lb is not None and lb.attrs.get("deletion_protection.enabled") == "true":
            raise OperationNotPermitted(f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled")
        original_delete(self, arn)

    ELBv2Backend.delete_load_balancer = delete_load_balancer
    original = FakeLoadBalancer.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.type == "application":
            kept = {k: v for k, v in self.attrs.items() if k not in ("load_balancing.cross_zone.enabled",)}
            self.attrs = dict(ALB_DEFAULT_ATTRIBUTES, **kept)

    FakeLoadBalancer.__init__ = __init__
    FakeLoadBalancer._localaws_platform_attrs = True
