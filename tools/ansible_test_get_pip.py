"""Stand-in for ansible-test's pip bootstrap script (get-pip.py), for machines without internet.

ansible-test downloads get-pip.py from ci-files.testing.ansible.com to put pip into
the virtualenvs it makes for sanity tests. That host is unreachable here; PyPI is.
This script does the same job with the standard library's ensurepip, then upgrades
to the pip version ansible-test asked for. ``make sanity`` copies it into
ansible-test's cache (~/.ansible/test/cache/get_pip_<version>.py).
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])
