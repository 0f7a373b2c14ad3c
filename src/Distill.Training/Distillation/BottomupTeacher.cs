using Distill.Pose.BottomUp;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;

namespace Distill.Training.Distillation;

/// <summary>
/// A frozen bottom-up teacher (any backbone with CIF/CAF heads): eval mode (BatchNorm statistics, no drop path), no
/// gradients, BN folded and channels-last as <see cref="TeacherOptions"/> ask, and its field heads left raw, as the
/// student's are in training. It reads the student's own input images (re-normalised when its mean and std differ),
/// so its fields describe the same pixels.
/// <para>
/// Its fields must lie on the student's grid. Equal strides put cell i of both at input pixel i x stride, so fields
/// that differ by a row or column (another backbone's rounding) are cropped to the cells both have. A different
/// stride is refused (<see cref="CheckGrid"/>): the confidence maps' footprints (the 4x4 CIF patch, the 3x3 CAF
/// neighbourhoods) are counted in cells, so a teacher at another stride marks a different area around each joint, and
/// resampling it would teach the student footprints its own ground-truth loss contradicts. The head's upsample
/// setting brings most backbones to a common stride.
/// </para>
/// </summary>
public sealed class BottomupTeacher : IDisposable
{
    public string Name { get; }
    public BottomupPoseEstimator Model { get; }
    public KeypointSet KeypointSet { get; }

    /// <summary>How the teacher's checkpoint was read (its layout and any key mapping); null when built without one.</summary>
    public WeightsLoadReport? CheckpointReport { get; set; }

    /// <summary>How much this teacher's terms count: all of them, its field terms (logit_weight), its feature term.</summary>
    public TeacherWeights Weights { get; }

    /// <summary>Whether weights (and so inputs) are channels-last.</summary>
    public bool IsChannelsLast { get; }

    /// <summary>Input pixels per field cell.</summary>
    public int Stride => Model.Stride;

    private BottomupTeacher(string name, BottomupPoseEstimator model, KeypointSet set, TeacherWeights weights, bool channelsLast)
    {
        Name = name;
        Model = model;
        KeypointSet = set;
        Weights = weights;
        IsChannelsLast = channelsLast;
    }

    /// <summary>
    /// Freezes a built bottom-up model with its weights loaded as a teacher, on <paramref name="device"/>. Takes
    /// ownership of <paramref name="model"/>. Bottom-up teachers run in libtorch: runtime onnxruntime is refused and
    /// auto means libtorch.
    /// </summary>
    public static BottomupTeacher Create(TeacherOptions t, BottomupPoseEstimator model, KeypointSet set, Device device)
    {
        if (t.Runtime == TeacherRuntime.OnnxRuntime)
        {
            model.Dispose();
            throw new TrainingException($"teachers.{t.Name}.runtime: bottom-up teachers run in libtorch; use libtorch or auto");
        }
        model.To(device);
        model.Eval();
        // Raw fields, as the student's in training; the rest of the network stays in eval mode.
        model.Head.Train();
        model.RequiresGrad_(false);
        if (t.FoldBn) model.FoldBatchNorm();
        bool channelsLast = t.ChannelsLast && model.IsConvolutional;
        if (channelsLast) model.ToChannelsLast();
        return new BottomupTeacher(t.Name, model, set, new TeacherWeights(t.Weight, t.LogitWeight, t.FeatureWeight), channelsLast);
    }

    /// <summary>
    /// Checks that this teacher's fields can be compared with <paramref name="student"/>'s cell by cell: the same
    /// keypoints and skeleton (field and limb order) and the same stride.
    /// </summary>
    public void CheckGrid(BottomupPoseEstimator student)
    {
        var (tm, sm) = (Model.Meta, student.Meta);
        if (!tm.KeypointNames.SequenceEqual(sm.KeypointNames) || !tm.Skeleton.SequenceEqual(sm.Skeleton))
            throw new TrainingException($"teachers.{Name}: its keypoints '{KeypointSet.Name}' ({tm.NumKeypoints} keypoints, {tm.NumLimbs} limbs) " +
                $"differ from the student's ({sm.NumKeypoints} keypoints, {sm.NumLimbs} limbs); bottom-up distillation compares fields " +
                "keypoint by keypoint and limb by limb, so both need the same keypoint set");
        if (Stride != student.Stride)
            throw new TrainingException($"teachers.{Name}: teacher fields have stride {Stride}, the student's stride {student.Stride}; " +
                "bottom-up distillation needs equal strides, since the confidence footprints are counted in cells " +
                "(set model.head.upsample of either model so that both strides match)");
    }

    /// <summary>
    /// The teacher's raw fields ("cif", "caf") and backbone features for the student's normalised
    /// <paramref name="input"/>, without gradients (ordinary tensors the student's loss can keep for its backward).
    /// </summary>
    /// <param name="studentMean">The student's normalisation (RGB mean and std) that <paramref name="input"/> went through.</param>
    public PoseOutputs Forward(Tensor input, double[] studentMean, double[] studentStd)
    {
        using var noGrad = Autograd.NoGrad();
        using var scope = torch.NewDisposeScope();
        var x = Renormalise(input, studentMean, studentStd);
        if (IsChannelsLast) x = x.Contiguous(MemoryFormat.ChannelsLast);
        var outs = Model.ForwardWithFeatures(x);
        foreach (var f in outs.Features) f.MoveToOuterDisposeScope();
        foreach (var h in outs.Heads.Values) h.MoveToOuterDisposeScope();
        return outs;
    }

    /// <summary>The input as the teacher's own normalisation would have made it (unchanged when both agree).</summary>
    private Tensor Renormalise(Tensor input, double[] mean, double[] std)
    {
        if (mean.SequenceEqual(Model.Mean) && std.SequenceEqual(Model.Std)) return input;
        // x_t = (x_s std_s + mean_s - mean_t) / std_t, per channel.
        var scale = new float[3];
        var shift = new float[3];
        for (int c = 0; c < 3; c++)
        {
            scale[c] = (float)(std[c] / Model.Std[c]);
            shift[c] = (float)((mean[c] - Model.Mean[c]) / Model.Std[c]);
        }
        var a = torch.FromArray(scale, [1, 3, 1, 1]).To(input.Device);
        var b = torch.FromArray(shift, [1, 3, 1, 1]).To(input.Device);
        return input.To(DType.Float32) * a + b;
    }

    public void Dispose() => Model.Dispose();
}
