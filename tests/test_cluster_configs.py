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
