# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CIDR helpers for the network role: plan subnets and check user input.

Python's ipaddress does the arithmetic so the collection needs neither netaddr
nor ansible.utils.
"""

from __future__ import annotations

import ipaddress
from itertools import combinations

from ansible.errors import AnsibleFilterError


def _network(value):
    return ipaddress.IPv4Network(str(value), strict=True)


def is_ipv4_cidr(value):
    """True when value is an IPv4 network in CIDR form with no host bits set (10.0.0.0/16)."""
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        _network(value)
    except ValueError:
        return False
    return True


def cidr_contains(outer, inner):
    """True when network ``inner`` lies entirely inside ``outer``."""
    return _network(inner).subnet_of(_network(outer))


def overlapping_cidrs(cidrs):
    """The pairs ``"a overlaps b"`` among a list of networks (empty when none overlap)."""
    nets = [_network(c) for c in cidrs]
    return [f"{a} overlaps {b}" for a, b in combinations(nets, 2) if a.overlaps(b)]


def subnet_cidrs(vpc_cidr, count, tier):
    """Plan ``count`` subnets of a tier ("public" or "private") inside ``vpc_cidr``.

    The VPC is cut into 16 equal blocks; public subnets take blocks 0..n-1 and
    private subnets blocks 8..8+n-1, so up to 8 AZs fit and the two tiers
    never overlap.
    """
    vpc = _network(vpc_cidr)
    count = int(count)
    if vpc.prefixlen > 24:
        raise AnsibleFilterError(f"VPC {vpc} is too small to plan subnets (at most /24); give subnet CIDRs explicitly")
    if not 1 <= count <= 8:
        raise AnsibleFilterError(f"cannot plan {count} subnets per tier: between 1 and 8")
    blocks = list(vpc.subnets(new_prefix=vpc.prefixlen + 4))
    start = {"public": 0, "private": 8}[tier]
    return [str(b) for b in blocks[start:start + count]]


class FilterModule:
    def filters(self):
        return {
            "is_ipv4_cidr": is_ipv4_cidr,
            "cidr_contains": cidr_contains,
            "overlapping_cidrs": overlapping_cidrs,
            "subnet_cidrs": subnet_cidrs,
        }
