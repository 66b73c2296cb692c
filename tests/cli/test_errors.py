"""One error boundary (issue 17): every user mistake is one message naming the file, key or flag and what is allowed,
exit 1 (usage 2), no traceback, nothing half-written; an internal error shows its traceback and says it is a bug."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import cli.commands.plan as plan_cmd
from blueprint.spec.load import REPO
from tests.cli.helpers import run_cli, shipped_text, stack_dir


def _user_error(result: tuple[int, str, str], *needles: str, code: int = 1) -> str:
    """The message is on stderr (on stdout for `validate`, whose report it is)."""
    rc, out, err = result
    assert rc == code, err
    assert "Traceback" not in err and "bug" not in err, err
    text = err or out
    for needle in needles:
        assert needle in text, (needle, text)
    return text


# --- stack files ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,needles", [
    ("config:\n  aiplatform:platform: {environment: dev\n", ("Pulumi.dev.yaml:", "invalid YAML")),
    ("config:\n  aiplatform:platform:\n    environment: dev\n   tier: development\n",
     ("Pulumi.dev.yaml:4:", "invalid YAML")),
    ("- config\n- 1\n", ("Pulumi.dev.yaml", "a stack file is a mapping", "got a list")),
    ("config: [1, 2]\n", ("'config' maps config keys", "got a list")),
    (shipped_text("dev").replace("    budget: {monthlyUsd: 8000}\n",
                                 "    budget: {monthlyUsd: 8000}\n    budget: {monthlyUsd: 9000}\n"),
     ("Pulumi.dev.yaml:", "duplicate key 'budget'", "give each key once")),
])
def test_broken_stack_files_are_one_message_naming_the_file(tmp_path, capsys, text, needles):
    folder = stack_dir(tmp_path, text=text)
    for command in ("validate", "plan", "cost"):
        _user_error(run_cli(capsys, "--stacks-dir", str(folder), command, "--stack", "dev"), "stack 'dev'", *needles)


def test_the_real_entry_point_prints_no_traceback(tmp_path):
    folder = stack_dir(tmp_path, text="config:\n  aiplatform:platform: [\n")
    proc = subprocess.run([sys.executable, "-m", "cli", "--stacks-dir", str(folder), "plan", "--stack", "dev"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: stack 'dev': ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_an_unknown_stack_names_the_known_ones(capsys):
    _user_error(run_cli(capsys, "validate", "--stack", "qa"), "no stack 'qa'", "known stacks: dev, staging, prod")


# --- strict values -------------------------------------------------------------------------------------------------
def _pool(cfg: dict) -> dict:
    return cfg["regions"][0]["gpuPools"][0]


def _set(path: str, value):
    def edit(cfg: dict) -> None:
        *parents, last = path.split(".")
        node = cfg
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value
    return edit


@pytest.mark.parametrize("stack,edit,needles", [
    ("dev", lambda c: _pool(c)["scaling"].update(min=True), ("regions[0].gpuPools[0].scaling.min",
                                                             "valid integer", "got True")),
    ("dev", lambda c: _pool(c)["scaling"].update(max="2"), ("regions[0].gpuPools[0].scaling.max",)),
    ("dev", lambda c: _pool(c).update(efa="yes"), ("regions[0].gpuPools[0].efa", "got 'yes'")),
    ("dev", _set("budget.monthlyUsd", float("inf")), ("budget.monthlyUsd", "finite number")),
    ("dev", _set("budget.monthlyUsd", float("nan")), ("budget.monthlyUsd",)),
    ("dev", _set("budget.monthlyUsd", -5), ("budget.monthlyUsd", "greater than 0")),
    ("dev", lambda c: c["regions"][0].update(apiAuthorizedCidrs=["10.0.0.300/33"]),
     ("regions[0].apiAuthorizedCidrs[0]", "not a CIDR")),
    ("dev", lambda c: c["tags"].update(extra={"team": "x" * 257}), ("tags.extra.team", "at most 256")),
    ("dev", lambda c: c["tags"].update(extra={"aws:team": "ml"}), ("tags.extra.aws:team", "not starting with 'aws:'")),
    ("dev", lambda c: c["workloads"]["serving"].update(replicas={"min": 0, "desired": 0, "max": 1}),
     ("workloads.serving.replicas", "no pods", "keda: true")),
    ("prod", lambda c: (c.update(namePrefix="aiplat-production-platform"),
                        c["regions"][2].update(region="australia-southeast1")),
     ("GKE cluster name 'aiplat-production-platform-australia-southeast1'", "at most 40 characters")),
    ("prod", lambda c: c["tags"].update(extra={"Team": "ML Platform"}), ("GCP label value 'ml platform'",)),
    ("prod", lambda c: c.setdefault("policy", {}).update(systemComponents=[{
        "kind": "DaemonSet", "namespace": "Kube_System", "name": "x", "policies": ["k8s-no-host-path"],
        "reason": "reviewed for the test", "reviewedBy": "ml-platform"}]),
     ("policy.systemComponents[0].namespace", "DNS-1123 label")),
])
def test_values_the_cloud_would_refuse_or_a_lax_parser_would_coerce_are_refused(tmp_path, capsys, stack, edit,
                                                                                  needles):
    folder = stack_dir(tmp_path, stack, edit=edit)
    _user_error(run_cli(capsys, "--stacks-dir", str(folder), "validate", "--stack", stack), *needles)


def test_validate_lists_every_problem_of_every_stack_as_json(tmp_path, capsys):
    def edit(cfg):
        _pool(cfg)["scaling"]["min"] = "yes"
        cfg["budget"]["monthlyUsd"] = float("inf")
        cfg["tags"]["owner"] = 7
    folder = stack_dir(tmp_path, "dev", edit=edit)
    stack_dir(tmp_path, "staging")
    rc, out, err = run_cli(capsys, "--stacks-dir", str(folder), "validate", "--format", "json")
    assert rc == 1 and "Traceback" not in err
    results = json.loads(out)
    assert [r["stack"] for r in results] == ["dev", "staging"]  # promotion order, every stack of the folder
    dev, staging = results
    assert staging["valid"] and not dev["valid"]
    paths = {i["path"] for i in dev["issues"]}
    assert "aiplatform:platform.regions[0].gpuPools[0].scaling.min" in paths
    assert "aiplatform:platform.budget.monthlyUsd" in paths and "aiplatform:platform.tags.owner" in paths


# --- usage files ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content,needles", [
    (None, ("--usage", "no such file")),
    ("dir", ("--usage", "is a directory")),
    ("resource_usage: {a: [1\n", ("usage.yaml:", "invalid YAML")),
    ("- 1\n", ("a usage file is a mapping",)),
    ("resourceusage: {}\n", ("unknown keys ['resourceusage']", "allowed:")),
    ("resource_usage:\n  aws-us-east-1-train-a10g: {average_nodes: -5}\n", ("average_nodes", "at least 0", "-5")),
    ("resource_usage:\n  aws-us-east-1-train-a10g: {average_nodes: yes}\n", ("expected a number",)),
    ("resource_usage:\n  a: {monthly_hours: 1}\n  a: {monthly_hours: 2}\n", ("duplicate key 'a'",)),
])
def test_every_usage_problem_is_one_message(tmp_path, capsys, content, needles):
    path = tmp_path / "usage.yaml"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    _user_error(run_cli(capsys, "cost", "--stack", "dev", "--usage", str(path)), *needles)


def test_unmatched_usage_keys_are_warnings_like_infracost(tmp_path, capsys):
    path = tmp_path / "usage.yaml"
    path.write_text("resource_usage:\n  aws-us-east-1-train-a10g: {average_nodez: 1}\n"
                    "  no-such-pool: {monthly_hours: 9}\n")
    rc, out, err = run_cli(capsys, "cost", "--stack", "dev", "--depth", "1", "--usage", str(path))
    assert rc == 0 and "TOTAL" in out
    assert "warning: " in err and "attribute 'average_nodez' is not used" in err
    assert "'no-such-pool' matches no resource of stack dev" in err


# --- policy pack config --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content,needles", [
    (None, ("--policy-pack-config", "no such file")),
    ("{not json", ("--policy-pack-config", "invalid JSON at line 1")),
    ("[]", ("must be a JSON object", "got list")),
    ('{"no-such-policy": "mandatory"}', ("'no-such-policy' is not a policy of the pack", "allowed: all,")),
    ('{"all": "strict"}', ("enforcement level \"strict\" is not one of advisory, mandatory",)),
    ('{"all": 3}', ("'all': expected an enforcement level or an object",)),
])
def test_every_policy_pack_config_problem_is_one_message_before_planning(tmp_path, capsys, monkeypatch, content,
                                                                         needles):
    import cli.commands.policy as policy_cmd
    monkeypatch.setattr(policy_cmd, "run_plan", lambda stack: pytest.fail("planned before reading the config"))
    path = tmp_path / "pack.json"
    if content is not None:
        path.write_text(content)
    _user_error(run_cli(capsys, "policy", "--stack", "dev", "--policy-pack-config", str(path)), *needles)


# --- outputs -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["plan"], ["plan", "--json"], ["policy"], ["cost"], ["review"], ["validate"]])
def test_an_unwritable_out_fails_before_the_work(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setattr(plan_cmd, "run_plan", lambda stack: pytest.fail("planned although --out cannot be written"))
    _user_error(run_cli(capsys, *command, "--stack", "dev", "--out", str(tmp_path / "missing" / "x.txt")),
                "--out", "does not exist")
    _user_error(run_cli(capsys, *command, "--stack", "dev", "--out", str(tmp_path)), "--out", "is a directory")


def test_out_is_written_whole_instead_of_stdout(tmp_path, capsys):
    target = tmp_path / "v.json"
    target.write_text("old")
    rc, out, _ = run_cli(capsys, "validate", "--stack", "dev", "--format", "json", "--out", str(target))
    assert rc == 0 and out == ""
    assert json.loads(target.read_text())[0]["stack"] == "dev"
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]  # no temporary file left beside it


def test_render_writes_nothing_when_a_stack_fails_and_replaces_the_folder_whole(tmp_path, capsys):
    folder = stack_dir(tmp_path, "dev")
    stack_dir(tmp_path, "staging", edit=lambda c: c["budget"].update(monthlyUsd="lots"))
    out = tmp_path / "manifests"
    _user_error(run_cli(capsys, "--stacks-dir", str(folder), "render", "--out", str(out)), "stack 'staging'",
                "budget.monthlyUsd")
    assert not out.exists()  # dev planned fine, but nothing of it was written
    (folder / "Pulumi.staging.yaml").unlink()
    assert run_cli(capsys, "--stacks-dir", str(folder), "render", "--out", str(out))[0] == 0
    stale = out / "aws-us-east-1" / "deployment-gone-old.yaml"
    stale.write_text("kind: Deployment\n")
    assert run_cli(capsys, "--stacks-dir", str(folder), "render", "--out", str(out))[0] == 0
    assert not stale.exists() and any((out / "aws-us-east-1").iterdir())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_render_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    _user_error(run_cli(capsys, "render", "--stack", "dev", "--out", str(tmp_path)), "was not written by",
                "new or empty folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --- cost diff inputs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--base", "--preview"])
@pytest.mark.parametrize("doc,needles", [
    ({}, ("it has no \"steps\"", "an empty object is not an empty plan")),
    ([], ("expected a JSON object",)),
    ({"steps": {}}, ("\"steps\" must be a list",)),
    ({"steps": [{"op": "create", "urn": "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b"}]},
     ("steps[0] has no newState or oldState",)),
    ({"steps": [{"op": "create", "newState": {"type": "x"}}]}, ("steps[0] has no URN",)),
])
def test_cost_diff_refuses_json_of_the_wrong_shape(tmp_path, capsys, monkeypatch, flag, doc, needles):
    import cli.commands.cost as cost_cmd
    monkeypatch.setattr(cost_cmd, "run_plan", lambda stack: pytest.fail("planned before reading the file"))
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    _user_error(run_cli(capsys, "cost", "diff", "--stack", "dev", flag, str(path)), f"{flag} {path}", *needles)


def test_cost_diff_names_a_file_that_is_not_json(tmp_path, capsys):
    path = tmp_path / "doc.json"
    path.write_text("{")
    _user_error(run_cli(capsys, "cost", "diff", "--stack", "dev", "--preview", str(path)), "invalid JSON")
    _user_error(run_cli(capsys, "cost", "diff", "--stack", "dev", "--preview", str(tmp_path / "no.json")),
                "no such file")


def test_refresh_names_a_downloaded_file_of_the_wrong_shape(tmp_path, capsys):
    from blueprint.cost.refresh import main as refresh
    path = tmp_path / "offer.json"
    path.write_text("[]")
    catalog = tmp_path / "prices.yaml"
    catalog.write_text((REPO / "blueprint" / "catalog" / "prices.yaml").read_text())
    assert refresh(["--aws-region", "us-east-1", "--aws-offer-file", str(path), "--aws-spot-feed",
                    "--aws-spot-file", str(path), "--catalog", str(catalog)]) == 1
    err = capsys.readouterr().err
    assert f"--aws-offer-file {path}: expected a JSON object with \"products\"" in err and "Traceback" not in err


# --- usage errors (exit 2) and bugs --------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,needle", [
    (["plan", "--json", "--stack", "dev", "--stack", "prod"], "--json needs exactly one --stack"),
    (["cost", "diff", "--base", "HEAD", "--stack", "dev", "--stack", "prod"], "exactly one stack"),
    (["cost", "--depth", "9"], "invalid choice"),
    (["--stacks-dir", "/no/such/folder", "validate"], "no such folder"),
    (["plan", "--no-such-flag"], "unrecognized arguments"),
])
def test_usage_errors_exit_2(capsys, argv, needle):
    rc, _, err = run_cli(capsys, *argv)
    assert rc == 2 and needle in err and "Traceback" not in err


def test_an_internal_error_shows_its_traceback_and_says_it_is_a_bug(capsys, monkeypatch):
    def broken(stack):
        return {}["no such key"]
    monkeypatch.setattr(plan_cmd, "run_plan", broken)
    rc, _, err = run_cli(capsys, "plan", "--stack", "dev")
    assert rc == 3
    assert "Traceback" in err and "KeyError: 'no such key'" in err and "this is a bug" in err


def test_version(capsys):
    rc, out, _ = run_cli(capsys, "--version")
    assert rc == 0 and out.startswith("blueprint ") and out.split()[1][0].isdigit()


# --- messages in words ---------------------------------------------------------------------------------------------
def _patterns(model, seen=None) -> set[str]:
    """Every string pattern of the spec model and the models under it."""
    from pydantic import BaseModel
    seen = set() if seen is None else seen
    out: set[str] = set()
    if model in seen:
        return out
    seen.add(model)
    for field in model.model_fields.values():
        out |= {m.pattern for m in field.metadata if getattr(m, "pattern", None)}
        for tp in (field.annotation, *getattr(field.annotation, "__args__", ())):
            for inner in (tp, *getattr(tp, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    out |= _patterns(inner, seen)
    return out


def test_every_name_pattern_of_the_spec_has_words():
    from blueprint.spec.load import PATTERN_WORDS
    from blueprint.spec.model import PlatformSpec
    patterns = _patterns(PlatformSpec)
    assert len(patterns) >= 8
    assert patterns <= set(PATTERN_WORDS), patterns - set(PATTERN_WORDS)


def test_a_pattern_error_is_words_not_a_regex(tmp_path, capsys):
    folder = stack_dir(tmp_path, "dev", edit=lambda c: _pool(c).update(name="Train_A"))
    text = _user_error(run_cli(capsys, "--stacks-dir", str(folder), "validate", "--stack", "dev"),
                       "regions[0].gpuPools[0].name: must be 1-32 lower-case letters, digits or '-'", "'Train_A'")
    assert "^[" not in text and "pattern" not in text


def test_a_misspelt_region_is_one_problem_not_a_cascade(tmp_path, capsys):
    folder = stack_dir(tmp_path, "staging", edit=lambda c: c["regions"][0].update(region="us-east-9"))
    text = _user_error(run_cli(capsys, "--stacks-dir", str(folder), "validate", "--stack", "staging"),
                       "regions[0].region: 'us-east-9' is not an aws region; allowed values: us-east-1")
    assert "is not a configured region" not in text and "(1 problems)" not in text
    assert len([line for line in text.splitlines() if line.startswith("  - ")]) == 1, text
