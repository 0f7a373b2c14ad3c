using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Evaluation;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Synthetic;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Optim;
using Distill.Torch.Vision;

namespace Distill.Bench;

/// <summary>
/// `distill bench --suite bottomup`: a small bottom-up model (CSPNeXt-t, CIF/CAF heads on stride 16 pixel-shuffled
/// to stride 8, 193 x 193 inputs) on synthetic multi-person scenes. The training step (forward, the six field loss
/// terms, backward, SGD with Nesterov) is timed on the same batch in Distill and in a plain PyTorch twin of model and
/// loss, alternating; the CIF-CAF decoder is timed per image on the val split, on the model's fields and on perfect
/// fields (the encoded ground truth).
/// </summary>
public static class BottomupBench
{
    public const double Deepen = 0.167, Widen = 0.375;
    public const int Upsample = 2, Size = 193;

    public static int Run(int reps, int threads, int batch, string python)
    {
        torch.NumThreads = threads;
        var dir = Path.Combine(Path.GetTempPath(), "distill-bench-bottomup-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            return Run(dir, reps, threads, batch, python);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static int Run(string dir, int reps, int threads, int batch, string python)
    {
        var meta = CifCafMeta.Coco();
        Synth.Generate(new SynthOptions { OutDir = Path.Combine(dir, "synth"), Seed = 14, CocoImages = Math.Max(10 * batch / 9 + 10, 40), Threads = threads, Scene = SynthScene.Standard });
        var train = Load(Path.Combine(dir, "synth", "coco"), "train", batch);
        var val = Load(Path.Combine(dir, "synth", "coco"), "val", int.MaxValue);

        torch.ManualSeed(0);
        var backbone = new CSPNeXt(Deepen, Widen, [3]);
        using var model = new BottomupPoseEstimator(backbone, new CifCafHead(meta, backbone.OutChannels[0], backbone.OutStrides[0], Upsample))
        {
            InputSize = (Size, Size),
        };
        int stride = model.Stride, field = (Size - 1) / stride + 1;
        var cifEncoder = new CifEncoder(meta, stride);
        var cafEncoder = new CafEncoder(meta, stride);
        var inputs = new float[train.Count * 3 * Size * Size];
        var cifs = new List<FieldTensor>();
        var cafs = new List<FieldTensor>();
        for (int i = 0; i < train.Count; i++)
        {
            var (img, anns) = Prepare(train[i]);
            img.CopyTo(inputs, i * img.Length);
            cifs.Add(cifEncoder.Encode(anns, Size, Size));
            cafs.Add(cafEncoder.Encode(anns, Size, Size));
        }
        string inFile = Path.Combine(dir, "input.f32"), cifFile = Path.Combine(dir, "cif.f32"), cafFile = Path.Combine(dir, "caf.f32");
        File.WriteAllBytes(inFile, MemoryMarshal.AsBytes(inputs.AsSpan()).ToArray());
        File.WriteAllBytes(cifFile, MemoryMarshal.AsBytes(cifs.SelectMany(c => c.Data).ToArray().AsSpan()).ToArray());
        File.WriteAllBytes(cafFile, MemoryMarshal.AsBytes(cafs.SelectMany(c => c.Data).ToArray().AsSpan()).ToArray());

        using var x = torch.FromArray(inputs, [train.Count, 3, Size, Size]);
        using var tcif = FieldTensor.Stack(cifs);
        using var tcaf = FieldTensor.Stack(cafs);
        var targets = new Dictionary<string, Tensor> { [CifCafHead.CifName] = tcif, [CifCafHead.CafName] = tcaf };
        var opt = new SGD(model.Parameters(), 1e-3, momentum: 0.9, nesterov: true);
        void TrainStep()
        {
            using var scope = torch.NewDisposeScope();
            model.Train();
            opt.ZeroGrad();
            var terms = model.Loss(model.Forward(x), targets);
            var total = terms.Values.Aggregate((a, b) => a + b);
            total.Backward();
            opt.Step();
        }

        var inv = CultureInfo.InvariantCulture;
        using var py = PythonSide.Start(python, Path.Combine(AppContext.BaseDirectory, "bench", "bench_bottomup.py"),
        [
            "--threads", threads.ToString(inv), "--deepen", Deepen.ToString(inv), "--widen", Widen.ToString(inv), "--upsample", Upsample.ToString(inv),
            "--input", inFile, "--cif", cifFile, "--caf", cafFile, "--batch", train.Count.ToString(inv), "--size", Size.ToString(inv), "--field", field.ToString(inv),
        ]);
        for (int i = 0; i < 2; i++) TrainStep();
        var ours = new List<double>();
        var theirs = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            Timing.Settle();
            ours.Add(Timing.Median(1, TrainStep));
            Timing.Settle();
            theirs.Add(py.Time("train 1"));
        }

        // Decoder on the val split: the model's fields (after the few steps above) and the encoded ground truth.
        var decoder = new CifCafDecoder(meta);
        double modelMs = 0, perfectMs = 0;
        int modelPoses = 0, perfectPoses = 0;
        var perfectResults = new List<CocoKeypointResult>();
        model.Eval();
        foreach (var item in val)
        {
            var (input, anns) = Prepare(item);
            FieldTensor mc, ma;
            using (torch.NewDisposeScope())
            using (Autograd.NoGrad())
            {
                var outs = model.Forward(torch.FromArray(input, [1, 3, Size, Size]));
                using var c0 = outs[CifCafHead.CifName][0];
                using var a0 = outs[CifCafHead.CafName][0];
                mc = FieldTensor.FromTensor(c0);
                ma = FieldTensor.FromTensor(a0);
            }
            var sw = Stopwatch.StartNew();
            modelPoses += decoder.Decode(mc, ma, stride).Count;
            modelMs += sw.Elapsed.TotalMilliseconds;
            var pc = TargetAsOutput.Cif(cifEncoder.Encode(anns, Size, Size));
            var pa = TargetAsOutput.Caf(cafEncoder.Encode(anns, Size, Size));
            sw.Restart();
            var poses = decoder.Decode(pc, pa, stride);
            perfectMs += sw.Elapsed.TotalMilliseconds;
            perfectPoses += poses.Count;
        }

        double o = Timing.Median(ours), t = Timing.Median(theirs);
        int n = train.Count;
        Console.WriteLine($"bottom-up: CSPNeXt-t (deepen {Deepen}, widen {Widen}) + CIF/CAF, stride {stride}, input {Size}x{Size}, fields {field}x{field}, " +
                          $"batch {n}, {threads} threads, PyTorch {py.Banner}");
        Console.WriteLine("| measurement | Distill | PyTorch | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(string.Format(inv, "| training step (forward, 6 loss terms, backward, SGD) | {0:F0} ms ({1:F1} img/s) | {2:F0} ms ({3:F1} img/s) | {4:F2}x |",
            o * 1e3, n / o, t * 1e3, n / t, t / o));
        Console.WriteLine(string.Format(inv, "| decoder, model fields ({0} val images, {1} poses) | {2:F2} ms/image | - | - |", val.Count, modelPoses, modelMs / val.Count));
        Console.WriteLine(string.Format(inv, "| decoder, perfect fields ({0} val images, {1} poses) | {2:F2} ms/image | - | - |", val.Count, perfectPoses, perfectMs / val.Count));
        Console.WriteLine($"({reps} alternating single steps per side, medians)");
        return 0;
    }

    private sealed record Item(string File, List<FieldAnnotation> Annotations);

    private static List<Item> Load(string root, string split, int max)
    {
        var gt = CocoKeypointGroundTruth.Load(Path.Combine(root, "annotations", $"person_keypoints_{split}.json"));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "annotations", $"person_keypoints_{split}.json")));
        var files = doc.RootElement.GetProperty("images").EnumerateArray()
            .ToDictionary(im => im.GetProperty("id").GetInt64(), im => im.GetProperty("file_name").GetString()!);
        return gt.ImageIds.Take(max).Select(id => new Item(Path.Combine(root, "images", split, files[id]),
            gt.Annotations.Where(a => a.ImageId == id)
                .Select(a => new FieldAnnotation(a.Keypoints.Select(v => (float)v).ToArray(), (a.Bbox[0], a.Bbox[1], a.Bbox[2], a.Bbox[3]), a.IsCrowd)).ToList())).ToList();
    }

    /// <summary>The whole image scaled into the input, and its annotations in input pixels.</summary>
    private static (float[] Input, List<FieldAnnotation> Annotations) Prepare(Item item)
    {
        var (input, g) = WholeImageInput.Prepare(Image.Read(item.File), (Size, Size), new ImageNormalization());
        double s = g.Scale;
        var anns = item.Annotations.Select(a =>
        {
            var k = (float[])a.Keypoints.Clone();
            for (int i = 0; i < a.KeypointCount; i++)
            {
                k[3 * i] = (float)(k[3 * i] * s);
                k[3 * i + 1] = (float)(k[3 * i + 1] * s);
            }
            return a with { Keypoints = k, Bbox = (a.Bbox.X * s, a.Bbox.Y * s, a.Bbox.W * s, a.Bbox.H * s) };
        }).ToList();
        return (input, anns);
    }
}
