using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Distill.Pose.Synthetic;
using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Training.Tests.Distributed;

/// <summary>
/// A temporary directory with a small synthetic COCO set and a tiny BatchNorm-free student (a one-layer ViT with
/// the RTMCC head), run through the built <c>distill</c> CLI: one process, or the launcher's worker processes.
/// </summary>
internal sealed class DataParallelRun : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "distill-ddp-" + Guid.NewGuid().ToString("N"));

    public DataParallelRun(int images = 16, SynthScene scene = SynthScene.Simple)
    {
        Synth.Generate(new SynthOptions { OutDir = Path.Combine(Dir, "data"), Seed = 5, CocoImages = images, Threads = 2, Scene = scene });
    }

    /// <summary>Writes NAME.yaml; <paramref name="train"/> and <paramref name="optimizer"/> are flow mappings.</summary>
    public string Config(string name, string train = "{max_epochs: 1, val_interval: 1, log_interval: 1}",
        string optimizer = "{type: SGD, lr: 0.05, momentum: 0.9, weight_decay: 0.0}", int batch = 2, string? backbone = null, bool syncBn = false)
    {
        backbone ??= "{type: VisionTransformer, arch: custom, embed_dims: 32, num_layers: 1, num_heads: 2, feedforward_channels: 64, " +
            "patch_size: 16, patch_padding: 2, drop_path_rate: 0.0}";
        var d = Path.Combine(Dir, "data").Replace('\\', '/');
        var yaml = $$$"""
            name: {{{name}}}
            work_dir: {{{Dir}}}/runs/{{{name}}}
            seed: 3
            model:
              keypoint_set: coco17
              input_size: [48, 64]
              backbone: {{{backbone}}}
              sync_bn: {{{(syncBn ? "true" : "false")}}}
              head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}
              codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}
            data:
              sources:
                - {name: coco, format: coco, ann_file: {{{d}}}/coco/annotations/person_keypoints_train.json, img_dir: {{{d}}}/coco/images/train,
                   val_ann_file: {{{d}}}/coco/annotations/person_keypoints_val.json, val_img_dir: {{{d}}}/coco/images/val}
              batch_size: {{{batch}}}
              val_batch_size: 2
              num_workers: 1
            optimizer: {{{optimizer}}}
            schedule: {type: cosine, warmup_iters: 1}
            train: {{{train}}}
            checkpoint: {interval: 1000, save_best: false}
            logging: {tensorboard: true}
            evaluation: {metrics: [coco], best_metric: coco/AP}
            """;
        var path = Path.Combine(Dir, name + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    public string RunDir(string name) => Path.Combine(Dir, "runs", name);

    /// <summary>The built CLI next to this test assembly's build (same configuration).</summary>
    public static string CliDll
    {
        get
        {
            var here = AppContext.BaseDirectory; // .../tests/Distill.Training.Tests/bin/<Config>/net10.0/
            var tfm = new DirectoryInfo(here).Name;
            var config = new DirectoryInfo(here).Parent!.Name;
            for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
            {
                var dll = Path.Combine(dir.FullName, "src", "Distill.Cli", "bin", config, tfm, "distill.dll");
                if (File.Exists(dll)) return dll;
            }
            throw new FileNotFoundException($"the distill CLI is not built for {config} (src/Distill.Cli/bin/{config}/{tfm}/distill.dll)");
        }
    }

    /// <summary>Starts <c>distill ARGS</c> with stdout and stderr captured.</summary>
    public static Process Start(params string[] args) => StartWith(new Dictionary<string, string>(), args);

    /// <summary>Starts <c>distill ARGS</c> with the given environment variables (the data-parallel ones are cleared first).</summary>
    public static Process StartWith(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DISTILL_PLAIN_LOG"] = "1";
        foreach (var k in new[] { "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE" })
            psi.Environment.Remove(k);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        return p;
    }

    /// <summary>Runs <c>distill ARGS</c> to the end; returns the exit code and everything it printed.</summary>
    public static (int Code, string Output) Run(TimeSpan timeout, params string[] args)
    {
        using var p = Start(args);
        var output = Collect(p);
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"distill {string.Join(' ', args)} did not finish within {timeout}:\n{output.Result}");
        }
        return (p.ExitCode, output.Result);
    }

    public static Task<string> Collect(Process p)
    {
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        return Task.WhenAll(o, e).ContinueWith(_ => o.Result + e.Result);
    }

    /// <summary>
    /// Runs <paramref name="body"/> as ranks 0 and 1 of one Gloo group, each on a thread of this process, and returns
    /// their results in rank order; the first failure of either rank is rethrown.
    /// </summary>
    public static T[] OnTwoRanks<T>(Func<int, Distill.Training.Distributed.DistributedContext, T> body)
    {
        int port = FreePort();
        var results = new T[2];
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            try
            {
                var timeout = TimeSpan.FromSeconds(30);
                using var store = new Distill.Torch.Distributed.TcpStore("127.0.0.1", port, rank == 0, 2, timeout, waitWorkers: false);
                using var group = Distill.Torch.Distributed.ProcessGroup.Gloo(store, rank, 2, timeout,
                    new Distill.Torch.Distributed.GlooDevice { Hostname = "127.0.0.1" });
                results[rank] = body(rank, Distill.Training.Distributed.DistributedContext.Over(group));
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e is not null) is { } failure) throw new AggregateException(failure);
        return results;
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>The student's float tensors of a checkpoint, by name.</summary>
    public static Dictionary<string, float[]> Student(string checkpoint)
    {
        var tensors = SafeTensors.Load(checkpoint);
        try
        {
            return tensors.Where(kv => kv.Key.StartsWith("student.", StringComparison.Ordinal) && kv.Value.DType == DType.Float32)
                .ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    public static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Keys.Max(k => a[k].Zip(b[k], (x, y) => (double)Math.Abs(x - y)).DefaultIfEmpty(0).Max());
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
