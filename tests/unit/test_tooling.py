"""The repository's tooling does what `make test` relies on.

Each test runs the real tool (ansible-galaxy, ansible-doc, ansible-config, ansible-lint,
pytest, scripts/sanity.sh) the way the project runs it, with a control case where the
result depends on the set-up under test.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import textwrap

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
COLLECTION = REPO / "collections" / "ansible_collections" / "vpnops" / "ikev2"
GALAXY = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())


def _env(**extra: str) -> dict[str, str]:
    """The environment minus any ANSIBLE_* settings, so only config files decide.

    Collection scanning of sys.path is off: the venv's .pth puts collections/ on sys.path,
    which would find the collection whatever ansible.cfg says.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "false"
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: pathlib.Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=_env(**extra), capture_output=True, text=True, timeout=600)


def test_collection_resolves_from_repo_through_ansible_cfg(tmp_path: pathlib.Path) -> None:
    cmd = [str(VENV_BIN / "ansible-galaxy"), "collection", "list", "vpnops.ikev2", "--format", "json"]

    here = _run(cmd, REPO)
    assert here.returncode == 0, here.stderr
    found = json.loads(here.stdout)
    assert found == {str(REPO / "collections" / "ansible_collections"): {"vpnops.ikev2": {"version": GALAXY["version"]}}}

    # Control: outside the repo (no ansible.cfg) the same command does not find it.
    elsewhere = _run(cmd, tmp_path)
    assert "vpnops.ikev2" not in elsewhere.stdout


def test_ansible_doc_lists_every_module_of_the_collection() -> None:
    modules = {
        f"vpnops.ikev2.{p.stem}"
        for p in (COLLECTION / "plugins" / "modules").glob("*.py")
        if p.stem != "__init__"
    }
    if not modules:
        pytest.skip("the collection has no modules yet")
    result = _run([str(VENV_BIN / "ansible-doc"), "-t", "module", "-l", "-j", "vpnops.ikev2"], REPO)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == modules


def test_ansible_cfg_settings() -> None:
    result = _run([str(VENV_BIN / "ansible-config"), "dump", "--only-changed", "-t", "all", "--format", "json"], REPO)
    assert result.returncode == 0, result.stderr
    dump = json.loads(result.stdout)
    base = {item["name"]: item["value"] for item in dump if "name" in item}
    assert base["CONFIG_FILE"] == str(REPO / "ansible.cfg")
    assert base["COLLECTIONS_PATHS"] == [str(REPO / "collections")]
    assert base["DEFAULT_HOST_LIST"] == [str(REPO / "inventories" / "lab")]
    assert base["INTERPRETER_PYTHON"] == "/usr/bin/python3"
    assert base["DEFAULT_FORKS"] == 20
    assert base["DEFAULT_TRANSPORT"] == "ssh"

    def plugin_settings(kind: str, name: str) -> dict:
        for section in dump:
            if f"{kind}_PLUGINS" in section:
                for entry in section[f"{kind}_PLUGINS"]:
                    if name in entry:
                        return {item["name"]: item["value"] for item in entry[name]}
        return {}

    ssh = plugin_settings("CONNECTION", "ssh")
    assert ssh["pipelining"] is True
    assert "ControlPersist=" in ssh["ssh_args"]
    # The lab inventory's own known_hosts, strict checking and ControlPath must not be overridden.
    for option in ("StrictHostKeyChecking", "UserKnownHostsFile", "ControlPath"):
        assert option not in ssh["ssh_args"]
    assert "HOST_KEY_CHECKING" not in base
    assert plugin_settings("CALLBACK", "default")["result_format"] == "yaml"


def test_collection_build_includes_the_collection_and_honours_build_ignore(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "src" / "ikev2"
    shutil.copytree(COLLECTION, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "tests" / "output" / "junk").mkdir(parents=True, exist_ok=True)
    (src / "tests" / "output" / "junk" / "result.json").write_text("{}")
    (src / "vpnops-ikev2-0.0.1.tar.gz").write_bytes(b"stale build")
    out = tmp_path / "out"

    result = _run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(src)], tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout

    tarball = out / f"vpnops-ikev2-{GALAXY['version']}.tar.gz"
    assert tarball.is_file(), list(out.iterdir())
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    for required in ("README.md", "COPYING", "meta/runtime.yml", "changelogs/config.yaml", "changelogs/changelog.yaml"):
        assert required in names
    assert not [n for n in names if n.startswith("tests/output")]
    assert "vpnops-ikev2-0.0.1.tar.gz" not in names
    assert manifest["collection_info"]["license"] == GALAXY["license"]

    # Every file git tracks in the collection ships, except build_ignore'd ones.
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--", "."], cwd=COLLECTION, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    missing = [f for f in tracked if f and f != "galaxy.yml" and f not in names and not f.startswith("tests/output")]
    assert not missing


def test_sanity_script_installs_the_get_pip_stand_in_and_it_bootstraps_pip(tmp_path: pathlib.Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    listed = _run([str(REPO / "scripts" / "sanity.sh"), "--list-tests"], REPO, HOME=str(home))
    assert listed.returncode == 0, listed.stderr
    tests = [line for line in listed.stdout.splitlines() if line and not line.startswith("sanity:")]
    assert len(tests) == 24 and "pylint" in tests and "validate-modules" in tests

    (stand_in,) = (home / ".ansible" / "test" / "cache").glob("get_pip_*.py")

    # Used as ansible-test uses it: in a virtualenv without pip, with get-pip's own options.
    base = next(
        line.split("=", 1)[1].strip()
        for line in (REPO / ".venv" / "pyvenv.cfg").read_text().splitlines()
        if line.startswith("executable")
    )
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True).returncode != 0
    boot = subprocess.run(
        [str(venv / "bin" / "python"), str(stand_in), "--disable-pip-version-check", "--no-index", "pip",
         "--no-setuptools", "--no-wheel"],
        capture_output=True, text=True, timeout=300,
    )
    assert boot.returncode == 0, boot.stderr
    assert subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True).returncode == 0


def _project(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def test_pytest_config_marks_tests_under_tests_lab(tmp_path: pathlib.Path) -> None:
    proj = _project(tmp_path, {
        "pytest.ini": (REPO / "pytest.ini").read_text(),
        "tests/conftest.py": (REPO / "tests" / "conftest.py").read_text(),
        "tests/unit/test_u.py": "def test_unit():\n    pass\n",
        "tests/lab/test_l.py": "def test_on_lab():\n    pass\n",
    })
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only"]

    unit = subprocess.run(base + ["-m", "not lab"], cwd=proj, capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout
    assert "tests/unit/test_u.py::test_unit" in unit.stdout and "test_on_lab" not in unit.stdout

    lab = subprocess.run(base + ["-m", "lab"], cwd=proj, capture_output=True, text=True)
    assert lab.returncode == 0, lab.stdout
    assert "tests/lab/test_l.py::test_on_lab" in lab.stdout and "test_unit" not in lab.stdout


def test_ansible_lint_config_enforces_the_production_profile(tmp_path: pathlib.Path) -> None:
    good = "- name: Say hello\n  hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: Hello\n      ansible.builtin.debug:\n        msg: hello\n"
    bad = "- hosts: localhost\n  tasks:\n    - debug:\n        msg: hello\n"
    proj = _project(tmp_path, {
        ".ansible-lint": (REPO / ".ansible-lint").read_text(),
        "ansible.cfg": "[defaults]\n",
        "playbooks/good.yml": "---\n" + good,
    })
    lint = [str(VENV_BIN / "ansible-lint"), "--nocolor"]
    clean = _run(lint, proj)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Profile 'production' was required, and it passed" in clean.stderr

    (proj / "playbooks" / "bad.yml").write_text("---\n" + bad)
    dirty = _run(lint, proj)
    assert dirty.returncode != 0
    assert "fqcn[action-core]" in dirty.stdout + dirty.stderr
    assert "name[play]" in dirty.stdout + dirty.stderr


def test_ansible_lint_resolves_collection_content_through_ansible_cfg(tmp_path: pathlib.Path) -> None:
    coll = "collections/ansible_collections/vpnops/ikev2"
    module = '''\
        #!/usr/bin/python
        DOCUMENTATION = r"""
        module: zz_probe
        short_description: Probe
        description: Probe.
        author: vpnops maintainers
        options: {}
        """
        from ansible.module_utils.basic import AnsibleModule
        AnsibleModule(argument_spec={}).exit_json(changed=False)
        '''
    play = "---\n- name: Probe\n  hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: Probe it\n      vpnops.ikev2.{}:\n"
    proj = _project(tmp_path, {
        ".ansible-lint": (REPO / ".ansible-lint").read_text(),
        "ansible.cfg": (REPO / "ansible.cfg").read_text(),
        f"{coll}/galaxy.yml": (COLLECTION / "galaxy.yml").read_text(),
        f"{coll}/meta/runtime.yml": (COLLECTION / "meta" / "runtime.yml").read_text(),
        f"{coll}/plugins/modules/zz_probe.py": module,
        "playbooks/probe.yml": play.format("zz_probe"),
    })
    lint = [str(VENV_BIN / "ansible-lint"), "--nocolor", "playbooks/probe.yml"]
    found = _run(lint, proj)
    assert found.returncode == 0, found.stdout + found.stderr

    # Control: a module the collection does not have fails the syntax check.
    (proj / "playbooks" / "probe.yml").write_text(play.format("zz_absent"))
    missing = _run(lint, proj)
    assert missing.returncode != 0
    assert "syntax-check" in missing.stdout + missing.stderr
