"""A credential set the way the README says (`pulumi config set --secret`: ``{secure: ...}`` in the stack file) is
accepted by every command; the same credential in plain text is refused by every command, before any plan."""
from __future__ import annotations

import pytest

from tests.cli.helpers import run_cli, stack_dir

COMMANDS = [["validate"], ["plan"], ["cost", "--depth", "1"], ["policy"], ["review"], ["render", "--out", "{out}"]]


def _with_webhook(value):
    return lambda cfg: cfg["budget"].update(alertWebhookUrl=value)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_the_encrypted_form_is_accepted_by_every_command(tmp_path, capsys, command):
    folder = stack_dir(tmp_path, "dev", edit=_with_webhook({"secure": "v1:AAAA9mvHm0dlzU2ZbaZ6ynvQSEz6NwE5"}))
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    rc, out, err = run_cli(capsys, "--stacks-dir", str(folder), *argv, "--stack", "dev")
    assert rc == 0, err  # dev: advisory policies, within budget
    assert "plain text" not in out + err and "Traceback" not in err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_the_plain_form_is_refused_by_every_command(tmp_path, capsys, command):
    folder = stack_dir(tmp_path, "dev", edit=_with_webhook("https://hooks.example.com/T000/B000/XXXX"))
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    rc, out, err = run_cli(capsys, "--stacks-dir", str(folder), *argv, "--stack", "dev")
    assert rc == 1 and "Traceback" not in err
    text = err or out
    assert "budget.alertWebhookUrl: a credential given in plain text" in text
    assert "pulumi config set --secret --path 'aiplatform:platform.budget.alertWebhookUrl'" in text
    assert not (tmp_path / "out").exists()
