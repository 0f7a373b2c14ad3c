using Distill.Onnx.Graph;
using Distill.Pose.BottomUp.Heads;

namespace Distill.Onnx.Emitters;

/// <summary>
/// OpenPifPaf's composite field heads in ONNX, activated as in eval mode. The field size is fixed by the exported
/// input size, so the cell-index grid the vectors are offset by is a constant.
/// </summary>
public static class CompositeFieldEmitters
{
    /// <summary>
    /// PyTorch's pixel_shuffle: DepthToSpace in CRD mode, which reads channel c u^2 + i u + j into row offset i and
    /// column offset j, as pixel_shuffle does.
    /// </summary>
    public static string PixelShuffle(OnnxEmitContext context, string x, int upsample, string path) =>
        context.Graph.Node("DepthToSpace", path, [x], OnnxAttribute.Int("blocksize", upsample), OnnxAttribute.String("mode", "CRD"));

    /// <summary>
    /// One head: 1x1 conv, pixel shuffle and crop when upsampling, reshape to (N, fields, components, H, W), then
    /// sigmoid on the confidence, the cell index added to each vector and softplus on the scales (spread left raw).
    /// </summary>
    public static string Emit(OnnxEmitContext context, CompositeFieldHead head, string path, string features, (long Height, long Width) field)
    {
        var g = context.Graph;
        var x = context.Conv(head.Conv, OnnxEmitContext.Child(path, "conv"), features);
        int u = head.Upsample;
        if (u > 1)
        {
            x = PixelShuffle(context, x, u, path);
            long low = (u - 1) / 2, high = u - 1 - low;
            // A negative end counts from the end, so the crop holds for any feature size.
            x = g.Node("Slice", path, [x, g.Int64s(low, low), g.Int64s(-high, -high), g.Int64s(2, 3)]);
        }
        x = context.Reshape(x, [0, head.Fields, head.Components, field.Height, field.Width], path);
        int v = head.Vectors;
        var parts = context.Split(x, 2, v > 0 && head.Scales > 0 ? [1, 1, 2 * v, head.Scales] : v > 0 ? [1, 1, 2 * v] : [1, 1, head.Scales], path);
        var outputs = new List<string> { parts[0], g.Node("Sigmoid", path, [parts[1]]) };
        if (v > 0)
        {
            // (2v, H, W): x = column, y = row for every vector; broadcast over batch and fields.
            long h = field.Height, w = field.Width;
            var grid = new float[2 * v * h * w];
            for (int k = 0; k < v; k++)
                for (long r = 0; r < h; r++)
                    for (long c = 0; c < w; c++)
                    {
                        grid[(2 * k * h + r) * w + c] = c;
                        grid[((2 * k + 1) * h + r) * w + c] = r;
                    }
            outputs.Add(context.Add(parts[2], g.AddInitializer(OnnxEmitContext.Child(path, "cell_index"), grid, 2 * v, h, w), path));
        }
        if (head.Scales > 0) outputs.Add(g.Node("Softplus", path, [parts[^1]]));
        return g.Node("Concat", path, outputs, OnnxAttribute.Int("axis", 2));
    }
}
