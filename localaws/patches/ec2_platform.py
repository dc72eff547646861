"""EC2 gaps met by the platform's destroy (playbooks/destroy.yml), outside CodeDeploy.

* DeleteNatGateway deletes the gateway's network interface and disassociates its
  Elastic IP (which stays allocated), as AWS does. moto kept the interface, so a
  destroyed stack left an orphan ``eni-...`` behind.
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    if NatGatewayBackend.__dict__.get("_localaws_platform_eni"):
        return
    original = NatGatewayBackend.delete_nat_gateway

    def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
        nat_gw = original(self, nat_gateway_id)
        eni = getattr(nat_gw, "_eni", None)
        if eni is not None:
            for eip in list(getattr(self, "addresses", [])):
                if getattr(eip, "eni", None) is eni:
                    eip.eni = None
                    eip.association_id = None
            if eni.id in getattr(self, "enis", {}):
                self.delete_network_interface(eni.id)
        return nat_gw

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway
    NatGatewayBackend._localaws_platform_eni = True
