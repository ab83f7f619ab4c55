"""Egress in isolated mode, end to end: `controller run` with mcp-demo servers declared
`isolation: network`, so each starts in a network namespace of its own with only loopback, where
127.0.0.1:<proxy port> is a listener the controller holds; the proxy is the only way out.

The same checks as proxy mode (allowed, denied and audited), plus a direct connection that
ignores the proxy variables fails, and `egress: []` means no network at all. Skipped with the
reason only where this machine forbids network namespaces.
"""

import os
import subprocess

import pytest

from test_egress_e2e import World


def namespaces_forbidden():
    """Why this machine cannot make a network namespace (with or without a user namespace), or None."""
    reasons = []
    for command in (["unshare", "--net", "true"], ["unshare", "--user", "--map-current-user", "--net", "true"]):
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as error:
            reasons.append(f"{' '.join(command)}: {error}")
            continue
        if result.returncode == 0:
            return None
        reasons.append(f"{' '.join(command)}: {result.stderr.strip() or result.returncode}")
    return "; ".join(reasons)


@pytest.fixture(scope="module")
def world():
    reason = namespaces_forbidden()
    if reason:
        print(f"isolated mode not testable here: {reason}")
        pytest.skip(f"network namespaces are forbidden on this machine: {reason}")
    w = World(isolation="network", sealed=True)
    yield w
    w.stop()


def host_netns_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def test_the_servers_run_in_network_namespaces_of_their_own(world):
    mine = host_netns_inode()
    demo = os.stat(f"/proc/{world.pid()}/ns/net").st_ino
    assert demo != mine
    with open(f"/proc/{world.pid()}/net/dev") as f:
        interfaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    assert interfaces == ["lo"], interfaces


def test_an_allowed_host_is_reached_through_the_proxy_inside_the_namespace(world):
    failed, text = world.fetch(f"http://allowed.test:{world.p2}/inside")
    assert not failed, text
    assert "hello from two /inside" in text


def test_a_denied_host_is_refused_and_audited(world):
    failed, text = world.fetch(f"http://denied.test:{world.p2}/no")
    assert failed, text
    assert "403" in text
    records = [r for r in world.audit() if r["kind"] == "egress_denied" and r["host"] == "denied.test"]
    assert records and records[-1]["server"] == "demo", world.audit()


def test_a_direct_connection_that_bypasses_the_proxy_fails(world):
    # The same address and port that the proxy reaches for it, and that proxy mode's bypass
    # reaches (test_proxy_mode_does_not_stop_a_server_that_connects_directly).
    failed, text = world.fetch(f"http://127.0.0.2:{world.p2}/direct", direct=True)
    assert failed, text
    assert "hello from two" not in text
    assert "/direct" not in world.two.paths, world.two.paths


def test_an_empty_egress_list_means_no_network_at_all(world):
    from harness import Raw

    sealed = Raw(world.port, "sealed")
    sealed.initialize()
    failed, text = world.fetch(f"http://allowed.test:{world.p2}/sealed", client=sealed)
    assert failed and "403" in text, text
    failed, text = world.fetch(f"http://127.0.0.2:{world.p2}/sealed-direct", client=sealed, direct=True)
    assert failed, text
    assert not {"/sealed", "/sealed-direct"} & set(world.two.paths), world.two.paths
    records = [r for r in world.audit() if r["kind"] == "egress_denied" and r["server"] == "sealed"]
    assert records, world.audit()


def status_fields(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_an_isolated_server_holds_no_capability_and_cannot_regain_one(world):
    # Else a server of a root controller could join the host's namespace again through
    # /proc/<controller>/ns/net (setns needs CAP_SYS_ADMIN).
    fields = status_fields(world.pid())
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(fields[name], 16) == 0, (name, fields[name])
    assert fields["NoNewPrivs"].strip() == "1", fields["NoNewPrivs"]
    if os.geteuid() == 0:
        # Root's capabilities at exec come from the bounding set: empty.
        assert int(fields["CapBnd"], 16) == 0, fields["CapBnd"]

