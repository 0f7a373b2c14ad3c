using System.Diagnostics;
using System.Globalization;
using Distill.Onnx;
using Distill.Onnx.Runtime;
using Distill.Pose.Models;
using Distill.Torch;

namespace Distill.Bench;

/// <summary>
/// `distill bench --suite predict`: the two paths of `distill predict` on RTMPose-t (random weights): the checkpoint's
/// network in libtorch (inference mode, as predict runs it) and the exported file in ONNX Runtime (what
/// `predict MODEL.onnx` runs), both including SimCC decoding. Batch-1 latency and throughput at --batch, the two
/// engines alternating; the decoded keypoints of both must agree first.
/// </summary>
public static class PredictBench
{
    public const string ModelConfigPath = "configs/models/rtmpose-t_coco.yaml";
    private const int LatencyCalls = 20;

    public static int Run(string root, int reps, int threads, int batch)
    {
        if (reps < 1) throw new ArgumentException("--reps must be at least 1");
        if (batch < 1) throw new ArgumentException("--batch must be at least 1");
        var inv = CultureInfo.InvariantCulture;
        torch.NumThreads = threads;
        var configPath = Path.Combine(root, ModelConfigPath);
        var mo = ModelConfig.Load(configPath);
        torch.ManualSeed(0);
        var (model, set) = ModelFactory.Build(mo);
        using var _m = model;
        ModelBench.RandomizeBatchNorm(model);
        model.Eval();
        Console.WriteLine($"distill bench --suite predict: {ModelConfigPath} ({set.Name}, {model.InputSize.Width}x{model.InputSize.Height}), "
            + $"libtorch {torch.Version} and ONNX Runtime, {threads} threads; {reps} interleaved repetitions; load average at start {ModelBench.LoadAverage()}");

        var dir = Directory.CreateTempSubdirectory("distill-bench-predict-");
        try
        {
            string path = Path.Combine(dir.FullName, "model.onnx");
            OnnxExporter.ExportToFile(model, path, new OnnxExportOptions
            {
                Pose = new PoseExportMetadata
                {
                    KeypointNames = set.Names.ToList(), Skeleton = set.Skeleton.ToList(), KeypointSet = set.Name, Sigmas = set.Sigmas,
                },
            });
            using var onnx = OnnxPoseModel.Load(path, new OnnxSessionOptions { IntraOpThreads = threads });
            var (w, h) = model.InputSize;

            using var scope = torch.NewDisposeScope();
            var one = torch.Randn([1, 3, h, w]);
            var many = torch.Randn([batch, 3, h, w]);
            Func<Tensor, Pose.Codecs.DecodedKeypoints> libtorch = x =>
            {
                using var inference = Autograd.InferenceMode();
                return model.Predict(x, false);
            };
            Func<Tensor, Pose.Codecs.DecodedKeypoints> ort = x => onnx.Predict(x, false);

            // Parity on the batch: the same bins nearly everywhere (a rounding-level logit tie may pick a neighbour).
            var a = libtorch(many);
            var b = ort(many);
            int coords = 0, same = 0;
            double worst = 0;
            for (int n = 0; n < a.Count; n++)
                for (int k = 0; k < a.NumKeypoints; k++)
                    for (int c = 0; c < 2; c++)
                    {
                        double d = Math.Abs(a.Keypoints[n, k, c] - b.Keypoints[n, k, c]);
                        worst = Math.Max(worst, d);
                        coords++;
                        if (d <= 1e-3) same++;
                    }
            Console.WriteLine(string.Format(inv, "decoded keypoints, batch {0}: {1} of {2} coordinates equal within 1e-3 px, largest difference {3:F2} px", batch, same, coords, worst));
            if (same < coords * 0.95) throw new InvalidOperationException("the ONNX Runtime path decodes different keypoints from the libtorch path");

            for (int i = 0; i < 3; i++)
            {
                libtorch(one);
                ort(one);
            }
            var lat = (Libtorch: new List<double>(), Ort: new List<double>());
            var thr = (Libtorch: new List<double>(), Ort: new List<double>());
            for (int r = 0; r < reps; r++)
            {
                var order = r % 2 == 0 ? new[] { true, false } : [false, true];
                foreach (bool torchSide in order)
                {
                    var f = torchSide ? libtorch : ort;
                    Timing.Settle();
                    (torchSide ? lat.Libtorch : lat.Ort).Add(Timing.Median(LatencyCalls, () => f(one)));
                    Timing.Settle();
                    long t0 = Stopwatch.GetTimestamp();
                    f(many);
                    (torchSide ? thr.Libtorch : thr.Ort).Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                Console.WriteLine(string.Format(inv, "  rep {0}/{1}: batch 1 libtorch {2:F2} ms, ONNX Runtime {3:F2} ms; batch {4} libtorch {5:F0} ms, ONNX Runtime {6:F0} ms; load {7}",
                    r + 1, reps, lat.Libtorch[^1] * 1e3, lat.Ort[^1] * 1e3, batch, thr.Libtorch[^1] * 1e3, thr.Ort[^1] * 1e3, ModelBench.LoadAverage().Split(' ')[0]));
            }
            Sample lt = Sample.Of(lat.Libtorch), lo = Sample.Of(lat.Ort), tt = Sample.Of(thr.Libtorch), to = Sample.Of(thr.Ort);
            Console.WriteLine();
            Console.WriteLine("| measurement | libtorch (predict CONFIG --checkpoint) | ONNX Runtime (predict MODEL.onnx) | speed-up of ONNX Runtime | spread |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine(string.Format(inv, "| batch-1 latency, forward + decode | {0:F2} ms ({1:F1} img/s) | {2:F2} ms ({3:F1} img/s) | {4:F2}x | {5:F0}% / {6:F0}% |",
                lt.Median * 1e3, 1 / lt.Median, lo.Median * 1e3, 1 / lo.Median, lt.Median / lo.Median, lt.Spread * 100, lo.Spread * 100));
            Console.WriteLine(string.Format(inv, "| batch {0}, forward + decode | {1:F0} ms ({2:F1} img/s) | {3:F0} ms ({4:F1} img/s) | {5:F2}x | {6:F0}% / {7:F0}% |",
                batch, tt.Median * 1e3, batch / tt.Median, to.Median * 1e3, batch / to.Median, tt.Median / to.Median, tt.Spread * 100, to.Spread * 100));
            Console.WriteLine();
            Console.WriteLine($"Medians over {reps} repetitions (batch 1: each the median of {LatencyCalls} calls); the engines alternate. "
                + "Crops only: image decoding, cropping and drawing are the same on both paths. Load average at end " + ModelBench.LoadAverage() + ".");
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
