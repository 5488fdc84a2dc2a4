#!/usr/bin/env python3
"""An independent safetensors reader for the training tests (standard library
only: struct and json, no circ code).

  safetensors_check.py export CHECKPOINT DENSE
      The dense export holds exactly the checkpoint's weights, no optimizer
      state, every tensor F32 with explicit zeros: each exported tensor equals
      weight × mask (mask = the weight's support), the sparse parameters have
      zeros, and "circ.density.<name>" is each one's nonzero fraction.
  safetensors_check.py foreign OUT
      Writes a valid safetensors file that is not a circ checkpoint.
"""
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32", (name, info["dtype"])
        count = (end - begin) // 4
        tensors[name] = (info["shape"], struct.unpack(f"<{count}f", body[begin:end]))
    return meta, tensors


def export(checkpoint, dense):
    cmeta, ctensors = read(checkpoint)
    dmeta, dtensors = read(dense)
    assert dmeta["circ.format"] == "dense", dmeta.get("circ.format")
    assert dmeta["circ.config"] == cmeta["circ.config"]
    weights = {k: v for k, v in ctensors.items()
               if not k.endswith((".adam_m", ".adam_v"))}
    assert sorted(dtensors) == sorted(weights), "tensor names differ"
    sparse = 0
    for name, (shape, w) in weights.items():
        dshape, d = dtensors[name]
        assert dshape == shape, (name, dshape, shape)
        mask = [1.0 if x != 0 else 0.0 for x in w]
        assert list(d) == [x * m for x, m in zip(w, mask)], name
        key = "circ.density." + name
        if key in dmeta:
            sparse += 1
            density = sum(mask) / len(mask)
            assert abs(float(dmeta[key]) - density) < 1e-7, (name, density)
            assert density < 1, f"{name} has no zeros"
    assert sparse > 0, "no sparse parameter in the export"
    print(f"export ok: {len(dtensors)} tensors, {sparse} sparse")


def foreign(out):
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "weight": {"dtype": "F32", "shape": [2],
                                    "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header +
                struct.pack("<2f", 1.0, 2.0))


if sys.argv[1] == "export":
    export(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "foreign":
    foreign(sys.argv[2])
else:
    sys.exit("unknown command " + sys.argv[1])
