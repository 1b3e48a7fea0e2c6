"""Serving subcommands: ``serve``, ``invoke``, ``package``. Light at import; handlers import lazily."""

from __future__ import annotations

import argparse
import json
import sys

from stygig.cli.core import add_query_options, options_dict
from stygig.schema import answer_items


def register(sub: argparse._SubParsersAction) -> None:
    from stygig.serving.entrypoint import DESCRIPTION, add_arguments

    p = sub.add_parser(
        "serve",
        help="serve an artifact over HTTP (SageMaker hosting contract + local InvokeEndpoint)",
        description=DESCRIPTION,
    )
    add_arguments(p, default_host="127.0.0.1")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "invoke",
        help="ask a server or a SageMaker endpoint for an outfit (through boto3's sagemaker-runtime)",
        description="Ask a running server (--url) or a real-time SageMaker endpoint (--endpoint-name) for an outfit, "
        "with the same boto3 sagemaker-runtime call either way; pictures go as raw bytes. Region and credentials "
        "come from the environment, not from stygig.toml. `stygig aws invoke` is the one that reads the deployment "
        "config and also reaches async endpoints, s3:// pictures and --dry-run.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a local server, e.g. http://127.0.0.1:8080")
    target.add_argument("--endpoint-name", metavar="NAME",
                        help="a real-time SageMaker endpoint (AWS credentials and region from the environment)")
    p.add_argument("image", nargs="?", help="query picture (JPEG, PNG, WebP)")
    p.add_argument("--text", help="text query (CLIP artifacts)")
    p.add_argument("--item", help="id of a catalog item")
    add_query_options(p)
    p.add_argument("--region", help="AWS region (default: the environment's)")
    p.add_argument("--timeout", type=float, default=70.0, metavar="SECONDS", help="seconds to wait for the answer (default 70)")
    p.add_argument("--json", action="store_true", help="print the full JSON response")
    p.add_argument("--save-visual", metavar="DIR", help="write outfit.png and outfit.json into DIR")
    p.set_defaults(func=cmd_invoke)

    p = sub.add_parser(
        "package",
        help="lay an artifact out as model.tar.gz for the AWS PyTorch inference container (code/inference.py)",
    )
    p.add_argument("artifact", help="artifact directory")
    p.add_argument("-o", "--out", default="model.tar.gz", help="archive to write (default model.tar.gz)")
    vendoring = p.add_mutually_exclusive_group()
    vendoring.add_argument("--framework-version", metavar="VERSION", default=None,
                           help="PyTorch DLC version to vendor the serving dependencies into code/ for "
                           "(its Python: py311 for 2.3.0-2.5.1, py312 for 2.6.0; default: the config's, 2.6.0)")
    vendoring.add_argument("--no-vendor", action="store_true",
                           help="vendor nothing: code/requirements.txt pip-installs the dependencies at container start")
    p.set_defaults(func=cmd_package)


def cmd_serve(args) -> int:
    from stygig.serving.entrypoint import config_from_args, run

    return run(config_from_args(args))


def cmd_invoke(args) -> int:
    from stygig.client import pictures, runtime
    from stygig.report import format_outfit

    sm_runtime = runtime.runtime_client(args.url, region=args.region, timeout_s=args.timeout)
    name = args.endpoint_name or runtime.LOCAL_ENDPOINT_NAME
    # a SageMaker endpoint has no thumbnail route: ask for the pictures inside the response
    embed = bool(args.save_visual) and not args.url
    response = runtime.invoke(
        sm_runtime,
        name,
        image=args.image,
        text=args.text,
        item=args.item,
        options=options_dict(args),
        include_thumbnails=embed,
    )
    if args.save_visual:
        from stygig.images import decode_image
        from stygig.report import save_visual

        if embed:
            loader = pictures.embedded_pictures(response)
        else:
            loader = pictures.http_thumbnail_loader(args.url)
        query_image = decode_image(args.image) if args.image else None
        if query_image is None and args.item:
            query_image = loader({"item_id": args.item})
        png, js = save_visual(_without_thumbnail_data(response), args.save_visual, loader, query_image)
    if args.json:
        print(json.dumps(_without_thumbnail_data(response), indent=2, ensure_ascii=False))
    else:
        print(format_outfit(response))
    if args.save_visual:
        print(f"wrote {png} and {js}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _without_thumbnail_data(response: dict) -> dict:
    """The response as written to outfit.json / printed: without the embedded pictures."""
    out = json.loads(json.dumps(response))
    for rec in answer_items(out):
        rec.pop("thumbnail_data", None)
    (out.get("query_item") or {}).pop("thumbnail_data", None)
    return out


def cmd_package(args) -> int:
    from stygig.aws.config.schema import DEFAULT_DLC_VERSION, DLC_PYTHON
    from stygig.aws.package import package_artifact
    from stygig.errors import StygigError

    python = None
    if not args.no_vendor:
        version = args.framework_version or DEFAULT_DLC_VERSION
        python = DLC_PYTHON.get(version)
        if python is None:
            raise StygigError(f"--framework-version {version!r} is not a supported PyTorch DLC version ({', '.join(DLC_PYTHON)})")
    package_artifact(args.artifact, args.out, python=python, notes=print)
    return 0
