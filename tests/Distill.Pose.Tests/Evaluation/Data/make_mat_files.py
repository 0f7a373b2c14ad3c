"""Writes the MAT-file test inputs in this folder.

mpii_gt_small.mat / mpii_gt_small_compressed.mat: scipy.io.savemat (scipy 1.10.1), do_compression False / True.
Three MPII-style records laid out like mpii_gt_val.mat, plus extra variables of other classes.

mat_big_endian.mat: written byte by byte below (big-endian, no compression), to cover what scipy never writes:
big-endian files, small data elements, and a double array whose values are stored as uint8 (as MATLAB does when
the values fit).
"""
import struct

import numpy as np
from scipy.io import savemat

N = 3
headboxes = np.zeros((2, 2, N))
pos = np.zeros((16, 2, N))
missing = np.zeros((16, N), dtype=np.uint8)
for i in range(N):
    # Corner 1 (x1, y1) and corner 2 (x2, y2): a 30 x 40 box, diagonal 50, head size 30.
    headboxes[:, :, i] = [[100 + 10 * i, 50 + i], [130 + 10 * i, 90 + i]]
    for j in range(16):
        pos[j, :, i] = [200 + j + 0.25 + 100 * i, 300 + 2 * j + 0.5 + i]
missing[3, 1] = 1
missing[6, 2] = 1
missing[7, 2] = 1
names = np.empty((1, 3), dtype=object)
names[0, :] = ['rank', 'rkne', 'rhip']
variables = {
    'headboxes_src': headboxes,
    'jnt_missing': missing,
    'pos_gt_src': pos,
    'dataset_joints': names,
    'small_ints': np.array([[-3, 7], [1000, -32768]], dtype=np.int16),
    'singles': np.array([[0.5, -1.25, 3.0]], dtype=np.float32),
    'flags': np.array([[True, False, True]]),
    'rows': np.array(['abc', 'xyz']),
}
savemat('mpii_gt_small.mat', variables, do_compression=False)
savemat('mpii_gt_small_compressed.mat', variables, do_compression=True)


def element(mi_type, payload):
    """A regular big-endian data element, padded to 8 bytes."""
    pad = (-len(payload)) % 8
    return struct.pack('>II', mi_type, len(payload)) + payload + b'\0' * pad


def small(mi_type, payload):
    """A small data element: size and type in one word, up to 4 data bytes."""
    assert len(payload) <= 4
    return struct.pack('>HH', len(payload), mi_type) + payload + b'\0' * (4 - len(payload))


def matrix(name, mx_class, dims, *data):
    body = element(6, struct.pack('>II', mx_class, 0))           # array flags (miUINT32)
    body += element(5, struct.pack('>' + 'i' * len(dims), *dims))  # dimensions (miINT32)
    body += small(1, name.encode()) if len(name) <= 4 else element(1, name.encode())
    for d in data:
        body += d
    return element(14, body)


header = b'MATLAB 5.0 MAT-file, big-endian test file'.ljust(116, b' ') + b'\0' * 8 + struct.pack('>H', 0x0100) + b'MI'
content = header
content += matrix('be', 6, [1, 3], small(2, bytes([1, 2, 250])))                            # double [1 2 250] as uint8
content += matrix('i32', 12, [2, 2], element(3, struct.pack('>hhhh', -1, 2, -300, 4)))     # int32 stored as int16
content += matrix('text', 4, [1, 2], small(4, 'hi'.encode('utf-16-be')))                   # char as miUINT16
content += matrix('dbl', 6, [2, 1], element(9, struct.pack('>dd', 1.5, -2.75)))
open('mat_big_endian.mat', 'wb').write(content)
