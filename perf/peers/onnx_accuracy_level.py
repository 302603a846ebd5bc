#!/usr/bin/python3
"""Rewrites the accuracy_level attribute of every MatMulNBits node of an ONNX model.

Usage: /usr/bin/python3 onnx_accuracy_level.py <model.onnx> <output-dir> [level=0]
Writes <output-dir>/<model name> with the same graph and weights; external data files (.onnx_data) are hard-linked
(copied across file systems) beside it so that ONNX Runtime resolves them. Prints the output path. Skips the work when the output is
already newer than the input. accuracy_level 0 makes ONNX Runtime compute MatMulNBits in fp32 over the 4-bit weights;
the shipped level 4 quantises activations to int8.
"""
import os
import shutil
import sys

import onnx


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    source, out_dir = sys.argv[1], sys.argv[2]
    level = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, os.path.basename(source))
    if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(source):
        print(target)
        return
    model = onnx.load(source, load_external_data=False)
    changed = 0
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            found = False
            for attr in node.attribute:
                if attr.name == "accuracy_level":
                    attr.i = level
                    found = True
            if not found:
                node.attribute.append(onnx.helper.make_attribute("accuracy_level", level))
            changed += 1
    if changed == 0:
        print(f"{source}: no MatMulNBits nodes", file=sys.stderr)
        sys.exit(1)
    locations = set()
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            for entry in init.external_data:
                if entry.key == "location":
                    locations.add(entry.value)
    for location in locations:
        link = os.path.join(out_dir, location)
        if os.path.lexists(link):
            os.remove(link)
        original = os.path.join(os.path.dirname(source), location)
        # A hard link, not a symlink: ONNX Runtime refuses external data that resolves outside the model's folder.
        try:
            os.link(original, link)
        except OSError:
            shutil.copyfile(original, link)
    tmp = target + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString())
    os.replace(tmp, target)
    print(target)


if __name__ == "__main__":
    main()
