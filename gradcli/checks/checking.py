"""`gradcli check PATH`: dispatch a network spec, a problem file or a directory of them.

A file with a top-level `claims:` key is a problem file, otherwise a network spec;
a directory checks every *.yaml/*.yml below it and sums up.
"""

from __future__ import annotations

from pathlib import Path

from gradcli.checks.options import CheckOptions
from gradcli.errors import GradcliError


def check_path(path: Path, options: CheckOptions):
    """Result of checking `path`: a NetCheckResult for one network spec, else a BankResult of files."""
    path = Path(path)
    if not path.exists():
        raise GradcliError(f"no such file or directory: {path}", where=str(path))
    if path.is_file():
        from gradcli.io import spec
        from gradcli.io.models import NetSpec

        loaded = spec.load(path)
        if isinstance(loaded, NetSpec):
            from gradcli.checks.nets.netcheck import check_net

            return check_net(loaded, options)
    from gradcli.checks.bank import check_bank

    return check_bank(path, options)
