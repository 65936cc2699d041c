"""Local Ray nodes started with `ray start` for tests and benchmarks, stopped by process id.

`ray stop` kills every Ray process on the machine, other people's clusters included. A node started
here gets its own --temp-dir (its session directory lives there, so every process of the node names
it on its command line); `stop_nodes` ends exactly those processes and their children (workers
retitle themselves `ray::...`, so they are found as descendants), nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ray_env(**extra: str) -> dict[str, str]:
    """The environment of a `ray` CLI call or a client: token auth (Ray 2.59+), this Python's bin first."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["RAY_AUTH_MODE"] = "token"
    env.pop("RAY_ADDRESS", None)
    env.update(extra)
    return env


def start_head(
    temp_dir: Path, num_cpus: int, dashboard: bool = False, num_gpus: int | None = None
) -> tuple[str, int | None]:
    """A head node; returns (GCS address 127.0.0.1:port, dashboard port or None). `num_gpus` GPUs are
    advertised whether or not the machine has them (Ray schedules on the number it is told; None:
    Ray's own count)."""
    port, dashboard_port = free_port(), (free_port() if dashboard else None)
    command = [RAY, "start", "--head", f"--port={port}", f"--num-cpus={num_cpus}", f"--temp-dir={temp_dir}",
               *([] if num_gpus is None else [f"--num-gpus={num_gpus}"]),
               "--disable-usage-stats", f"--include-dashboard={'true' if dashboard else 'false'}",
               f"--ray-client-server-port={free_port()}", *_node_ports()]
    if dashboard:
        command.append(f"--dashboard-port={dashboard_port}")
    _run(command, temp_dir)
    return f"127.0.0.1:{port}", dashboard_port


def add_node(temp_dir: Path, address: str, num_cpus: int) -> int:
    """A worker node joining `address` on this machine; returns its node manager port (its name here)."""
    manager_port = free_port()
    _run([RAY, "start", f"--address={address}", f"--num-cpus={num_cpus}", f"--temp-dir={temp_dir}",
          "--disable-usage-stats", f"--node-manager-port={manager_port}", *_node_ports(manager=False)], temp_dir)
    return manager_port


def _node_ports(manager: bool = True) -> list[str]:
    ports = [f"--object-manager-port={free_port()}", f"--metrics-export-port={free_port()}",
             f"--dashboard-agent-listen-port={free_port()}", f"--runtime-env-agent-port={free_port()}"]
    return ports + ([f"--node-manager-port={free_port()}"] if manager else [])


def _run(command: list[str], temp_dir: Path) -> None:
    Path(temp_dir).mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, env=ray_env(), capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        stop_nodes(temp_dir)
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), command)
    return out


def node_pids(temp_dir: Path, marker: str | None = None) -> list[int]:
    """Processes whose command line names `temp_dir` (and `marker`, e.g. a node manager port), with
    all their descendants."""
    processes = _processes()
    roots = {pid for pid, (_, command) in processes.items()
             if str(temp_dir) in command and (marker is None or marker in command) and pid != os.getpid()}
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, (parent, _) in processes.items() if parent in frontier and pid not in found}
        found |= frontier
    return sorted(found)


def stop_nodes(temp_dir: Path, marker: str | None = None, timeout: float = 30.0) -> int:
    """SIGTERM, then SIGKILL after `timeout`, the processes of node_pids(temp_dir, marker); returns how many."""
    pids = node_pids(temp_dir, marker)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + (timeout if sig == signal.SIGTERM else 5.0)
        while time.time() < deadline and any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in pids):
            time.sleep(0.2)
    return len(pids)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
