"""Dataset volumes work for the non-root training pods that mount them (read from the real program's plan).

The pods' uid/gid come from the Job's pod security context in the plan; FUSE volumes (Mountpoint for S3, GCS FUSE)
must carry that uid/gid as mount options, since they ignore fsGroup. Every mount resolves to a claim in the pod's
namespace on the same cluster, datasets are mounted read-only, and the trainer's own parser accepts the flags.
"""
from __future__ import annotations

import pytest

from blueprint.plan import run_plan
from tests.conftest import gcp_training_config, platform_config, shipped_plan
from workloads.train.__main__ import parse

JOB = "kubernetes:batch/v1:Job"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
PV = "kubernetes:core/v1:PersistentVolume"
SA = "kubernetes:core/v1:ServiceAccount"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"


def _gke_training(data: str | None = None):
    cfg = gcp_training_config()
    if data:
        cfg["workloads"]["training"]["data"] = data
    return run_plan("prod", platform=cfg)


def _aws_training_with_data(data: str):
    cfg = platform_config("prod")
    cfg["workloads"]["training"]["data"] = data
    return run_plan("prod", platform=cfg)


PLANS = {"dev": lambda: shipped_plan("dev"), "staging": lambda: shipped_plan("staging"),
         "prod": lambda: shipped_plan("prod"), "prod-gke": _gke_training}


def _job(plan):
    (job,) = plan.of_type(JOB)
    return job


def _claimed_volumes(plan, job) -> list[tuple[dict, dict, object, object]]:
    """(volume, its mount, claim, bound PV) for every claim-backed volume of the job's pod."""
    pod = job.get("spec.template.spec")
    ns = job.get("metadata.namespace")
    mounts = {m["name"]: m for c in pod["containers"] for m in c["volumeMounts"]}
    out = []
    for vol in pod["volumes"]:
        if "persistentVolumeClaim" not in vol:
            continue
        name = vol["persistentVolumeClaim"]["claimName"]
        claims = [c for c in plan.of_type(PVC) if c.provider_urn == job.provider_urn
                  and (c.get("metadata.namespace"), c.get("metadata.name")) == (ns, name)]
        assert len(claims) == 1, f"volume {vol['name']}: no claim {ns}/{name} on the job's cluster"
        (pv,) = [p for p in plan.of_type(PV) if p.provider_urn == job.provider_urn
                 and p.get("metadata.name") == claims[0].get("spec.volumeName")]
        assert pv.get("spec.claimRef") == {"namespace": ns, "name": name}
        out.append((vol, mounts[vol["name"]], claims[0], pv))
    return out


@pytest.mark.parametrize("which", sorted(PLANS))
def test_every_mount_names_a_volume_whose_claim_exists_on_the_same_cluster(which):
    plan = PLANS[which]()
    job = _job(plan)
    pod = job.get("spec.template.spec")
    volumes = {v["name"] for v in pod["volumes"]}
    for c in pod["containers"]:
        assert {m["name"] for m in c["volumeMounts"]} <= volumes
    claimed = _claimed_volumes(plan, job)
    assert claimed, "the training region's datasets are mounted"
    assert len({m["mountPath"] for c in pod["containers"] for m in c["volumeMounts"]}) == \
        sum(len(c["volumeMounts"]) for c in pod["containers"]), "one volume per path"
    for vol, mount, claim, pv in claimed:
        assert claim.urn in job.dependencies, "the Job waits for its claims"
        if "ReadOnlyMany" in pv.get("spec.accessModes") or vol["name"].startswith("datasets"):
            assert mount["readOnly"] is True and vol["persistentVolumeClaim"]["readOnly"] is True


@pytest.mark.parametrize("which", sorted(PLANS))
def test_fuse_mounts_carry_the_pods_uid_and_gid(which):
    plan = PLANS[which]()
    job = _job(plan)
    template = job.get("spec.template")
    security = template["spec"]["securityContext"]
    uid, gid = int(security["runAsUser"]), int(security["runAsGroup"])
    assert security["runAsNonRoot"] and uid != 0
    drivers = set()
    for _, _, _, pv in _claimed_volumes(plan, job):
        driver = pv.get("spec.csi.driver")
        drivers.add(driver)
        options = pv.get("spec.mountOptions") or []
        if driver == "s3.csi.aws.com":
            assert {f"uid={uid}", f"gid={gid}", "allow-other"} <= set(options), options
            assert "read-only" in options
            # the pod's own IRSA role (read on exactly its dataset bucket), not a driver-wide identity
            assert pv.get("spec.csi.volumeAttributes.authenticationSource") == "pod"
            (sa,) = [s for s in plan.of_type(SA) if s.provider_urn == job.provider_urn
                     and s.get("metadata.name") == template["spec"]["serviceAccountName"]]
            assert "eks.amazonaws.com/role-arn" in sa.get("metadata.annotations")
            assert any(o.startswith("region ") for o in options), "pod-level credentials need the STS region"
        elif driver == "gcsfuse.csi.storage.gke.io":
            assert {f"uid={uid}", f"gid={gid}", "implicit-dirs"} <= set(options), options
            assert pv.get("spec.csi.readOnly") is True
            assert template["metadata"]["annotations"]["gke-gcsfuse/volumes"] == "true"
        else:  # POSIX file systems: no FUSE ownership options; the pod's fsGroup applies
            assert driver in ("fsx.csi.aws.com", "filestore.csi.storage.gke.io", "lustre.csi.storage.gke.io")
            assert not options and "fsGroup" in security
    if "gcsfuse.csi.storage.gke.io" not in drivers:
        assert "gke-gcsfuse/volumes" not in (template["metadata"].get("annotations") or {})


@pytest.mark.parametrize("which", sorted(PLANS))
def test_every_volume_and_claim_names_its_drivers_storage_class_on_the_same_cluster(which):
    plan = PLANS[which]()
    job = _job(plan)
    classes = {c.get("metadata.name"): c for c in plan.of_type(SC) if c.provider_urn == job.provider_urn}
    drivers = set()
    for _, _, claim, pv in _claimed_volumes(plan, job):
        driver = pv.get("spec.csi.driver")
        drivers.add(driver)
        name = pv.get("spec.storageClassName")
        assert name and claim.get("spec.storageClassName") == name, "claim and volume bind by one class name"
        klass = classes[name]
        assert klass.get("provisioner") == driver
        assert klass.get("reclaimPolicy") == "Retain" and klass.get("allowVolumeExpansion") is False
        assert klass.get("volumeBindingMode") == "Immediate", "the Job waits for its claims to be Bound"
        assert klass.urn in pv.dependencies and klass.urn in claim.dependencies
    assert {c.get("provisioner") for c in classes.values()} == drivers, "one class per driver in use, no more"


def _trainer_args(job) -> list[str]:
    (container,) = job.get("spec.template.spec.containers")
    return container["args"]


@pytest.mark.parametrize("which", sorted(PLANS))
def test_the_trainer_accepts_its_arguments_and_reads_the_bundled_corpus_without_data(which):
    args = parse(_trainer_args(_job(PLANS[which]())))  # exits 2 on a flag the trainer does not know
    assert args.data is None


def test_data_is_read_through_the_mounts_where_the_job_sees_the_dataset_bucket():
    key = "corpora/shakespeare.txt"
    # AWS prod: FSx for Lustre mirrors the dataset bucket under /datasets (data repository association)
    plan = _aws_training_with_data(key)
    job = _job(plan)
    data = parse(_trainer_args(job)).data
    mounts = {m["mountPath"]: (m, pv) for _, m, _, pv in _claimed_volumes(plan, job)}
    hot = next(p for p, (_, pv) in mounts.items() if pv.get("spec.csi.driver") == "fsx.csi.aws.com")
    dra = plan.one("aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation")
    assert data == f"{hot}{dra.get('fileSystemPath')}/{key}"
    # GKE with Filestore: Filestore is not linked to the bucket, so the data comes from the GCS FUSE mount
    plan = _gke_training(key)
    job = _job(plan)
    data = parse(_trainer_args(job)).data
    (gcs,) = [(m, pv) for _, m, _, pv in _claimed_volumes(plan, job)
              if pv.get("spec.csi.driver") == "gcsfuse.csi.storage.gke.io"]
    assert data == f"{gcs[0]['mountPath']}/{key}"


def test_data_in_another_region_is_read_by_uri_and_nothing_is_mounted():
    cfg = platform_config("prod")
    cfg["workloads"]["training"].update(region="aws/us-west-2", pool="train-h100-spot",
                                        storageRegion="aws/us-east-1", data="corpora/a.txt")
    plan = run_plan("prod", platform=cfg)
    job = _job(plan)
    assert not _claimed_volumes(plan, job) and not plan.of_type(PVC)
    data = parse(_trainer_args(job)).data
    assert data.startswith("s3://") and data.endswith("-us-east-1-datasets/corpora/a.txt")


def test_a_data_key_must_stay_inside_the_bucket():
    from blueprint.spec import SpecError, load_spec
    for bad in ("/etc/passwd", "../other/x.txt", "a/../../b"):
        cfg = platform_config("prod")
        cfg["workloads"]["training"]["data"] = bad
        with pytest.raises(SpecError, match="data"):
            load_spec(cfg, stack="prod")
