using Distill.Onnx.Emitters;
using Distill.Onnx.Graph;
using Distill.Onnx.Protos;
using Distill.Pose.Codecs;

namespace Distill.Onnx.Decoding;

/// <summary>
/// In-graph decoding of head outputs to keypoints (N, K, 2) in input pixels and scores (N, K), written to agree
/// exactly with the codecs' own <see cref="IKeypointCodec.Decode(IReadOnlyList{ShapedArray})"/> (same arg-max ties,
/// same float32 arithmetic in the same order).
/// </summary>
public static class GraphDecoders
{
    /// <summary>Why <paramref name="codec"/>'s decoding cannot be written into the graph, or null when it can.</summary>
    public static string? Unsupported(IKeypointCodec codec) => codec switch
    {
        SimCCLabel => null,
        MSRAHeatmap { Unbiased: false } => null,
        RegressionLabel => null,
        MSRAHeatmap => "MSRAHeatmap with unbiased (DARK) decoding blurs each map and takes a log-domain Newton step per " +
            "keypoint, which is not reproduced in the graph; export without decoding and decode with MSRAHeatmap.Decode",
        UDPHeatmap => "UDPHeatmap decoding refines each maximum with DARK-UDP (Gaussian blur of every map, clipping, logs, " +
            "edge padding and a 2x2 Newton solve, reading neighbours across maps for empty ones); that is not reproduced in the " +
            "graph, so an in-graph result would differ from UDPHeatmap.Decode. Export without decoding and decode with UDPHeatmap.Decode",
        _ => $"codec {codec.TypeName} has no in-graph decoder",
    };

    /// <summary>Appends the decoding nodes; returns the (keypoints, scores) values.</summary>
    public static (string Keypoints, string Scores) Emit(OnnxEmitContext context, IKeypointCodec codec, IReadOnlyList<string> outputs) => codec switch
    {
        SimCCLabel s => SimCC(context, s, outputs[0], outputs[1]),
        MSRAHeatmap { Unbiased: false } m => Msra(context, m, outputs[0]),
        RegressionLabel r => Regression(context, r, outputs[0]),
        _ => throw new OnnxExportException(Unsupported(codec) ?? $"codec {codec.TypeName} has no in-graph decoder"),
    };

    /// <summary>
    /// Arg-max bin per axis (the first on ties, as ArgMax's default); score = the y maximum when it is strictly
    /// smaller than the x maximum, else the x maximum; bins of keypoints with score &lt;= 0 become -1; then / ratio.
    /// </summary>
    private static (string, string) SimCC(OnnxEmitContext c, SimCCLabel codec, string x, string y)
    {
        var g = c.Graph;
        const string p = "decode";
        var ix = ArgMax(c, x);
        var iy = ArgMax(c, y);
        var mx = c.ReduceMax(x, [-1], true, p);
        var my = c.ReduceMax(y, [-1], true, p);
        var score = g.Node("Where", p, [g.Node("Greater", p, [mx, my]), my, mx]);
        var bins = g.Node("Concat", p, [ToFloat(c, ix), ToFloat(c, iy)], OnnxAttribute.Int("axis", -1));
        var invalid = g.Node("LessOrEqual", p, [score, g.Constant(0f)]);
        var located = g.Node("Where", p, [invalid, g.Constant(-1f), bins]);
        var keypoints = c.Div(located, g.Constant((float)codec.SplitRatio), p);
        return (keypoints, c.Squeeze(score, [-1], p));
    }

    /// <summary>
    /// Arg-max pixel of each map ((-1, -1) when the maximum is not positive), a quarter pixel toward the larger
    /// neighbour with mmpose's bounds (x moves when 1 &lt; x &lt; W - 1 and 0 &lt; y &lt; H; y when 1 &lt; y &lt; H - 1
    /// and 0 &lt; x &lt; W), times the stride. Neighbours are read with GatherElements from the flattened map at
    /// clamped indices; the bounds decide whether the difference is used.
    /// </summary>
    private static (string, string) Msra(OnnxEmitContext c, MSRAHeatmap codec, string heatmaps)
    {
        var g = c.Graph;
        const string p = "decode";
        long w = codec.HeatmapSize.Width, h = codec.HeatmapSize.Height;
        var flat = c.Reshape(heatmaps, [0, 0, -1], p);
        var index = ArgMax(c, flat);
        var value = c.ReduceMax(flat, [-1], true, p);
        var valid = g.Node("Greater", p, [value, g.Constant(0f)]);
        var minusOne = g.Int64s(-1);
        var xi = g.Node("Where", p, [valid, g.Node("Mod", p, [index, g.Int64s(w)]), minusOne]);
        var yi = g.Node("Where", p, [valid, g.Node("Div", p, [index, g.Int64s(w)]), minusOne]);

        string Between(string v, long lo, long hi) =>
            g.Node("And", p, [g.Node("Less", p, [g.Int64s(lo), v]), g.Node("Less", p, [v, g.Int64s(hi)])]);
        string Neighbour(long offset)
        {
            var at = g.Node("Clip", p, [c.Add(index, g.Int64s(offset), p), g.Int64s(0), g.Int64s(w * h - 1)]);
            return g.Node("GatherElements", p, [flat, at], OnnxAttribute.Int("axis", -1));
        }
        string Step(string moves, long offset)
        {
            var diff = c.Sub(Neighbour(offset), Neighbour(-offset), p);
            var d = g.Node("Where", p, [moves, diff, g.Constant(0f)]);
            return c.Mul(g.Node("Sign", p, [d]), g.Constant(0.25f), p);
        }

        var movesX = g.Node("And", p, [Between(xi, 1, w - 1), Between(yi, 0, h)]);
        var movesY = g.Node("And", p, [Between(yi, 1, h - 1), Between(xi, 0, w)]);
        var x = c.Mul(c.Add(ToFloat(c, xi), Step(movesX, 1), p), g.Constant(codec.Stride.X), p);
        var y = c.Mul(c.Add(ToFloat(c, yi), Step(movesY, w), p), g.Constant(codec.Stride.Y), p);
        var keypoints = g.Node("Concat", p, [x, y], OnnxAttribute.Int("axis", -1));
        return (keypoints, c.Squeeze(value, [-1], p));
    }

    /// <summary>Normalised (x, y) times the input size; every score is 1.</summary>
    private static (string, string) Regression(OnnxEmitContext c, RegressionLabel codec, string coordinates)
    {
        var g = c.Graph;
        const string p = "decode";
        var keypoints = c.Mul(coordinates, g.Constant([codec.InputSize.Width, codec.InputSize.Height], [2]), p);
        var batchAndK = g.Node("Slice", p, [g.Node("Shape", p, [coordinates]), g.Int64s(0), g.Int64s(2), g.Int64s(0)]);
        var scores = g.Node("ConstantOfShape", p, [batchAndK], OnnxAttribute.Tensor("value", OnnxTensors.Float("one", [1f], [1])));
        return (keypoints, scores);
    }

    private static string ArgMax(OnnxEmitContext c, string x) =>
        c.Graph.Node("ArgMax", "decode", [x], OnnxAttribute.Int("axis", -1), OnnxAttribute.Int("keepdims", 1), OnnxAttribute.Int("select_last_index", 0));

    private static string ToFloat(OnnxEmitContext c, string x) =>
        c.Graph.Node("Cast", "decode", [x], OnnxAttribute.Int("to", (int)TensorProto.Types.DataType.Float));
}
