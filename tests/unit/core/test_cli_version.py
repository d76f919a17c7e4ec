from importlib.metadata import version

import pytest

from dealercrm.entrypoints.cli import main


def test_version_prints_the_package_version_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])

    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"dealercrm {version('dealercrm')}"
