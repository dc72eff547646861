"""One botocore data loader per interpreter, for playbooks whose modules share a warm interpreter (mitogen).

amazon.aws modules make a new boto3 session for every task, and each session a new botocore ``Loader``, which
parses ``endpoints.json``, ``partitions.json`` and the service's model again: about 0.17 s per client here,
0.03 s once the loader is shared (tools/fastpath.py measures it). In a module process of Ansible's stock
strategy the cache lives one task and changes nothing; under mitogen, where the modules of a run share one
interpreter, it is the difference between parsing those files once and 80 times per converge.

A loader holds only botocore's read-only data files (service models, endpoints, paginators, waiters) keyed by
its search path; credentials, regions and clients stay per session. Put this directory first on ``PYTHONPATH``
(``eval "$(python tools/fastpath.py)"`` does) and ``botocore.session.create_loader`` returns the loader it
made before for the same data path. botocore itself is imported only when something imports it. A
``sitecustomize`` found further down ``sys.path`` (Debian's, a virtualenv's) is still run.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


class _SharedLoaderHook(importlib.abc.MetaPathFinder):
    """Patches ``botocore.session`` right after it is first executed, then leaves ``sys.meta_path``."""

    def find_spec(self, fullname, path, target=None):  # pylint: disable=unused-argument
        if fullname != "botocore.session":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            create_loader, made = module.create_loader, {}

            def shared_loader(search_path_string=None):
                if search_path_string not in made:
                    made[search_path_string] = create_loader(search_path_string)
                return made[search_path_string]

            module.create_loader = shared_loader

        spec.loader.exec_module = exec_module
        return spec


def _run_next_sitecustomize():
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


if "botocore.session" not in sys.modules:
    sys.meta_path.insert(0, _SharedLoaderHook())
_run_next_sitecustomize()
