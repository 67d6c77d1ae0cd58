"""The README's Python example runs as written (against a tiny trained run instead of the demo's)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tiny_rnn_run, tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 6
    monkeypatch.chdir(tmp_path)
    exec(code.replace('"out/demo/run"', repr(str(tiny_rnn_run))), {})
    assert (tmp_path / "first.mid").stat().st_size > 0
    assert (tmp_path / "first.wav").stat().st_size > 1000


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert "make demo" in first_block and "make test" in first_block
