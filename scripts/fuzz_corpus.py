#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_safetensors (tests/fuzz/corpus/safetensors/): small valid
safetensors files in the layout smelt writes (8-byte little-endian header length, JSON header
padded with spaces to 8 bytes, tensors packed in order) and near-valid ones, each broken in one
way the reader must refuse. Standard library only; the output is byte-for-byte deterministic, so
rerunning it leaves the committed files unchanged. Usage: scripts/fuzz_corpus.py [OUT_DIR]."""
import json
import os
import struct
import sys

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4,
         "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def count(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def tensor_bytes(dtype, shape, seed):
    n = count(shape) * SIZES[dtype]
    return bytes((seed * 31 + i * 7) % 251 for i in range(n))


def build(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape)] in file order; returns the file's bytes."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for k, (name, dtype, shape) in enumerate(tensors):
        raw = tensor_bytes(dtype, shape, k)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def raw_header(text, data=b""):
    return struct.pack("<Q", len(text)) + text + data


CHECKPOINT_META = {"format": "smelt-checkpoint-1", "smelt_version": "0.1.0", "preset_name": "tiny",
                   "preset": "input: {channels: 1, height: 8, width: 16}\nhead: {kind: ctc, symbols: 4}\n",
                   "charset": "0\u00e9\u20ac3", "input_size": "1x8x16", "config": "{}", "epoch": "1",
                   "step": "6", "best_metric": "val_loss", "best_value": "1.5", "best_epoch": "1"}

VALID = {
    "empty.safetensors": build([]),
    "metadata_only.safetensors": build([], {"format": "smelt-checkpoint-1"}),
    "one_f32.safetensors": build([("w", "F32", [2, 3])]),
    "scalar_and_empty.safetensors": build([("s", "F32", []), ("none", "F32", [0, 4]), ("b", "I32", [3])]),
    "all_dtypes.safetensors": build([(d.lower(), d, [2]) for d in sorted(SIZES, key=lambda d: -SIZES[d])]),
    "checkpoint.safetensors": build([("conv.weight", "F32", [2, 1, 3, 3]), ("bn.mean", "F32", [2]),
                                     ("opt.m.conv.weight", "F32", [2, 1, 3, 3])], CHECKPOINT_META),
    "rank6_unicode.safetensors": build([("\u00e9t\u00e9.w", "U8", [1, 2, 1, 2, 1, 2])], {"note": "\u20ac"}),
    "unpadded.safetensors": build([("w", "F32", [1])], pad=False),
}

good = build([("a", "F32", [2]), ("b", "F32", [2])])
NEAR = {
    "bad_length.safetensors": struct.pack("<Q", 1 << 40) + good[8:],
    "short_length.safetensors": b"\x10\x00\x00",
    "not_json.safetensors": raw_header(b"{\"a\": [1, 2" + b" " * 5),
    "truncated_data.safetensors": good[:-3],
    "overlap.safetensors": raw_header(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                      b'"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', bytes(12)),
    "gap.safetensors": raw_header(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8)),
    "shape_mismatch.safetensors": raw_header(b'{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', bytes(8)),
    "unknown_dtype.safetensors": raw_header(b'{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', bytes(16)),
    "duplicate_name.safetensors": raw_header(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                             b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2)),
    "huge_shape.safetensors": raw_header(b'{"a":{"dtype":"F64","shape":[4294967296,4294967296],'
                                         b'"data_offsets":[0,8]}}', bytes(8)),
    "bad_metadata.safetensors": raw_header(b'{"__metadata__":{"k":1}}'),
    "extra_key.safetensors": raw_header(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":0}}', bytes(1)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fuzz",
                                                             "corpus", "safetensors")
    os.makedirs(out, exist_ok=True)
    for name, data in {**VALID, **NEAR}.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
