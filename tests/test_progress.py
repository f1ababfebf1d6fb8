"""Progress bars: drawn on a terminal, absent from piped output (where they would be carriage-return
fragments mixed with the phase messages), and forced either way with NAS_PROGRESS."""

import os
import subprocess
import sys


def _estimate_stderr(tmp_path, env_extra):
    f = tmp_path / "archs.txt"
    f.write_text("8:conv_k3_s1_c4|gap,fc_c10\n16:conv_k3_s1_c4|gap,fc_c10\n")
    env = {k: v for k, v in os.environ.items() if k != "NAS_PROGRESS"} | env_extra
    r = subprocess.run([sys.executable, "-m", "nas", "estimate", "--archs", str(f), "--accuracy", "params",
                        "--json", "--no-cache"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_piped_output_has_no_bar_fragments(tmp_path):
    assert "net/s" not in _estimate_stderr(tmp_path, {})   # (text mode turns a bar's \r into \n)


def test_nas_progress_forces_the_bar_on(tmp_path):
    err = _estimate_stderr(tmp_path, {"NAS_PROGRESS": "1"})
    assert "0/2" in err and "2/2" in err
