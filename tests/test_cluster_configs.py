"""cluster/: the Ray cluster launcher config validates against Ray's own schema; the KubeRay RayJob
has every field the CRD requires and an entrypoint our driver accepts."""

import json
import re
import shlex
from pathlib import Path

import jsonschema
import ray
import yaml

from pipelines.full_matrix import parse_args

CLUSTER = Path(__file__).resolve().parents[1] / "cluster"
RAY_VERSION = ray.__version__


def test_launcher_config_is_valid_for_rays_schema():
    config = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    assert config["head_node_type"] in config["available_node_types"]
    assert config["docker"]["image"].startswith(f"rayproject/ray:{RAY_VERSION}")
    assert any("pip install" in command and "mopjepa" in command for command in config["setup_commands"])
    assert config["max_workers"] >= max(t.get("max_workers", 0) for t in config["available_node_types"].values())


def _entrypoint_args(entrypoint: str):
    tokens = shlex.split(entrypoint)
    assert tokens[:2] == ["python", "pipelines/full_matrix.py"]
    return parse_args(tokens[2:])


def test_rayjob_manifest_has_the_required_fields_and_a_valid_entrypoint():
    job = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", job["metadata"]["name"])
    spec = job["spec"]
    args = _entrypoint_args(spec["entrypoint"])
    assert args.preset == "paper" and args.storage.startswith("/mnt/shared")
    assert yaml.safe_load(spec["runtimeEnvYAML"])["env_vars"]["OMP_NUM_THREADS"] == "1"
    cluster = spec["rayClusterSpec"]
    assert cluster["rayVersion"] == RAY_VERSION
    head = cluster["headGroupSpec"]["template"]["spec"]
    assert head["containers"][0]["image"] and "rayStartParams" in cluster["headGroupSpec"]
    for group in cluster["workerGroupSpecs"]:
        assert group["groupName"] and "rayStartParams" in group
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        assert group["template"]["spec"]["containers"][0]["image"]
    for pod in [head] + [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]:
        volumes = {v["name"] for v in pod["volumes"]}
        assert {m["name"] for c in pod["containers"] for m in c["volumeMounts"]} <= volumes


def test_dockerfile_uses_the_same_ray_version():
    text = (CLUSTER / "Dockerfile").read_text()
    assert f"FROM rayproject/ray:{RAY_VERSION}" in text and "pip install" in text


# -- issue 14 item 6 (data loss, exposure) and issue 16 item 2 (a GPU worker type) ----------------------------------

LOOPBACK = ("127.0.0.1", "localhost", "0.0.0.0")


def _launcher() -> tuple[dict, str]:
    text = (CLUSTER / "ray-cluster.yaml").read_text()
    return yaml.safe_load(text), text


def _header_command(text: str) -> list[str]:
    """The documented `ray job submit ... -- python pipelines/full_matrix.py ...` of the file's header."""
    lines = [line.lstrip("#").strip().rstrip("\\").strip() for line in text.splitlines() if line.startswith("#")]
    start = next(i for i, line in enumerate(lines) if "ray job submit" in line)
    joined = " ".join(lines[start:start + 3])
    return shlex.split(joined.split(" -- ", 1)[1])


def test_launcher_fails_a_node_whose_shared_mount_fails():
    config, _ = _launcher()
    commands = config["initialization_commands"]
    assert not any("|| true" in command for command in commands)
    assert any("mount -t nfs4" in command and "/mnt/shared" in command for command in commands)
    check = commands[-1]
    assert check.startswith("mountpoint -q /mnt/shared ||") and "exit 1" in check


def test_launcher_services_listen_on_the_cluster_network_only_and_trials_reach_the_head():
    config, text = _launcher()
    head = " ".join(config["head_start_ray_commands"])
    assert "0.0.0.0" not in text
    assert "--dashboard-host=127.0.0.1" in head
    mlflow = next(c for c in config["head_start_ray_commands"] if "mlflow server" in c)
    assert "HEAD_IP=$(hostname -I" in mlflow and "--host $HEAD_IP" in mlflow and "--allowed-hosts" in mlflow
    start = next(c for c in config["head_start_ray_commands"] if "ray start --head" in c)
    assert "MLFLOW_TRACKING_URI=http://$HEAD_IP:5000" in start and "RAY_USAGE_STATS_ENABLED=0" in start
    args = parse_args(_header_command(text)[2:])
    assert args.tracking_uri is None or not any(host in args.tracking_uri for host in LOOPBACK)
    assert args.storage.startswith("/mnt/shared") and args.dataset_dir.startswith("/mnt/shared")
    assert "ray dashboard cluster/ray-cluster.yaml" in text and "ssh -i <key> -L 5000:" in text


def test_launcher_has_a_gpu_worker_type():
    config, text = _launcher()
    gpu = config["available_node_types"]["gpu_worker"]
    assert gpu["resources"]["GPU"] >= 1 and gpu["resources"]["CPU"] >= 1
    assert gpu["docker"]["worker_image"] == f"rayproject/ray:{RAY_VERSION}-py311-gpu"
    assert "--gpus all" in gpu["docker"]["worker_run_options"]
    assert any("nvidia-smi" in c and "cu128" in c for c in config["setup_commands"])
    assert "gpu_worker" in text.split("cluster_name:")[0]  # documented in the header


def test_rayjob_trials_reach_mlflow_by_service_and_nothing_is_exposed():
    text = (CLUSTER / "rayjob.yaml").read_text()
    job = yaml.safe_load(text)
    args = _entrypoint_args(job["spec"]["entrypoint"])
    assert args.tracking_uri == "http://mlflow:5000"
    assert "LoadBalancer" not in text and "NodePort" not in text and "0.0.0.0" not in text
    assert "kubectl port-forward service/mlflow 5000:5000" in text
    for group in job["spec"]["rayClusterSpec"]["workerGroupSpecs"]:
        pod = group["template"]["spec"]
        shared = [v for v in pod["volumes"] if v["name"] == "shared"]
        assert shared and "persistentVolumeClaim" in shared[0]  # never a pod-local volume for results


def test_rayjob_has_a_gpu_worker_group_and_the_dockerfile_a_gpu_stage():
    job = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())
    gpu = next(g for g in job["spec"]["rayClusterSpec"]["workerGroupSpecs"] if g["groupName"] == "gpu")
    pod = gpu["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == container["resources"]["limits"]["nvidia.com/gpu"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert container["image"].endswith("-gpu")
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    assert f"FROM rayproject/ray:{RAY_VERSION}-py311-gpu AS gpu" in dockerfile and "--target gpu" in dockerfile
    assert dockerfile.rstrip().splitlines()[-1].startswith("    && pip install")  # the CPU stage is the default
