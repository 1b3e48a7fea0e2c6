"""``stygig aws ...``: config show, deploy, redeploy, train, pipeline, batch, invoke, doctor, teardown, push-image.

A light module: it builds the argument parsers and imports boto3 and the deploy functions only
when a command runs. Every command loads one :class:`~stygig.aws.config.DeploymentConfig`
(defaults < file < environment < flags), makes one :class:`~stygig.aws.session.AwsSession`
(``--dry-run``: print the requests, send nothing) and calls the functions of :mod:`stygig.aws`
(endpoint, redeploy, training, invoke, teardown, doctor).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stygig.aws.config.schema import SETTINGS
from stygig.cli.core import add_query_options, options_dict


ENDPOINT_NAME_HELP = "the endpoint to create (1-63 letters, digits and hyphens)"
INFO_HELP = "where to write the endpoint's names, ARNs and settings (default ./endpoint_info.json)"
CATALOG_HELP = "s3:// manifest (.jsonl/.csv), or a prefix holding one or category folders"
JOB_NAME_HELP = "training job name (default stygig-build-<timestamp>)"
TRAIN_DESCRIPTION = (
    "Run `stygig build` as a SageMaker training job. The job runs the StyGig image (training.image, "
    'default "stygig"), which must be in your ECR first: `stygig aws push-image` builds and pushes it and '
    "needs docker on this machine (or give --train-image URI of an image you pushed)."
)


def register(sub: argparse._SubParsersAction) -> None:
    aws = sub.add_parser(
        "aws",
        help="deploy to and manage Amazon SageMaker",
        description="Deploy StyGig to Amazon SageMaker from one validated configuration (see docs/deploy_sagemaker.md).",
    )
    asub = aws.add_subparsers(dest="aws_command", metavar="COMMAND")
    asub.required = True

    p = asub.add_parser("config", help="show the effective deployment configuration")
    csub = p.add_subparsers(dest="config_command", metavar="COMMAND")
    csub.required = True
    p = csub.add_parser("show", help="print every setting, its value and where it came from")
    _config_flags(p, dry_run=False)
    _endpoint_flags(p)
    _async_flags(p)
    _train_flags(p)
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_config_show)

    p = asub.add_parser("deploy", help="create a model, endpoint config and endpoint; wait for InService")
    p.add_argument("artifact", nargs="?", help="artifact directory or model.tar.gz (packaged and uploaded)")
    p.add_argument("--model-uri", metavar="S3_URI", help="an existing s3://.../model.tar.gz instead of ARTIFACT")
    p.add_argument("--endpoint-name", required=True, metavar="NAME", help=ENDPOINT_NAME_HELP)
    p.add_argument("--async", dest="asynchronous", action="store_true", help="an asynchronous endpoint (S3 in/out, scales to zero)")
    _async_flags(p)
    _config_flags(p, wait=True)
    _endpoint_flags(p)
    p.add_argument("--no-wait", action="store_true", help="return once the endpoint is being created")
    p.add_argument("--info", default="endpoint_info.json", metavar="FILE", help=INFO_HELP)
    p.set_defaults(func=cmd_deploy)

    p = asub.add_parser("redeploy", help="update an endpoint to a new model (blue/green; stays in service)")
    p.add_argument("endpoint_name", metavar="NAME", help="the endpoint to update (it must be InService)")
    p.add_argument("artifact", nargs="?", help="artifact directory or model.tar.gz")
    p.add_argument("--model-uri", metavar="S3_URI", help="an existing s3://.../model.tar.gz instead of ARTIFACT")
    _async_flags(p)
    _config_flags(p, wait=True)
    _endpoint_flags(p)
    p.add_argument("--no-wait", action="store_true", help="return once the update has started")
    p.add_argument("--info", default="endpoint_info.json", metavar="FILE", help=INFO_HELP)
    p.set_defaults(func=cmd_redeploy)

    p = asub.add_parser("train", help="build the artifact from an s3:// catalog in a SageMaker training job",
                        description=TRAIN_DESCRIPTION)
    p.add_argument("--catalog", required=True, metavar="S3_URI", help=CATALOG_HELP)
    _setting_flag(p, "training.instance_count")
    p.add_argument("--job-name", default=None, metavar="NAME", help=JOB_NAME_HELP)
    p.add_argument("--no-wait", action="store_true", help="return once the training job has started")
    _train_flags(p)
    _config_flags(p)
    p.set_defaults(func=cmd_train)

    p = asub.add_parser("pipeline", help="train -> deploy -> invoke a sample item -> print the outfit",
                        description=TRAIN_DESCRIPTION)
    p.add_argument("--catalog", required=True, metavar="S3_URI", help=CATALOG_HELP)
    p.add_argument("--endpoint-name", required=True, metavar="NAME", help=ENDPOINT_NAME_HELP)
    _setting_flag(p, "training.instance_count")
    p.add_argument("--job-name", default=None, metavar="NAME", help=JOB_NAME_HELP)
    p.add_argument("--item", default=None, help="item to query with (default: the first item of the built artifact)")
    p.add_argument("--async", dest="asynchronous", action="store_true", help="deploy an asynchronous endpoint")
    p.add_argument("--info", default="endpoint_info.json", metavar="FILE", help=INFO_HELP)
    _async_flags(p)
    _train_flags(p)
    _config_flags(p, wait=True)
    _endpoint_flags(p, instance_count=False)
    p.set_defaults(func=cmd_pipeline)

    p = asub.add_parser(
        "batch", help="an outfit for every item (or listed id) with SageMaker Batch Transform",
        description="A transform job on the same model as deploy (created from ART with the deployment config, or "
        "--model-name): the ids (every item, or --ids) as JSON Lines requests in at least --instance-count S3 "
        "files, SplitType=Line, BatchStrategy=MultiRecord, AssembleWith=Line. Waits, then merges the answers into "
        "OUTPUT/outfits.jsonl, one {\"item_id\", \"response\"} line per id (as `stygig batch` writes locally). "
        "`stygig aws teardown JOB` removes the models and inputs it created.",
    )
    p.add_argument("artifact", nargs="?", metavar="ART", help="artifact directory or model.tar.gz (packaged and uploaded)")
    p.add_argument("--model-name", metavar="NAME", help="an existing SageMaker model instead of ART")
    p.add_argument("--ids", metavar="S3_URI", help="s3:// file of item ids, one a line (default: every item)")
    p.add_argument("--output", required=True, metavar="S3_URI", help="s3:// prefix for the answers (OUTPUT/outfits.jsonl)")
    p.add_argument("--job-name", default=None, metavar="NAME", help="transform job name; a timestamp is added (default stygig-batch)")
    p.add_argument("--no-wait", action="store_true", help="return once the transform job has started (no merge)")
    p.add_argument("--options", metavar="JSON", help='request options for every item, as stygig batch takes them, '
                   'e.g. \'{"top_k": 3, "filters": {"in_stock": true}}\'')
    g = p.add_argument_group("batch")
    for key in ("batch.instance_type", "batch.instance_count", "batch.max_payload_mb", "batch.max_concurrent_transforms",
                "batch.invocations_timeout"):
        _setting_flag(g, key)
    g = p.add_argument_group("model")
    _setting_flag(g, "endpoint.image")
    _setting_flag(g, "endpoint.framework_version")
    g.add_argument("--env", action="append", default=None, metavar="KEY=VALUE", help="container environment (repeatable)")
    _config_flags(p)
    p.set_defaults(func=cmd_batch)

    p = asub.add_parser(
        "invoke", help="ask a SageMaker endpoint (real-time or async) for an outfit",
        description="Ask a deployed endpoint for an outfit, with the region, bucket and credentials of the deployment "
        "config: real-time or --async (request and result through S3), a local file or an s3:// picture, --dry-run. "
        "`stygig invoke` (with --endpoint-name) makes the same real-time call without a config, and also reaches a "
        "local server (--url).",
    )
    p.add_argument("image", nargs="?", help="query image file or s3:// URI")
    p.add_argument("--endpoint-name", required=True, metavar="NAME", help="the endpoint to ask")
    p.add_argument("--text", help="text query (CLIP artifacts)")
    p.add_argument("--item", help="id of a catalog item")
    p.add_argument("--async", dest="asynchronous", action="store_true", help="the endpoint is asynchronous")
    p.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS", help="async: seconds to wait for the result (default 900)")
    p.add_argument("--json", action="store_true", help="print the full JSON response")
    p.add_argument("--save-visual", metavar="DIR", help="write outfit.png and outfit.json into DIR")
    p.add_argument("--artifact", metavar="DIR", help="local artifact for item pictures in --save-visual (else placeholders)")
    add_query_options(p)
    _config_flags(p)
    p.set_defaults(func=cmd_invoke)

    p = asub.add_parser("doctor", help="audit a live endpoint (or a config file) against the deployment rules")
    p.add_argument("endpoint_name", nargs="?", metavar="NAME", help="a live endpoint to audit (or give --config FILE)")
    p.add_argument("--transform-job", metavar="NAME", help="audit a transform job (`stygig aws batch`) instead")
    _config_flags(p)
    _endpoint_flags(p)
    p.set_defaults(func=cmd_doctor)

    p = asub.add_parser("teardown", help="delete an endpoint, its configs, models and autoscaling")
    p.add_argument("endpoint_name", metavar="NAME", help="the endpoint whose resources are deleted")
    p.add_argument("--yes", action="store_true", help="do not ask")
    _config_flags(p)
    p.set_defaults(func=cmd_teardown)

    p = asub.add_parser("push-image", help="build the StyGig server image and push it to ECR (needs docker)")
    p.add_argument("--context", default=".", help="docker build context (the repository root)")
    _config_flags(p)
    p.set_defaults(func=cmd_push_image)


# ---- flags -> config --------------------------------------------------------------------------
def _setting_flag(g, key: str, **overrides: Any) -> None:
    """The flag of one config setting: its name, help and placeholder come from the schema; the
    parsed value lands under the setting's dotted key (``args.__dict__["endpoint.instance_type"]``)."""
    s = SETTINGS[key]
    opts: dict[str, Any] = {"dest": key, "default": None, "help": s.help, "metavar": s.metavar}
    if s.kind is bool:
        opts.update(action="store_const", const=True)
        opts.pop("metavar")
    elif s.kind is tuple:
        opts["action"] = "append"
    elif s.kind in (int, float):
        opts["type"] = s.kind
    opts.update(overrides)
    g.add_argument(s.flag, **opts)


def _config_flags(p: argparse.ArgumentParser, *, dry_run: bool = True, wait: bool = False) -> None:
    """The config file and [aws] flags; ``wait``: the command waits for an endpoint (--wait-timeout)."""
    g = p.add_argument_group("configuration (override the config file)")
    g.add_argument("--config", default=None, metavar="FILE", help="TOML config file (default $STYGIG_CONFIG or ./stygig.toml)")
    for key in ("aws.region", "aws.role_arn", "aws.bucket", "aws.prefix", "aws.subnets", "aws.security_group_ids",
                "aws.kms_key_id"):
        _setting_flag(g, key)
    if wait:
        _setting_flag(g, "endpoint.wait_timeout")
    if dry_run:
        g.add_argument("--dry-run", action="store_true", help="print the API requests as JSON lines; send nothing")


def _endpoint_flags(p: argparse.ArgumentParser, *, instance_count: bool = True) -> None:
    g = p.add_argument_group("endpoint")
    _setting_flag(g, "endpoint.image")
    _setting_flag(g, "endpoint.framework_version")
    _setting_flag(g, "endpoint.instance_type")
    if instance_count:
        _setting_flag(g, "endpoint.instance_count")
    g.add_argument("--env", action="append", default=None, metavar="KEY=VALUE", help="container environment (repeatable)")
    for key in ("endpoint.startup_health_check_timeout", "endpoint.model_data_download_timeout",
                "endpoint.allow_short_timeouts", "endpoint.allowed_s3_buckets", "endpoint.network_isolation",
                "endpoint.overlay", "endpoint.overlay_seconds"):
        _setting_flag(g, key)


def _async_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("asynchronous endpoints")
    for key in ("async.output", "async.sns_success", "async.sns_error", "async.max_concurrent", "async.min_capacity",
                "async.max_capacity"):
        _setting_flag(g, key)


def _train_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    _setting_flag(g, "training.image")
    _setting_flag(g, "training.instance_type")
    _setting_flag(g, "training.encoder")
    _setting_flag(g, "training.precision", choices=["fp32", "int8"])


def load(args: argparse.Namespace):
    from stygig.aws.config import load_config, parse_env_flags

    flags = {key: getattr(args, key) for key in SETTINGS if hasattr(args, key)}
    return load_config(args.config, flags=flags, env_flags=parse_env_flags(getattr(args, "env", None)))


def session_for(cfg, args: argparse.Namespace):
    from stygig.aws.session import AwsSession

    return AwsSession(cfg.aws.region, dry_run=bool(getattr(args, "dry_run", False)))


def _show(value: Any) -> str:
    if isinstance(value, (list, dict, bool)) or value is None:
        return json.dumps(value)
    return str(value)


# ---- handlers -----------------------------------------------------------------------------------
def cmd_config_show(args) -> int:
    cfg = load(args)
    rows = cfg.effective()
    if args.json:
        print(json.dumps({k: {"value": v, "source": s} for k, v, s in rows}, indent=2, default=str))
    else:
        w = max(len(k) for k, _, _ in rows)
        wv = min(60, max(len(_show(v)) for _, v, _ in rows))
        for k, v, s in rows:
            print(f"{k:<{w}}  {_show(v):<{wv}}  {s}")
    problems = cfg.problems()
    if problems:
        print("", file=sys.stderr)
        for p in problems:
            print(f"refused: {p}", file=sys.stderr)
        return 1
    return 0


def _print_deployment(dep, info: str | None) -> None:
    if dep.dry_run:
        return
    print(f"endpoint {dep.endpoint_name}: {dep.status} ({'async' if dep.asynchronous else 'real-time'}, {dep.region})")
    print(f"  model           {dep.model_name}  <- {dep.model_data_url}")
    print(f"  endpoint config {dep.endpoint_config_name}")
    print(f"  image           {dep.image}")
    t = dep.info()["timeouts"]
    print("  timeouts        " + ", ".join(f"{k}={v}" for k, v in t.items()))
    if dep.asynchronous:
        print(f"  async output    {dep.async_output}")
    if info:
        print(f"wrote {info}")


def cmd_deploy(args) -> int:
    from stygig.aws.endpoint import deploy

    cfg = load(args)
    session = session_for(cfg, args)
    dep = deploy(
        session,
        cfg,
        args.endpoint_name,
        artifact=args.artifact,
        model_uri=args.model_uri,
        asynchronous=args.asynchronous,
        wait=not args.no_wait,
        info_path=args.info,
    )
    _print_deployment(dep, args.info)
    return 0


def cmd_redeploy(args) -> int:
    from stygig.aws.redeploy import redeploy

    cfg = load(args)
    session = session_for(cfg, args)
    dep = redeploy(
        session, cfg, args.endpoint_name, artifact=args.artifact, model_uri=args.model_uri, wait=not args.no_wait, info_path=args.info
    )
    _print_deployment(dep, args.info)
    if not dep.dry_run:
        print("the previous endpoint configs and models are kept for rollback; `stygig aws teardown` removes all")
    return 0


def cmd_train(args) -> int:
    from stygig.aws.training import train

    cfg = load(args)
    session = session_for(cfg, args)
    res = train(session, cfg, args.catalog, job_name=args.job_name, wait=not args.no_wait)
    if not session.dry_run:
        print(f"training job {res.job_name}: {res.status}")
        print(f"model archive: {res.model_uri}")
    return 0


def _print_response(response: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(response, indent=2, ensure_ascii=False))
    else:
        from stygig.report import format_outfit

        print(format_outfit(response))


def cmd_batch(args) -> int:
    from stygig.aws.batch import batch_transform

    cfg = load(args)
    session = session_for(cfg, args)
    res = batch_transform(
        session, cfg, output=args.output, artifact=args.artifact, model_name=args.model_name, ids_uri=args.ids,
        job_name=args.job_name, wait=not args.no_wait, options_json=args.options,
    )
    if not session.dry_run:
        print("\n".join(res.lines()))
    return 0


def cmd_pipeline(args) -> int:
    from stygig.aws.archive import first_item_id
    from stygig.aws.endpoint import deploy
    from stygig.aws.invoke import invoke_async, invoke_realtime
    from stygig.aws.training import train
    from stygig.client.runtime import build_invocation

    cfg = load(args)
    session = session_for(cfg, args)
    session.note("1/3 train")
    res = train(session, cfg, args.catalog, job_name=args.job_name)
    session.note(f"2/3 deploy {res.model_uri}")
    dep = deploy(
        session, cfg, args.endpoint_name, model_uri=res.model_uri, asynchronous=args.asynchronous, info_path=args.info
    )
    _print_deployment(dep, args.info)
    item = args.item or first_item_id(session, res.model_uri)
    session.note(f"3/3 invoke with item {item}")
    invocation = build_invocation(item=item or "<first item>", picture_as_json=True)
    if args.asynchronous:
        response = invoke_async(session, cfg, args.endpoint_name, invocation)
    else:
        response = invoke_realtime(session, args.endpoint_name, invocation)
    if not session.dry_run:
        _print_response(response, False)
    return 0


def cmd_invoke(args) -> int:
    from stygig.aws.invoke import invoke_async, invoke_realtime
    from stygig.client.runtime import build_invocation, naming_picture
    from stygig.errors import StygigError

    cfg = load(args)
    session = session_for(cfg, args)
    # SageMaker endpoints have no thumbnail route: pictures come in the response unless --artifact
    embed = bool(args.save_visual) and not args.artifact
    invocation = build_invocation(
        image=args.image, text=args.text, item=args.item, options=options_dict(args), include_thumbnails=embed,
        picture_as_json=True,
    )
    try:
        if args.asynchronous:
            response = invoke_async(session, cfg, args.endpoint_name, invocation, timeout=args.timeout)
        else:
            response = invoke_realtime(session, args.endpoint_name, invocation)
    except StygigError as e:
        raise naming_picture(e, args.image) from None
    if session.dry_run:
        return 0
    _print_response(response, args.json)
    if args.save_visual:
        from stygig.client.pictures import embedded_pictures
        from stygig.report import artifact_loader, save_visual

        loader = artifact_loader(args.artifact) if args.artifact else embedded_pictures(response)
        query_image = None
        if args.image and not str(args.image).startswith("s3://"):
            from stygig.images import decode_image

            query_image = decode_image(args.image)
        elif args.item:
            query_image = loader({"item_id": args.item, "thumbnail": (response.get("query_item") or {}).get("thumbnail")})
        png, js = save_visual(response, args.save_visual, loader, query_image)
        print(f"wrote {png} and {js}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_doctor(args) -> int:
    from stygig.aws import doctor

    cfg = load(args)
    if args.transform_job:
        session = session_for(cfg, args)
        checks = doctor.doctor_transform_job(session, args.transform_job)
        if session.dry_run:
            return 0
        title = f"doctor: transform job {args.transform_job} ({cfg.aws.region})"
    elif args.endpoint_name:
        session = session_for(cfg, args)
        checks = doctor.doctor_endpoint(session, args.endpoint_name)
        if session.dry_run:
            return 0
        title = f"doctor: endpoint {args.endpoint_name} ({cfg.aws.region})"
    else:
        if not args.config:
            from stygig.errors import StygigError

            raise StygigError("give an endpoint NAME, or --config FILE to check a configuration before deploying it")
        checks = doctor.doctor_config(cfg)
        title = f"doctor: config {args.config}"
    print(title)
    print(doctor.render(checks))
    return 1 if doctor.failed(checks) else 0


def _ask(plan) -> bool:
    print("this deletes:")
    for line in plan.lines():
        print(f"  {line}")
    if not sys.stdin.isatty():
        from stygig.errors import StygigError

        raise StygigError("refusing to delete without confirmation: run with --yes (stdin is not a terminal)")
    answer = input("delete these? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def cmd_teardown(args) -> int:
    from stygig.aws.teardown import teardown

    cfg = load(args)
    session = session_for(cfg, args)
    confirm = None if (args.yes or session.dry_run) else _ask
    plan = teardown(session, args.endpoint_name, confirm=confirm, cfg=cfg)
    if plan is None:
        print("nothing deleted")
        return 1
    if not session.dry_run:
        for line in plan.lines():
            print(f"deleted {line}")
    return 0


def cmd_push_image(args) -> int:
    from stygig.aws import images

    cfg = load(args)
    session = session_for(cfg, args)
    uri = images.push_image(session, cfg, context=args.context)
    if not session.dry_run:
        print(f"pushed {uri}")
    return 0
