"""scripts/setup.sh's apt step waits while another process holds the apt lock, and says how to retry."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT

LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)"


def _run(tmp_path: Path, locked_times: int, wait_s: int) -> subprocess.CompletedProcess[str]:
    """Source apt-lock.sh with a fake apt-get on PATH that is locked for the first `locked_times` calls."""
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    counter = tmp_path / "calls"
    fake.write_text(f"""#!/usr/bin/env bash
n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}
if [ $n -le {locked_times} ]; then echo "{LOCKED}" >&2; exit 100; fi
echo "apt-get $*"
""")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "APT_LOCK_WAIT_S": str(wait_s),
           "APT_LOCK_POLL_S": "0.1"}
    script = f"source {ROOT / 'scripts' / 'apt-lock.sh'}; apt_with_lock_wait install -y fonts-wqy-zenhei"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)


def test_waits_for_the_lock_then_installs(tmp_path: Path) -> None:
    result = _run(tmp_path, locked_times=2, wait_s=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("waiting for another apt/dpkg process") == 2
    assert (tmp_path / "calls").read_text().strip() == "3"


def test_gives_up_after_the_bound_and_says_how_to_retry(tmp_path: Path) -> None:
    result = _run(tmp_path, locked_times=10**6, wait_s=1)
    assert result.returncode == 1
    assert "still holds the package lock after 1s" in result.stderr and "run the same command again" in result.stderr
    assert "Could not get lock" in result.stderr  # apt's own words are shown too


def test_other_apt_errors_are_not_waited_for(tmp_path: Path) -> None:
    fake_dir = tmp_path / "bin"
    fake_dir.mkdir()
    (fake_dir / "apt-get").write_text("#!/usr/bin/env bash\necho 'E: Unable to locate package nope' >&2; exit 100\n")
    (fake_dir / "apt-get").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_dir}:{os.environ['PATH']}", "APT_LOCK_POLL_S": "0.1"}
    result = subprocess.run(["bash", "-c", f"source {ROOT / 'scripts' / 'apt-lock.sh'}; apt_with_lock_wait install nope"],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 1 and "Unable to locate package" in result.stderr and "waiting" not in result.stdout
