"""A local AWS endpoint for seed.fargate: moto's server plus the behaviour moto lacks.

moto answers most of the AWS API the collection uses. Where it is silent or
more permissive than AWS (CodeDeploy deployments that never progress, ECS
accepting a task definition change on a CODE_DEPLOY service, ...), the modules
under :mod:`localaws.patches` fill the gap, following AWS's documented
behaviour. Every emulated behaviour is listed in ``docs/local-endpoint.md``.

Nothing in the collection's roles or modules knows about this package: they
reach it through ``endpoint_url`` and fake credentials, as they would reach AWS.
"""

from localaws.launcher import LocalAWS

__all__ = ["LocalAWS"]
