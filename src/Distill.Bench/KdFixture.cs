using Distill.Pose.Codecs;
using Distill.Pose.Transforms;
using Distill.Torch;

namespace Distill.Bench;

/// <summary>
/// One fixed distillation batch, the same on both sides of `distill bench --suite kd`: random normalised crops for the
/// student and each teacher, the student-to-teacher crop maps, and SimCC ground-truth targets. The crop maps come
/// from real crop geometries (boxes of different sizes, rotations and flips in a 640x480 image): half of them are the
/// pipeline's own teacher views (<see cref="TeacherView"/>), the other half teacher crops zoomed out or in about a
/// shifted centre, so the mapping interpolates between teacher bins and loses mass outside the teacher's view.
/// </summary>
internal sealed class KdFixture : IDisposable
{
    public required Tensor StudentInput { get; init; }
    public required Tensor[] TeacherInputs { get; init; }
    public required AffineMatrix[][] StudentToTeacher { get; init; }
    /// <summary>keypoint_x_labels (B, K, Wb), keypoint_y_labels (B, K, Hb), keypoint_weights (B, K).</summary>
    public required Dictionary<string, Tensor> Targets { get; init; }

    public int Batch => (int)StudentInput.Size(0);

    public static KdFixture Create(int batch, SimCCLabel studentCodec, int keypoints, IReadOnlyList<(int Width, int Height)> teacherSizes,
        int seed)
    {
        const int imageWidth = 640, imageHeight = 480;
        var rng = new Random(seed);
        double Uniform(double lo, double hi) => lo + (hi - lo) * rng.NextDouble();
        var (sw, sh) = studentCodec.InputSize;
        var maps = teacherSizes.Select(_ => new AffineMatrix[batch]).ToArray();
        for (int i = 0; i < batch; i++)
        {
            double h = Uniform(150, 420);
            var student = new CropGeometry((Uniform(150, imageWidth - 150), Uniform(120, imageHeight - 120)), (h * sw / sh, h),
                i % 3 == 0 ? 0 : Uniform(-40, 40), i % 2 == 1, imageWidth, (sw, sh));
            for (int t = 0; t < teacherSizes.Count; t++)
            {
                var view = TeacherView.Geometry(student, teacherSizes[t]);
                var teacher = (i % 4) switch
                {
                    2 => view with { Scale = (view.Scale.Width * 1.25, view.Scale.Height * 1.25), Center = (view.Center.X + 0.1 * h, view.Center.Y - 0.05 * h) },
                    3 => view with { Scale = (view.Scale.Width * 0.8, view.Scale.Height * 0.8), Center = (view.Center.X - 0.07 * h, view.Center.Y + 0.12 * h) },
                    _ => view,
                };
                maps[t][i] = TeacherView.StudentToTeacher(student, teacher);
            }
        }

        // Keypoints anywhere in and a little around the crop; about one in seven unlabelled.
        var xLabels = new List<float>();
        var yLabels = new List<float>();
        var weights = new List<float>();
        for (int i = 0; i < batch; i++)
        {
            var kp = new float[2 * keypoints];
            var vis = new float[keypoints];
            for (int k = 0; k < keypoints; k++)
            {
                kp[2 * k] = (float)Uniform(-10, sw + 10);
                kp[2 * k + 1] = (float)Uniform(-10, sh + 10);
                vis[k] = rng.NextDouble() < 0.85 ? 1f : 0f;
            }
            var encoded = studentCodec.Encode(kp, vis);
            xLabels.AddRange(encoded[TargetNames.KeypointXLabels].Data);
            yLabels.AddRange(encoded[TargetNames.KeypointYLabels].Data);
            weights.AddRange(encoded[TargetNames.KeypointWeights].Data);
        }

        torch.ManualSeed((ulong)seed);
        return new KdFixture
        {
            StudentInput = torch.Randn([batch, 3, sh, sw]).DetachFromDisposeScope(),
            TeacherInputs = teacherSizes.Select(s => torch.Randn([batch, 3, s.Height, s.Width]).DetachFromDisposeScope()).ToArray(),
            StudentToTeacher = maps,
            Targets = new Dictionary<string, Tensor>
            {
                [TargetNames.KeypointXLabels] = torch.FromArray(xLabels.ToArray(), [batch, keypoints, studentCodec.XBins]).DetachFromDisposeScope(),
                [TargetNames.KeypointYLabels] = torch.FromArray(yLabels.ToArray(), [batch, keypoints, studentCodec.YBins]).DetachFromDisposeScope(),
                [TargetNames.KeypointWeights] = torch.FromArray(weights.ToArray(), [batch, keypoints]).DetachFromDisposeScope(),
            },
        };
    }

    /// <summary>The tensors PyTorch's side needs, under the names bench_kd.py reads.</summary>
    public List<KeyValuePair<string, Tensor>> Tensors()
    {
        var list = new List<KeyValuePair<string, Tensor>> { new("student_input", StudentInput) };
        for (int t = 0; t < TeacherInputs.Length; t++)
        {
            list.Add(new($"teacher_input/{t}", TeacherInputs[t]));
            var m = StudentToTeacher[t].SelectMany(a => a.ToArray()).ToArray();
            list.Add(new($"student_to_teacher/{t}", torch.FromArray(m, [Batch, 2, 3])));
        }
        list.AddRange(Targets);
        return list;
    }

    public void Dispose()
    {
        StudentInput.Dispose();
        foreach (var t in TeacherInputs) t.Dispose();
        foreach (var t in Targets.Values) t.Dispose();
    }
}
