namespace Distill.TestSupport;

/// <summary>
/// Writes MPII annotation files in the official release's field layout (mpii_human_pose_v1_u12_1.mat) with scipy, at
/// test size.
/// </summary>
public static class MpiiReleaseFiles
{
    /// <summary>
    /// A hand-made three-image release: 015601864.jpg (train) with two people, 015599452.jpg (test) with one person
    /// that has only scale and objpos, 005808361.jpg (train) with none. Person 1: head rect (627, 100)-(706, 198),
    /// scale 3.021046, objpos (594, 257), all 16 joints at (620 + j, 394 + 2 j), is_visible 1. Person 2: head rect
    /// (200, 50)-(230, 90), scale 1.5, objpos (310, 450), joints 9 (301.5, 402.25, is_visible '0' as text),
    /// 8 (310, 420, is_visible empty) and 0 (300, 500, is_visible 0). img_train [1 0 1]; single_person {[1; 2], 1, []};
    /// act (sports, curling, 1), ([], [], -1), (running, jogging, 3).
    /// </summary>
    public static void WriteTiny(string path, bool compress) => Scipy.Run(TinyScript, path, compress ? "compress" : "plain");

    /// <summary>
    /// Converts an annotation file in mmpose's MPII JSON layout into the release layout: one annolist entry per image
    /// (first-appearance order), each record an annorect with x1..y2 from headboxes, scale, objpos = center and
    /// a point per labelled joint (id, x, y, is_visible 1). All images are training images, each person single.
    /// </summary>
    public static void FromJson(string json, string path) => Scipy.Run(FromJsonScript, json, path);

    private const string Common = """
        import json
        import sys
        import numpy as np
        from scipy.io import savemat

        def struct(shape, fields):
            return np.zeros(shape, dtype=[(f, 'O') for f in fields])

        def empty():
            return np.zeros((0, 0))

        def scalar(v, dtype=float):
            return np.array([[v]], dtype=dtype)

        def points(rows):
            p = struct((1, len(rows)), ['x', 'y', 'id', 'is_visible'])
            for i, (x, y, j, v) in enumerate(rows):
                p[0, i] = (scalar(x), scalar(y), scalar(j, np.uint8), v)
            return p

        def annopoints(rows):
            a = struct((1, 1), ['point'])
            a[0, 0]['point'] = points(rows)
            return a

        def objpos(x, y):
            o = struct((1, 1), ['x', 'y'])
            o[0, 0] = (scalar(x), scalar(y))
            return o

        def image(name):
            i = struct((1, 1), ['name'])
            i[0, 0]['name'] = np.array(name)
            return i

        def release(annolist, train, single, act):
            r = struct((1, 1), ['annolist', 'img_train', 'version', 'single_person', 'act', 'video_list'])
            r[0, 0] = (annolist, np.array([train], dtype=np.uint8), np.array('12'), single, act, np.empty((1, 0), dtype=object))
            return r

        """;

    private const string TinyScript = Common + """
        rect1 = struct((1, 2), ['x1', 'y1', 'x2', 'y2', 'annopoints', 'scale', 'objpos'])
        rect1[0, 0] = (scalar(627.0), scalar(100.0), scalar(706.0), scalar(198.0),
                       annopoints([(620.0 + j, 394.0 + 2 * j, j, scalar(1)) for j in range(16)]),
                       scalar(3.021046), objpos(594, 257))
        rect1[0, 1] = (scalar(200.0), scalar(50.0), scalar(230.0), scalar(90.0),
                       annopoints([(301.5, 402.25, 9, np.array('0')), (310.0, 420.0, 8, empty()), (300.0, 500.0, 0, scalar(0))]),
                       scalar(1.5), objpos(310, 450))
        rect2 = struct((1, 1), ['scale', 'objpos'])
        rect2[0, 0] = (scalar(2.0), objpos(100, 120))

        annolist = struct((1, 3), ['image', 'annorect', 'frame_sec', 'vididx'])
        for i, (name, rect) in enumerate([('015601864.jpg', rect1), ('015599452.jpg', rect2), ('005808361.jpg', empty())]):
            annolist[0, i] = (image(name), rect, empty(), empty())

        single = np.empty((3, 1), dtype=object)
        single[0, 0] = np.array([[1], [2]], dtype=np.uint8)
        single[1, 0] = scalar(1, np.uint8)
        single[2, 0] = empty()
        act = struct((3, 1), ['cat_name', 'act_name', 'act_id'])
        act[0, 0] = (np.array('sports'), np.array('curling'), scalar(1))
        act[1, 0] = (empty(), empty(), scalar(-1))
        act[2, 0] = (np.array('running'), np.array('jogging'), scalar(3))
        savemat(sys.argv[1], {'RELEASE': release(annolist, [1, 0, 1], single, act)}, do_compression=sys.argv[2] == 'compress')
        """;

    private const string FromJsonScript = Common + """
        records = json.load(open(sys.argv[1]))
        names = []
        people = {}
        for r in records:
            if r['image'] not in people:
                names.append(r['image'])
                people[r['image']] = []
            people[r['image']].append(r)

        annolist = struct((1, len(names)), ['image', 'annorect', 'frame_sec', 'vididx'])
        single = np.empty((len(names), 1), dtype=object)
        act = struct((len(names), 1), ['cat_name', 'act_name', 'act_id'])
        for i, name in enumerate(names):
            rs = people[name]
            rect = struct((1, len(rs)), ['x1', 'y1', 'x2', 'y2', 'annopoints', 'scale', 'objpos'])
            for p, r in enumerate(rs):
                hb = np.array(r['headboxes'], dtype=float).reshape(-1)
                rows = [(x, y, j, scalar(1)) for j, ((x, y), v) in enumerate(zip(r['joints'], r['joints_vis'])) if v > 0]
                rect[0, p] = (scalar(hb[0]), scalar(hb[1]), scalar(hb[2]), scalar(hb[3]), annopoints(rows),
                              scalar(r['scale']), objpos(r['center'][0], r['center'][1]))
            annolist[0, i] = (image(name), rect, empty(), empty())
            single[i, 0] = np.arange(1, len(rs) + 1, dtype=np.uint8).reshape(-1, 1)
            act[i, 0] = (empty(), empty(), scalar(-1))
        savemat(sys.argv[2], {'RELEASE': release(annolist, [1] * len(names), single, act)}, do_compression=True)
        """;
}
