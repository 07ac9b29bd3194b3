"""Reassembles one resource of @imgly/background-removal-data from its chunks.

dist/resources.json maps a resource ("/models/medium") to chunk files in dist/, each named by
the sha256 of its bytes, with [begin, end) offsets. Chunks are checked, then concatenated in
offset order; the offsets must tile the whole resource with no gap or overlap.

  reassemble_chunks.py DIST_DIR RESOURCE OUT_FILE [EXPECTED_SHA256]
"""
import hashlib
import json
import os
import sys


class ReassemblyError(Exception):
    pass


def reassemble(dist_dir, resource, out_path, expected_sha256=None):
    with open(os.path.join(dist_dir, "resources.json"), encoding="utf-8") as f:
        table = json.load(f)
    if resource not in table:
        raise ReassemblyError(f"{dist_dir}/resources.json has no resource {resource} "
                              f"(has: {', '.join(sorted(table))})")
    entry = table[resource]
    chunks = sorted(entry["chunks"], key=lambda c: c["offsets"][0])
    whole = hashlib.sha256()
    position = 0
    with open(out_path, "wb") as out:
        for chunk in chunks:
            begin, end = chunk["offsets"]
            if begin != position:
                raise ReassemblyError(f"{resource}: chunk {chunk['hash'][:12]} starts at {begin}, "
                                      f"expected {position} (gap or overlap)")
            with open(os.path.join(dist_dir, chunk["hash"]), "rb") as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest() != chunk["hash"]:
                raise ReassemblyError(f"{resource}: chunk file {chunk['hash']} does not hash to its name")
            # The last chunk's end offset may be rounded up past the resource's size.
            if len(data) != end - begin and begin + len(data) != entry["size"]:
                raise ReassemblyError(f"{resource}: chunk {chunk['hash'][:12]} has {len(data)} bytes, "
                                      f"offsets say {end - begin}")
            out.write(data)
            whole.update(data)
            position += len(data)
    if position != entry["size"]:
        raise ReassemblyError(f"{resource}: reassembled {position} bytes, resources.json says {entry['size']}")
    digest = whole.hexdigest()
    if expected_sha256 and digest != expected_sha256:
        raise ReassemblyError(f"{resource}: reassembled sha256 {digest}, pinned {expected_sha256}")
    return digest


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        print(reassemble(*sys.argv[1:]))
    except (ReassemblyError, OSError, KeyError, ValueError) as e:
        print(f"reassemble_chunks: {e}", file=sys.stderr)
        sys.exit(1)
