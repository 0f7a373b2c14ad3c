using Distill.Pose.Models.Checkpoints;
using System.Text.Json.Nodes;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Torch.Serialization;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Models;
using Distill.Training.Tests.Engine;

namespace Distill.Training.Tests.Checkpoints;

/// <summary>
/// A checkpoint holds logical (row-major) tensors whatever layout wrote it: the student, its EMA and the AdamW state
/// written from channels-last weights load bit for bit into default-layout ones and vice versa, and the receiving
/// side keeps its own layout.
/// </summary>
public sealed class CheckpointLayoutTests : IDisposable
{
    private readonly TinyRun _run = new(seed: 8, images: 1);
    private readonly string _model;

    public CheckpointLayoutTests() => _model = _run.Config("model", "{max_epochs: 1}");

    public void Dispose() => _run.Dispose();

    /// <summary>A student, its EMA and an AdamW that has taken one step (so it has state), all in one layout.</summary>
    private sealed class Side : IDisposable
    {
        public required TopdownPoseEstimator Student { get; init; }
        public required TopdownPoseEstimator Ema { get; init; }
        public required AdamW Optimizer { get; init; }

        public void Dispose()
        {
            Optimizer.Dispose();
            Student.Dispose();
            Ema.Dispose();
        }
    }

    private Side Build(bool channelsLast, bool step)
    {
        var mo = ModelConfig.Load(_model);
        var (student, _) = ModelFactory.Build(mo);
        var (ema, _) = ModelFactory.Build(mo);
        ema.RequiresGrad_(false);
        if (channelsLast)
        {
            student.ToChannelsLast();
            ema.ToChannelsLast();
        }
        var optimizer = new AdamW(student.Parameters(), lr: 1e-2);
        if (step)
        {
            using var scope = torch.NewDisposeScope();
            student.Train();
            var x = torch.Randn([2, 3, 64, 48]);
            var outs = student.Forward(channelsLast ? x.Contiguous(MemoryFormat.ChannelsLast) : x);
            (outs["simcc_x"].Square().Mean() + outs["simcc_y"].Sigmoid().Mean()).Backward();
            optimizer.Step();
            new ExpMomentumEma().Update(ema.StateDict(), student.StateDict());
        }
        return new Side { Student = student, Ema = ema, Optimizer = optimizer };
    }

    private static void Save(string path, Side s) =>
        CheckpointStore.Save(path, s.Student, s.Ema, [], s.Optimizer, null, null, new TrainingState { Iteration = 1 },
            new Dictionary<string, string>());

    private static void Load(string path, Side s)
    {
        using var ckpt = CheckpointStore.Load(path);
        s.Student.LoadStateDict(ckpt.WithPrefix(WeightsLoader.StudentPrefix), strict: true);
        s.Ema.LoadStateDict(ckpt.WithPrefix(WeightsLoader.EmaPrefix + WeightsLoader.StudentPrefix), strict: true);
        s.Optimizer.LoadStateDict(new OptimizerStateDict((JsonObject)JsonNode.Parse(ckpt.Metadata["distill.optimizer"])!,
            ckpt.WithPrefix("optimizer.")));
    }

    /// <summary>Whether the stem's 3x3 conv weight (3 input channels: the layouts differ) is channels-last and not row-major.</summary>
    private static bool StemIsChannelsLast(Module m)
    {
        var w = m.Parameters().First(p => p.Dim == 4);
        Assert.Equal(3, w.Size(1));
        Assert.True(w.IsContiguous() != w.IsContiguous(MemoryFormat.ChannelsLast));
        return w.IsContiguous(MemoryFormat.ChannelsLast);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ACheckpointLoadsBitExactlyIntoTheOtherLayout(bool writerChannelsLast)
    {
        torch.ManualSeed(11);
        using var writer = Build(writerChannelsLast, step: true);
        using var reader = Build(!writerChannelsLast, step: false);
        Assert.Equal(writerChannelsLast, StemIsChannelsLast(writer.Student));
        Assert.Equal(writerChannelsLast, StemIsChannelsLast(writer.Ema));

        var first = Path.Combine(_run.Dir, "written.safetensors");
        var second = Path.Combine(_run.Dir, "rewritten.safetensors");
        Save(first, writer);
        Load(first, reader);
        // Loading copies values into the reader's tensors: its layout stays its own.
        Assert.Equal(!writerChannelsLast, StemIsChannelsLast(reader.Student));
        Assert.Equal(!writerChannelsLast, StemIsChannelsLast(reader.Ema));
        Save(second, reader);

        // Same tensors (names, order, shapes, bytes) and metadata. Only the RNG state may differ: other tests draw from
        // the process-wide generator between the two saves.
        var ha = SafeTensors.ReadHeader(first);
        var hb = SafeTensors.ReadHeader(second);
        var names = ha.Tensors.Select(e => e.Name).ToList();
        Assert.Contains(names, k => k.StartsWith("optimizer.state.", StringComparison.Ordinal) && k.EndsWith(".exp_avg_sq", StringComparison.Ordinal));
        Assert.Contains(names, k => k.StartsWith(WeightsLoader.EmaPrefix, StringComparison.Ordinal));
        Assert.Equal(names, hb.Tensors.Select(e => e.Name));
        Assert.Equal(ha.Tensors.Select(e => (e.DType, string.Join(",", e.Shape), e.Begin, e.End)), hb.Tensors.Select(e => (e.DType, string.Join(",", e.Shape), e.Begin, e.End)));
        Assert.Equal(ha.Metadata.Where(kv => kv.Key != "distill.rng").OrderBy(kv => kv.Key), hb.Metadata.Where(kv => kv.Key != "distill.rng").OrderBy(kv => kv.Key));
        Assert.Equal(File.ReadAllBytes(first)[(int)ha.DataStart..], File.ReadAllBytes(second)[(int)hb.DataStart..]);

        // And the values are the writer's own, element for element in logical order.
        using var scope = torch.NewDisposeScope();
        foreach (var ((name, w), (_, r)) in writer.Student.StateDict().Zip(reader.Student.StateDict()))
            Assert.True(w.Eq(r).All().ItemLong() == 1, $"student {name} differs after loading across layouts");
        var stem = writer.Student.Parameters().First(p => p.Dim == 4);
        var readStem = reader.Student.Parameters().First(p => p.Dim == 4);
        Assert.Equal(stem.ToArray<float>(), readStem.ToArray<float>());
    }
}
