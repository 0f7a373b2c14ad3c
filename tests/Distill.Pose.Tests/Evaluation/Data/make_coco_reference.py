"""Builds the COCO keypoint test inputs in this folder and prints pycocotools' stats for them.

Run with a pycocotools built from source (PythonAPI, `python3 setup.py build_ext --inplace`) on PYTHONPATH.
numpy >= 1.24 removed the `np.float` alias that cocoeval.accumulate uses, so it is restored to the builtin float
here (same meaning); matplotlib, used only for drawing, is replaced by empty modules. The C# tests only read the JSON files written here; they never run Python.
"""
import copy
import json
import sys
import types

import numpy as np

np.float = float  # alias removed from numpy 1.24, used by cocoeval
# coco.py imports matplotlib only for drawing; empty stand-ins let it load without matplotlib installed.
for _name in ('matplotlib', 'matplotlib.pyplot', 'matplotlib.collections', 'matplotlib.patches'):
    sys.modules[_name] = types.ModuleType(_name)
sys.modules['matplotlib.collections'].PatchCollection = None
sys.modules['matplotlib.patches'].Polygon = None
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

COCO_SIGMAS = np.array([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062,
                        .107, .107, .087, .087, .089, .089])

# A rough standing person in a unit box (x, y in [0, 1]), COCO-17 order.
TEMPLATE = np.array([
    [.50, .08], [.53, .06], [.47, .06], [.57, .08], [.43, .08], [.65, .22], [.35, .22], [.72, .40], [.28, .40],
    [.75, .55], [.25, .55], [.60, .55], [.40, .55], [.62, .77], [.38, .77], [.63, .97], [.37, .97]])


def person(rng, bbox, vis, k=17, template=TEMPLATE):
    x, y, w, h = bbox
    pts = template[:k] * [w, h] + [x, y] + rng.normal(0, 0.01, (k, 2)) * [w, h]
    kps = []
    for (px, py), v in zip(pts, vis):
        kps += [0.0, 0.0, 0] if v == 0 else [round(float(px), 2), round(float(py), 2), int(v)]
    return kps


def noisy(rng, gt_kps, area, sigmas, factor, k):
    g = np.array(gt_kps, dtype=float).reshape(k, 3)
    s = np.sqrt(max(area, 1.0))
    out = []
    for i in range(k):
        dx, dy = rng.normal(0, 1, 2) * factor * s * sigmas[i]
        out += [float(g[i, 0] + dx), float(g[i, 1] + dy), float(rng.uniform(0.1, 1.0))]
    return out


def evaluate(gt_dict, results, sigmas):
    coco = COCO()
    coco.dataset = copy.deepcopy(gt_dict)
    coco.createIndex()
    dt = coco.loadRes(copy.deepcopy(results))
    ev = COCOeval(coco, dt, 'keypoints')
    ev.params.kpt_oks_sigmas = np.array(sigmas)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return [float(s) for s in ev.stats]


def small_case():
    """Hand-designed corner cases, COCO-17 sigmas."""
    rng = np.random.RandomState(0)
    full = [2] * 17
    anns, res = [], []

    def ann(image_id, ann_id, bbox, vis, area, iscrowd=0):
        kps = person(rng, bbox, vis)
        anns.append(dict(image_id=image_id, id=ann_id, category_id=1, bbox=list(bbox), area=area,
                         iscrowd=iscrowd, num_keypoints=int(sum(1 for v in vis if v > 0)), keypoints=kps))
        return anns[-1]

    def det(a, factor, score, image_id=None):
        res.append(dict(image_id=a['image_id'] if image_id is None else image_id, category_id=1,
                        keypoints=noisy(rng, a['keypoints'], a['area'], COCO_SIGMAS, factor, 17), score=score))

    # Image 1: a large and a medium person; a duplicate of the large one; tied scores.
    big = ann(1, 11, (100, 50, 150, 300), full, 30000.0)
    med = ann(1, 12, (300, 80, 40, 110), [2, 2, 2, 0, 0] + [2] * 8 + [1, 1, 0, 0], 3000.0)
    det(big, 2.0, 0.9)        # a poor duplicate first, then the good one with the same score:
    det(big, 0.5, 0.9)        # input order decides which of them takes the person
    det(med, 0.8, 0.75)
    # Image 2: a crowd region, a small person, a person with no labelled keypoint (ignored; box-distance OKS).
    crowd = ann(2, 21, (0, 0, 200, 200), full, 25000.0, iscrowd=1)
    small = ann(2, 22, (400, 300, 20, 45), full, 600.0)
    empty = ann(2, 23, (250, 250, 60, 120), [0] * 17, 5000.0)
    det(crowd, 0.3, 0.8)
    det(crowd, 0.6, 0.8)      # a second detection on the crowd: also absorbed
    det(small, 1.0, 0.75)     # ties with image 1's medium detection
    # A detection inside the enlarged box of the unlabelled person: matched to it, hence ignored.
    res.append(dict(image_id=2, category_id=1, score=0.7,
                    keypoints=[float(v) for p in zip(rng.uniform(240, 330, 17), rng.uniform(240, 380, 17),
                                                     rng.uniform(0, 1, 17)) for v in p]))
    # Image 3: partially labelled people; a poor detection; a stray detection far from anyone.
    p1 = ann(3, 31, (50, 60, 120, 260), [2] * 5 + [1] * 6 + [0] * 6, 15000.0)
    p2 = ann(3, 32, (250, 60, 70, 180), [0, 0, 0, 2, 2] + [2] * 12, 7000.0)
    det(p1, 1.5, 0.6)
    det(p2, 3.0, 0.65)
    res.append(dict(image_id=3, category_id=1, score=0.95,
                    keypoints=[float(v) for p in zip(rng.uniform(600, 620, 17), rng.uniform(10, 20, 17),
                                                     rng.uniform(0, 1, 17)) for v in p]))
    # Image 4: no people; one confident false positive (its keypoint extent is large).
    res.append(dict(image_id=4, category_id=1, score=0.85,
                    keypoints=[float(v) for p in zip(rng.uniform(0, 300, 17), rng.uniform(0, 300, 17),
                                                     rng.uniform(0, 1, 17)) for v in p]))
    # Image 5: a person nobody detects.
    ann(5, 51, (10, 10, 90, 200), full, 9000.0)
    # Image 6: 21 detections; the only good one has the lowest score and falls beyond the 20 kept.
    p6 = ann(6, 61, (200, 100, 100, 240), full, 12000.0)
    for i in range(20):
        res.append(dict(image_id=6, category_id=1, score=0.5 if i < 10 else 0.4,
                        keypoints=[float(v) for p in zip(rng.uniform(500, 600, 17), rng.uniform(0, 90, 17),
                                                         rng.uniform(0, 1, 17)) for v in p]))
    det(p6, 0.2, 0.05)
    # Image 7: a medium person detected well, and a medium person matched only at low thresholds.
    p7a = ann(7, 71, (30, 30, 50, 100), full, 3500.0)
    p7b = ann(7, 72, (200, 30, 45, 95), full, 3100.0)
    det(p7a, 0.4, 0.55)
    det(p7b, 1.8, 0.55)

    images = [dict(id=i) for i in range(1, 8)]
    gt = dict(images=images, annotations=anns, categories=[dict(id=1, name='person')])
    return gt, res


def custom_sigma_case():
    """Four keypoints with sigmas of our choosing, including a non-ignored person whose keypoints are all
    unlabelled (num_keypoints says 2): COCOeval then scores detections by box distance."""
    rng = np.random.RandomState(1)
    sig = [0.05, 0.07, 0.1, 0.03]
    tmpl = np.array([[.5, .1], [.3, .5], [.7, .5], [.5, .9]])
    anns, res = [], []
    ann_id = 100
    for image_id in range(1, 4):
        for j in range(3):
            ann_id += 1
            w, h = rng.uniform(20, 150), rng.uniform(40, 250)
            bbox = (float(rng.uniform(0, 400)), float(rng.uniform(0, 300)), float(w), float(h))
            vis = [int(v) for v in rng.choice([0, 1, 2], 4, p=[0.2, 0.3, 0.5])]
            if image_id == 3 and j == 0:
                vis = [0, 0, 0, 0]
            kps = person(rng, bbox, vis, 4, tmpl)
            nk = int(sum(1 for v in vis if v > 0)) or (2 if image_id == 3 and j == 0 else 0)
            area = float(w * h * 0.7)
            # COCOeval stores matched annotation ids and reads 0 as "no match": id 0 exposes that.
            anns.append(dict(image_id=image_id, id=0 if (image_id, j) == (2, 1) else ann_id, category_id=1, bbox=list(bbox), area=area,
                             iscrowd=0, num_keypoints=nk, keypoints=kps))
            if image_id == 3 and j == 0:
                # Detection inside the box region -> distance 0 -> OKS 1; second one outside it.
                cx, cy = bbox[0] + w / 2, bbox[1] + h / 2
                res.append(dict(image_id=3, category_id=1, score=0.6,
                                keypoints=[cx, cy, 1.0] * 4))
                res.append(dict(image_id=3, category_id=1, score=0.55,
                                keypoints=[bbox[0] - 1.2 * w, cy, 1.0, cx, cy, 1.0,
                                           cx, bbox[1] + 2.3 * h, 1.0, cx, cy, 1.0]))
                continue
            for f, s in ((rng.uniform(0.2, 2.5), float(np.round(rng.uniform(0.2, 1.0), 1))),):
                g = np.array(kps, dtype=float).reshape(4, 3)
                if vis.count(0) == 4:
                    g[:, :2] = [[bbox[0] + w * a, bbox[1] + h * b] for a, b in tmpl]
                out = []
                for i in range(4):
                    dx, dy = rng.normal(0, 1, 2) * f * np.sqrt(area) * sig[i]
                    out += [float(g[i, 0] + dx), float(g[i, 1] + dy), 1.0]
                res.append(dict(image_id=image_id, category_id=1, keypoints=out, score=s))
    gt = dict(images=[dict(id=i) for i in range(1, 4)], annotations=anns,
              categories=[dict(id=1, name='person')])
    return gt, res, sig


def test_coco_case(path, factor, seed):
    """Real annotations (test_coco.json); results are the ground-truth keypoints plus Gaussian noise scaled by
    each person's size and sigma, scores rounded to 0.1 (many ties), plus a shifted duplicate per image."""
    gt = json.load(open(path))
    rng = np.random.RandomState(seed)
    res = []
    for a in gt['annotations']:
        out = noisy(rng, a['keypoints'], a['area'], COCO_SIGMAS, factor * rng.uniform(0.3, 1.7), 17)
        res.append(dict(image_id=a['image_id'], category_id=1, keypoints=out,
                        score=float(np.round(rng.uniform(0.3, 1.0), 1))))
    for img in gt['images']:
        firsts = [r for r in res if r['image_id'] == img['id']]
        if firsts:
            k = list(firsts[0]['keypoints'])
            k[0::3] = [x + 25.0 for x in k[0::3]]
            res.append(dict(image_id=img['id'], category_id=1, keypoints=k, score=0.5))
    return gt, res


def main():
    out = {}
    gt, res = small_case()
    json.dump(gt, open('coco_small_gt.json', 'w'), separators=(',', ':'))
    json.dump(res, open('coco_small_results.json', 'w'), separators=(',', ':'))
    out['small'] = evaluate(gt, res, COCO_SIGMAS)
    gt, res, sig = custom_sigma_case()
    json.dump(gt, open('coco_custom_sigma_gt.json', 'w'), separators=(',', ':'))
    json.dump(res, open('coco_custom_sigma_results.json', 'w'), separators=(',', ':'))
    out['custom_sigma'] = evaluate(gt, res, sig)
    for name, factor, seed in (('test_coco_noise05', 0.5, 10), ('test_coco_noise15', 1.5, 11),
                               ('test_coco_noise30', 3.0, 12)):
        gt, res = test_coco_case(sys.argv[1], factor, seed)
        json.dump(res, open(f'{name}_results.json', 'w'), separators=(',', ':'))
        out[name] = evaluate(gt, res, COCO_SIGMAS)
    for k, v in out.items():
        print(k, '[' + ', '.join(repr(x) for x in v) + ']')


if __name__ == '__main__':
    main()
