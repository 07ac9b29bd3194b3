"""The installed models' manifest (MODELS_DIR/manifest.json), as include/artistry/models.hpp reads it.

Every change is written to a temporary file and renamed over manifest.json, so a reader sees
the old manifest or the new one, never a torn one; a model file is moved into place before its
entry is added, so the manifest never lists a model that is not all there.

CLI (used by scripts/fetch-models):
  manifest.py current DIR NAME RECIPE_ID [--need-checks]   exit 0 if installed and intact
  manifest.py check DIR [--only a,b]                       verify files' size and sha256
"""
import hashlib
import json
import os
import sys
import tempfile

VERSION = 1


class ManifestError(Exception):
    pass


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def path_of(models_dir):
    return os.path.join(models_dir, "manifest.json")


def read(models_dir):
    path = path_of(models_dir)
    if not os.path.exists(path):
        return {"version": VERSION, "models": []}
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except ValueError as e:
        raise ManifestError(f"{path} is not valid JSON ({e}); remove it and fetch again")
    if doc.get("version") != VERSION or not isinstance(doc.get("models"), list):
        raise ManifestError(f"{path}: expected {{\"version\": {VERSION}, \"models\": [...]}}")
    return doc


def write(models_dir, doc):
    os.makedirs(models_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=models_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path_of(models_dir))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def entry(doc, name):
    for m in doc["models"]:
        if m.get("name") == name:
            return m
    return None


def remove(models_dir, name):
    doc = read(models_dir)
    kept = [m for m in doc["models"] if m.get("name") != name]
    if len(kept) != len(doc["models"]):
        doc["models"] = kept
        write(models_dir, doc)


def install(models_dir, new_entry, staged_file, order):
    """Moves staged_file to new_entry['file'] (relative to models_dir) and lists the entry.
    `order` is the preferred order of names (the sources table); others keep their place."""
    final = os.path.join(models_dir, new_entry["file"])
    remove(models_dir, new_entry["name"])  # unlisted before its file is replaced
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(staged_file, final)
    os.chmod(final, 0o644)
    doc = read(models_dir)
    doc["models"].append(new_entry)
    rank = {n: i for i, n in enumerate(order)}
    doc["models"].sort(key=lambda m: rank.get(m.get("name"), len(rank)))
    write(models_dir, doc)


def verify(models_dir, m):
    """None when the entry's file is there with its size and sha256; else the reason."""
    path = os.path.join(models_dir, m.get("file", ""))
    if not m.get("file") or not os.path.isfile(path):
        return f"missing file {path}"
    size = os.path.getsize(path)
    if size != m.get("bytes"):
        return f"{path} has {size} bytes, manifest says {m.get('bytes')}"
    digest = sha256_of(path)
    if digest != m.get("sha256"):
        return f"{path} sha256 {digest[:16]}…, manifest says {str(m.get('sha256'))[:16]}…"
    return None


def current(models_dir, name, rid, need_checks):
    m = entry(read(models_dir), name)
    if m is None:
        return "not installed"
    if m.get("conversion", {}).get("recipe_id") != rid:
        return "installed by another recipe version"
    if need_checks and m.get("checks", {}).get("skipped"):
        return "installed without checks"
    return verify(models_dir, m)


def main(argv):
    if len(argv) >= 4 and argv[0] == "current":
        reason = current(argv[1], argv[2], argv[3], "--need-checks" in argv[4:])
        if reason:
            print(reason)
            return 1
        return 0
    if len(argv) >= 2 and argv[0] == "check":
        models_dir = argv[1]
        only = set(argv[3].split(",")) if len(argv) == 4 and argv[2] == "--only" else None
        if not os.path.exists(path_of(models_dir)):
            print(f"fetch-models: no manifest in {models_dir}; run scripts/fetch-models", file=sys.stderr)
            return 1
        doc = read(models_dir)
        bad = 0
        listed = set()
        for m in doc["models"]:
            listed.add(m.get("name"))
            if only is not None and m.get("name") not in only:
                continue
            reason = verify(models_dir, m)
            print(f"  {m.get('name'):<20} {'ok' if reason is None else 'BAD: ' + reason}")
            bad += reason is not None
        for n in sorted((only or set()) - listed):
            print(f"  {n:<20} BAD: not installed")
            bad += 1
        return 1 if bad else 0
    print("usage: manifest.py current DIR NAME RECIPE_ID [--need-checks] | check DIR [--only a,b]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ManifestError, OSError) as e:
        print(f"fetch-models: {e}", file=sys.stderr)
        sys.exit(1)
