using Distill.Onnx;
using Distill.Onnx.Runtime;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Codecs;
using Distill.Pose.Keypoints;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Pose.Models.Heads;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;
using Distill.Training.Models;
using Google.Protobuf;

namespace Distill.Training.Distillation;

/// <summary>What a teacher contributes to one batch, already in the student's keypoint set and bins.</summary>
public sealed class TeacherTargets : IDisposable
{
    public required Tensor ProbX { get; init; }
    public required Tensor ProbY { get; init; }
    /// <summary>(B, Ks): 1 where the teacher knows the keypoint and enough of its mass lies inside the student crop.</summary>
    public required Tensor Mask { get; init; }
    public Tensor? Features { get; init; }

    public void Dispose()
    {
        ProbX.Dispose();
        ProbY.Dispose();
        Mask.Dispose();
        Features?.Dispose();
    }
}

/// <summary>Scales of a teacher's distillation terms: every term, then logit and feature terms on top.</summary>
public sealed record TeacherWeights(double Weight, double LogitWeight, double FeatureWeight);

/// <summary>
/// A frozen teacher: built from its own config and checkpoint, in eval and inference mode, BN folded and channels-last
/// when asked (both by default; the teacher never trains, so both are free speed). It sees its own crop of the same
/// augmented person (same centre, rotation and flip; aspect fixed to its input) and its outputs are mapped into the
/// student's keypoints and bins.
/// </summary>
public sealed class TeacherModel : IDisposable
{
    public string Name { get; }
    public TopdownPoseEstimator Model { get; }
    public KeypointSet KeypointSet { get; }
    public (int Width, int Height) InputSize => Model.InputSize;

    /// <summary>How the teacher's checkpoint was read (its layout and any key mapping); null when built without one.</summary>
    public WeightsLoadReport? CheckpointReport { get; set; }
    /// <summary>How much this teacher's distillation terms count.</summary>
    public TeacherWeights Weights { get; }
    /// <summary>The data sources whose images this teacher speaks for (teachers[].sources); null means every source.</summary>
    public IReadOnlyList<string>? Sources { get; private init; }

    /// <summary>Teacher index of each student keypoint, or -1 when the teacher does not know it.</summary>
    public int[] TeacherIndexOfStudent { get; }

    /// <summary>Whether weights (and so inputs) are channels-last.</summary>
    public bool IsChannelsLast { get; }

    /// <summary>What runs the forward pass: <see cref="TeacherRuntime.Libtorch"/> or <see cref="TeacherRuntime.OnnxRuntime"/> (never auto).</summary>
    public TeacherRuntime Runtime => _ort is null ? TeacherRuntime.Libtorch : TeacherRuntime.OnnxRuntime;

    /// <summary>Why <see cref="Runtime"/> is what it is (for the log), when the config asked for auto.</summary>
    public string RuntimeReason { get; private set; } = "";

    /// <summary>
    /// ONNX Runtime's threading for teachers: as many intra-op threads as libtorch has, and no spinning, so its idle
    /// threads do not take cores from libtorch's pool between teacher and student work (measured by `bench --suite kd`).
    /// </summary>
    public static OnnxSessionOptions DefaultOrtOptions() => new() { IntraOpThreads = Math.Max(1, torch.NumThreads), AllowSpinning = false };

    private OnnxSession? _ort;

    /// <summary>
    /// Run the forward in inference mode (no autograd bookkeeping at all, the default). Off runs it under no_grad, as
    /// a plain PyTorch loop does; benchmarks turn it off to show what inference mode saves.
    /// </summary>
    public bool UseInferenceMode { get; set; } = true;

    private TeacherModel(string name, TopdownPoseEstimator model, KeypointSet set, TeacherWeights weights, KeypointSet studentSet,
        bool channelsLast)
    {
        Name = name;
        Model = model;
        KeypointSet = set;
        Weights = weights;
        TeacherIndexOfStudent = KeypointMapping.Between(set, studentSet).SourceIndexOfTarget;
        IsChannelsLast = channelsLast;
    }

    /// <summary>
    /// Freezes a built model with its weights loaded as a teacher: moved to <paramref name="device"/>, eval mode, no
    /// gradients, BN folded (<see cref="TeacherOptions.FoldBn"/>) and channels-last (<see cref="TeacherOptions.ChannelsLast"/>,
    /// convolutional models only). With <see cref="TeacherOptions.Runtime"/> onnxruntime (or auto on the CPU) the
    /// frozen network is exported in memory, BN folded, and its forward runs in ONNX Runtime. Takes ownership of
    /// <paramref name="model"/>.
    /// </summary>
    /// <param name="needsFeatures">Feature KD will ask for backbone features, which only libtorch gives.</param>
    /// <param name="ortOptions">ONNX Runtime's threading; null takes <see cref="DefaultOrtOptions"/>.</param>
    public static TeacherModel Create(TeacherOptions t, TopdownPoseEstimator model, KeypointSet set, KeypointSet studentSet, Device device,
        bool needsFeatures = false, OnnxSessionOptions? ortOptions = null)
    {
        model.To(device);
        model.Eval();
        model.RequiresGrad_(false);
        var (useOrt, reason) = ChooseRuntime(t, model, device, needsFeatures);
        if (t.FoldBn || useOrt) model.FoldBatchNorm();
        bool channelsLast = !useOrt && t.ChannelsLast && model.IsConvolutional;
        if (channelsLast) model.ToChannelsLast();
        var teacher = new TeacherModel(t.Name, model, set, new TeacherWeights(t.Weight, t.LogitWeight, t.FeatureWeight), studentSet, channelsLast)
        {
            RuntimeReason = reason,
            Sources = t.Sources?.ToArray(),
        };
        if (useOrt)
        {
            try
            {
                var proto = OnnxExporter.Export(model, new OnnxExportOptions { FoldBatchNorm = true });
                teacher._ort = OnnxSession.FromBytes(proto.ToByteArray(), $"teacher '{t.Name}' (in-memory ONNX export)", ortOptions ?? DefaultOrtOptions());
            }
            catch
            {
                teacher.Dispose();
                throw;
            }
        }
        return teacher;
    }

    /// <summary>Resolves <see cref="TeacherOptions.Runtime"/>: whether to use ONNX Runtime, and why (auto only).</summary>
    private static (bool UseOrt, string Reason) ChooseRuntime(TeacherOptions t, TopdownPoseEstimator model, Device device, bool needsFeatures)
    {
        if (t.Runtime == TeacherRuntime.Libtorch) return (false, "");
        string? obstacle = device.Type != DeviceType.Cpu ? $"the run is on {device}, and ONNX Runtime teachers run on the CPU"
            : needsFeatures ? "feature KD needs the teacher's backbone features, which its ONNX export does not output"
            : ExportProblem(model);
        if (t.Runtime == TeacherRuntime.OnnxRuntime)
        {
            if (obstacle is not null) throw new TrainingException($"teachers.{t.Name}: runtime onnxruntime: {obstacle}; use runtime libtorch or auto");
            return (true, "");
        }
        return obstacle is null ? (true, "auto: ONNX Runtime on the CPU") : (false, $"auto: libtorch, since {obstacle}");
    }

    private static string? ExportProblem(TopdownPoseEstimator model)
    {
        try
        {
            OnnxExporter.Check(model, new OnnxExportOptions { FoldBatchNorm = true });
            return null;
        }
        catch (OnnxExportException e)
        {
            return "the teacher cannot be exported to ONNX: " + string.Join(" ", e.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <summary>
    /// Which samples of a batch this teacher speaks for, as an (N) float mask of 1 and 0 on <paramref name="device"/>;
    /// null when it speaks for all of them (no <see cref="Sources"/>, or every sample comes from one of them), so that
    /// such batches take the plain, unmasked terms.
    /// </summary>
    /// <param name="sampleSources">The data source of each sample of the batch.</param>
    public Tensor? SampleMask(IReadOnlyList<string?>? sampleSources, Device device)
    {
        if (Sources is null) return null;
        if (sampleSources is null)
            throw new InvalidOperationException($"teacher '{Name}' speaks for the images of {string.Join(", ", Sources)} only, " +
                "but the batch does not say which data source each sample comes from");
        var keep = sampleSources.Select(s => s is not null && Sources.Contains(s, StringComparer.Ordinal) ? 1f : 0f).ToArray();
        if (keep.All(k => k == 1f)) return null;
        return torch.FromArray(keep, [keep.Length]).To(device);
    }

    /// <summary>
    /// Runs the teacher on its crops and maps its distributions to the student's bins and keypoints.
    /// </summary>
    /// <param name="input">(B, 3, Ht, Wt) teacher crops.</param>
    /// <param name="studentToTeacher">Per sample, the affine from student-crop pixels to teacher-crop pixels.</param>
    /// <param name="kd">The logit loss whose <see cref="LogitKDLoss.TeacherProbabilities"/> turns SimCC logits into targets.</param>
    public TeacherTargets Targets(Tensor input, IReadOnlyList<AffineMatrix> studentToTeacher, SimCCLabel studentCodec, LogitKDLoss kd,
        (long H, long W, int Stride)? studentFeatures = null)
    {
        long bsz = input.Size(0);
        var ax = new float[bsz];
        var bx = new float[bsz];
        var ay = new float[bsz];
        var by = new float[bsz];
        for (int i = 0; i < bsz; i++)
        {
            var m = studentToTeacher[i];
            // Same rotation for both crops: the map is axis-aligned (off-diagonal terms vanish up to rounding).
            ax[i] = (float)m.M00;
            bx[i] = (float)m.M02;
            ay[i] = (float)m.M11;
            by[i] = (float)m.M12;
        }
        Tensor probX, probY, inX, inY;
        Tensor? feats = null;
        var dev = input.Device;
        using (var scope = torch.NewDisposeScope())
        {
            Tensor tpx, tpy;
            double ratioX, ratioY;
            PoseOutputs outs;
            if (_ort is not null && studentFeatures is not null)
                throw new InvalidOperationException($"teacher '{Name}': feature KD needs backbone features, which the ONNX Runtime teacher does not give");
            // ONNX Runtime writes straight into ordinary tensors; libtorch's forward runs in inference mode.
            using (Autograd.InferenceMode(UseInferenceMode && _ort is null))
            using (Autograd.NoGrad())
            {
                // The layout change of the crops costs one copy and buys NHWC convolutions for the whole network.
                outs = _ort is not null ? new PoseOutputs([], _ort.Run(input))
                    : Model.ForwardWithFeatures(IsChannelsLast ? input.Contiguous(MemoryFormat.ChannelsLast) : input);
                if (Model.Head is RTMCCHead)
                {
                    tpx = kd.TeacherProbabilities(outs["simcc_x"]);
                    tpy = kd.TeacherProbabilities(outs["simcc_y"]);
                    ratioX = ratioY = ((SimCCLabel)Model.Codec).SplitRatio;
                }
                else if (Model.Head is HeatmapHead)
                {
                    // Heatmaps become x and y marginals of their positive part, placed as the teacher's codec placed its targets.
                    var hm = outs["heatmaps"].ClampMin(0);
                    var total = hm.Sum([2, 3], keepdim: true).ClampMin(1e-12);
                    var p = hm / total;
                    tpx = p.Sum(2);
                    tpy = p.Sum(3);
                    (ratioX, ratioY) = HeatmapPixelsPerInputPixel(hm.Size(3), hm.Size(2));
                }
                else
                {
                    throw new InvalidOperationException($"teacher '{Name}': logit distillation needs a SimCC or heatmap teacher, not {Model.Head.TypeName}");
                }
                // Leave inference mode with ordinary tensors: the student's loss keeps them for its backward pass.
                if (_ort is null)
                {
                    tpx = tpx.Clone();
                    tpy = tpy.Clone();
                }
            }
            var tA = torch.FromArray(ax, [bsz]).To(dev);
            var tB = torch.FromArray(bx, [bsz]).To(dev);
            var tAy = torch.FromArray(ay, [bsz]).To(dev);
            var tBy = torch.FromArray(by, [bsz]).To(dev);
            Tensor px, ix, py, iy;
            using (Autograd.NoGrad())
            {
                (px, ix) = SimccTransfer.Map(tpx, tA, tB, studentCodec.XBins, studentCodec.SplitRatio, ratioX);
                (py, iy) = SimccTransfer.Map(tpy, tAy, tBy, studentCodec.YBins, studentCodec.SplitRatio, ratioY);
            }
            // Teacher keypoints to the student's order; unknown ones get zeros and mask 0.
            var idx = torch.FromArray(TeacherIndexOfStudent.Select(i => (long)Math.Max(i, 0)).ToArray(), [TeacherIndexOfStudent.Length]).To(dev);
            var known = torch.FromArray(TeacherIndexOfStudent.Select(i => i >= 0 ? 1f : 0f).ToArray(), [1, TeacherIndexOfStudent.Length]).To(dev);
            probX = (px.IndexSelect(1, idx) * known.Unsqueeze(-1)).MoveToOuterDisposeScope();
            probY = (py.IndexSelect(1, idx) * known.Unsqueeze(-1)).MoveToOuterDisposeScope();
            inX = (ix.IndexSelect(1, idx) * known).MoveToOuterDisposeScope();
            inY = (iy.IndexSelect(1, idx) * known).MoveToOuterDisposeScope();
            if (studentFeatures is { } sf)
                feats = ResampleFeatures(outs.Features[^1], tA, tB, tAy, tBy, sf, Model.Backbone.OutStrides[^1]).MoveToOuterDisposeScope();
            outs.Dispose();
        }
        using (inX)
        using (inY)
        {
            var mask = inX.Ge(0.5).LogicalAnd(inY.Ge(0.5)).Float();
            return new TeacherTargets { ProbX = probX, ProbY = probY, Mask = mask, Features = feats };
        }
    }

    /// <summary>
    /// Heatmap pixels per input pixel on each axis for a (w x h) heatmap: UDP puts the first and last pixel centres on
    /// the first and last input pixels ((w - 1) / (W - 1)), MSRA scales by w / W.
    /// </summary>
    private (double X, double Y) HeatmapPixelsPerInputPixel(long w, long h) => Model.Codec is UDPHeatmap
        ? ((w - 1.0) / (InputSize.Width - 1), (h - 1.0) / (InputSize.Height - 1))
        : ((double)w / InputSize.Width, (double)h / InputSize.Height);

    /// <summary>
    /// Samples the teacher's feature map at the student's feature-cell centres (through the crop geometry), so both
    /// maps describe the same image points. grid_sample reads outside the teacher view as zeros.
    /// </summary>
    private static Tensor ResampleFeatures(Tensor teacher, Tensor ax, Tensor bx, Tensor ay, Tensor by, (long H, long W, int Stride) s, int teacherStride)
    {
        using var scope = torch.NewDisposeScope();
        long bsz = teacher.Size(0), th = teacher.Size(2), tw = teacher.Size(3);
        var dev = teacher.Device;
        Tensor Axis(long n, Tensor a, Tensor b, long tn)
        {
            var centres = (torch.Arange(0, n, 1, DType.Float32, dev) + 0.5) * s.Stride - 0.5;             // student crop px
            var t = a.View(bsz, 1) * centres.View(1, n) + b.View(bsz, 1);                               // teacher crop px
            var u = (t + 0.5) / teacherStride - 0.5;                                                    // teacher cells
            return (u + 0.5) / tn * 2 - 1;                                                              // grid units
        }
        var gx = Axis(s.W, ax, bx, tw).View(bsz, 1, s.W, 1).Expand(bsz, s.H, s.W, 1);
        var gy = Axis(s.H, ay, by, th).View(bsz, s.H, 1, 1).Expand(bsz, s.H, s.W, 1);
        var grid = torch.Cat([gx, gy], 3);
        using var t0 = teacher.Clone();
        return Functional.GridSample(t0, grid, GridSampleMode.Bilinear, GridSamplePadding.Zeros, alignCorners: false).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _ort?.Dispose();
        Model.Dispose();
    }
}
