#!/usr/bin/python3
"""Regenerates the small checkpoint files that the serialization tests read.

Run with Debian's python3-torch (1.13): /usr/bin/python3 make_test_files.py
The tests never run this script; they read the committed outputs and compare them with values written into the
tests by construction (the tensors below are built from literals, so the expected values are the literals).

Some files are assembled opcode by opcode (pickle protocol 2, see pickletools) rather than produced by torch.save,
either because torch 1.13 cannot write them (the _rebuild_tensor_v3 layout of newer releases) or because they must
be hostile: they call os.system, builtins.eval and subprocess.Popen through REDUCE. Those payloads only touch
/tmp/distill-pickle-executed, so the tests can also prove that nothing ran.
"""
import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = "/tmp/distill-pickle-executed"


def out(name):
    return os.path.join(HERE, name)


def put(z, name, data, compress=zipfile.ZIP_STORED):
    # A fixed timestamp keeps the hand-made archives byte-for-byte reproducible.
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = compress
    z.writestr(info, data)


class RunnerInfo:
    """A class instance for the 'meta' section: the reader must keep it as an inert placeholder."""

    def __init__(self):
        self.iteration = 1200
        self.note = "not rebuilt"


def save(obj, name, **kw):
    torch.save(obj, out(name), **kw)


def dtypes():
    save({
        "f16": torch.tensor([1.5, -2.25, 65504.0], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.5, 0.15625], dtype=torch.bfloat16),
        "i64": torch.tensor(-1234567890123, dtype=torch.int64),
        "i32": torch.tensor([2147483647, -2147483648], dtype=torch.int32),
        "i16": torch.tensor([-32768, 7], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "f64": torch.tensor([[0.1, -1e300]], dtype=torch.float64),
        "empty": torch.zeros(0, 3),
    }, "dtypes.pth")


def views_dict():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    return {
        "base": base,
        "transposed": base.t(),
        "offset": base.view(-1)[5:9],
        "strided": base[:, ::2],
        "corner_t": base[1:, 1:].t(),
    }


def views():
    save(views_dict(), "views.pth")
    save(views_dict(), "views_protocol4.pth", pickle_protocol=4)
    # The same archive with every member deflated: readers must fall back to decompressing in memory.
    buf = io.BytesIO()
    torch.save(views_dict(), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(out("views_deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            put(dst, info.filename.replace("archive/", "views_deflated/", 1), src.read(info.filename), zipfile.ZIP_DEFLATED)
    # A big-endian archive is refused.
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(out("big_endian.pth"), "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            put(dst, info.filename.replace("archive/", "big_endian/", 1), src.read(info.filename))
        put(dst, "big_endian/byteorder", b"big")


def zip64():
    # The views archive re-packed by hand with every zip64 structure a >4 GB torch.save archive carries: 32-bit
    # sizes and offsets set to 0xFFFFFFFF with the real values in extra field 0x0001, a zip64 end record and its
    # locator. Python's zipfile and torch.load both read the result.
    buf = io.BytesIO()
    torch.save(views_dict(), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src:
        members = [(i.filename.replace("archive/", "zip64/", 1).encode(), src.read(i.filename)) for i in src.infolist()]
    body, central = bytearray(), bytearray()
    for name, data in members:
        crc, offset = zlib.crc32(data), len(body)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra))
        body += name + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(name), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += name + cextra
    cd_offset = len(body)
    body += central
    end64 = len(body)
    n = len(members)
    body += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    body += struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
    body += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(out("zip64.pth"), "wb") as f:
        f.write(body)
    with zipfile.ZipFile(out("zip64.pth")) as z:
        assert z.testzip() is None
    loaded = torch.load(out("zip64.pth"))
    assert all(torch.equal(loaded[k], v) for k, v in views_dict().items())


def checkpoint():
    sd = collections.OrderedDict()
    sd["module.backbone.conv.weight"] = torch.arange(8, dtype=torch.float32).reshape(2, 1, 2, 2)
    sd["module.backbone.bn.num_batches_tracked"] = torch.tensor(42)
    sd["module.head.fc.weight"] = torch.nn.Parameter(torch.tensor([[0.5, -0.5]]))
    sd["module.head.fc.bias"] = torch.tensor([0.125])
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("backbone.bn", {"version": 2})])
    meta = {
        "epoch": 7,
        "lr": 0.25,
        "big": 2 ** 70,
        "negative": -300000,
        "name": "ckpt",
        "np_scalar": np.float64(0.5),
        "instance": RunnerInfo(),
        "tuple": (1, "two", None),
        "flags": [True, False],
        "raw": b"\x00\xff",
        "nested": {"a": [1, 2]},
    }
    save({"meta": meta, "state_dict": sd}, "checkpoint.pth")


def distill():
    sd = collections.OrderedDict()
    sd["student.backbone.w"] = torch.tensor([1.0, 2.0])
    sd["student.head.b"] = torch.tensor([3.0])
    sd["teacher.backbone.w"] = torch.tensor([10.0, 20.0, 30.0])
    sd["teacher.head.b"] = torch.tensor([40.0])
    sd["ema.student.backbone.w"] = torch.tensor([1.5, 2.5])
    sd["ema.student.head.b"] = torch.tensor([3.5])
    save({"meta": {"epoch": 1}, "state_dict": sd}, "distill.pth")

    ema = collections.OrderedDict()
    ema["steps"] = torch.tensor(10)
    ema["module.w"] = torch.tensor([1.25, 2.25])
    save({"state_dict": collections.OrderedDict(w=torch.tensor([1.0, 2.0])), "ema_state_dict": ema}, "ema_entry.pth")


def placeholder_in_state_dict():
    sd = collections.OrderedDict()
    sd["good"] = torch.tensor([1.0])
    sd["head.bad"] = np.array([1.0, 2.0])
    save({"state_dict": sd}, "placeholder_in_state_dict.pth")


def expanded():
    # Zero strides: a 3-element storage seen as (2, 3), and a 1-element storage seen as 2^31 elements (8 GiB),
    # which a reader that copies views must refuse rather than allocate.
    save({"small": torch.arange(3, dtype=torch.float32).expand(2, 3)}, "expanded.pth")
    save({"huge": torch.zeros(1).expand(2 ** 31)}, "expanded_huge.pth")


def legacy():
    # The legacy format names storages by Python object ids, so this file differs from run to run.
    save({"w": torch.tensor([1.0, 2.0])}, "legacy.pth", _use_new_zipfile_serialization=False)


# ---- hand-assembled pickles ----------------------------------------------------------------------------------

def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def op_int(i):
    return b"J" + struct.pack("<i", i)


def archive(name, pickle_bytes, members=None):
    with zipfile.ZipFile(out(name), "w", zipfile.ZIP_STORED) as z:
        prefix = os.path.splitext(name)[0]
        put(z, prefix + "/data.pkl", pickle_bytes)
        for key, data in (members or {}).items():
            put(z, prefix + "/data/" + key, data)
        put(z, prefix + "/version", b"3\n")


def hostile():
    # {'meta': os.system('touch MARKER'), 'state_dict': {}}: the call hides in the meta section.
    p = (b"\x80\x02}(" + op_str("meta") + op_global("os", "system") + op_str("touch " + MARKER) + b"\x85R"
         + op_str("state_dict") + b"}u.")
    archive("evil_os_system.pth", p)
    # builtins.eval("open(MARKER, 'w')") at the root.
    p = b"\x80\x02" + op_global("builtins", "eval") + op_str("open('%s', 'w')" % MARKER) + b"\x85R."
    archive("evil_builtins_eval.pth", p)
    # subprocess.Popen(['touch', MARKER]) as a state-dict value.
    p = (b"\x80\x02}(" + op_str("state_dict") + b"}(" + op_str("w") + op_global("subprocess", "Popen")
         + b"](" + op_str("touch") + op_str(MARKER) + b"e\x85R" + b"uu.")
    archive("evil_subprocess_popen.pth", p)
    # Protocol 4 STACK_GLOBAL fetching builtins.getattr.
    p = b"\x80\x04\x8c\x08builtins\x94\x8c\x07getattr\x94\x93\x94."
    archive("evil_stack_global_getattr.pth", p)

    # What Python's own pickler writes for os.system on Linux (the 'posix' module), through __reduce__.
    class Payload:
        def __reduce__(self):
            return os.system, ("touch " + MARKER,)

    archive("evil_posix_system.pth", pickle.dumps({"state_dict": Payload()}, protocol=2))


def rebuild_v3():
    # {'w': _rebuild_tensor_v3(<untyped storage '0' of 8 bytes>, 1, (3,), (1,), False, OrderedDict(), torch.int16)}
    # The storage holds int16 [5, -6, 7, -8]; offset 1 in int16 elements selects [-6, 7, -8].
    pid = (b"(" + op_str("storage") + op_global("torch", "UntypedStorage") + op_str("0") + op_str("cpu")
           + b"K\x08t")
    p = (b"\x80\x02}(" + op_str("w") + op_global("torch._utils", "_rebuild_tensor_v3") + b"(" + pid + b"Q"
         + b"K\x01K\x03\x85K\x01\x85\x89" + op_global("collections", "OrderedDict") + b")R"
         + op_global("torch", "int16") + b"tRu.")
    archive("rebuild_v3.pth", p, {"0": struct.pack("<4h", 5, -6, 7, -8)})


if __name__ == "__main__":
    dtypes()
    views()
    zip64()
    checkpoint()
    distill()
    placeholder_in_state_dict()
    expanded()
    legacy()
    hostile()
    rebuild_v3()
    for f in sorted(os.listdir(HERE)):
        if f.endswith(".pth"):
            print(f, os.path.getsize(out(f)))
