using System.Globalization;
using System.Text.Json;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Distributed;
using Distill.Torch.Serialization;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Distributed;
using Distill.Training.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Bench;

/// <summary>
/// A Distill worker of `distill bench --suite ddp` (run as <c>distill bench --ddp-worker</c>): the kd suite's student
/// step (<see cref="KdStep"/> without teachers), with the trainer's data-parallel parts when the environment makes it
/// a worker (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): it joins the Gloo group as the trainer's workers do, takes
/// rank 0's weights and averages gradients through c10d's Reducer; otherwise it is one plain process. It answers
/// bench_ddp.py's commands, so that both sides are driven alike.
/// </summary>
public static class DdpWorker
{
    public static int Run(int threads, TextReader input, TextWriter output)
    {
        torch.NumThreads = threads;
        output.WriteLine($"ready {torch.Version} {torch.NumThreads}");
        output.Flush();
        Worker? worker = null;
        try
        {
            while (input.ReadLine() is { } line)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0 || parts[0] == "quit") break;
                string reply;
                try
                {
                    if (parts[0] == "load")
                    {
                        worker?.Dispose();
                        worker = Worker.Load(parts[1]);
                        reply = "ok";
                    }
                    else
                    {
                        var w = worker ?? throw new InvalidOperationException($"'{parts[0]}' before 'load'");
                        reply = parts[0] switch
                        {
                            "step_values" => w.StepValues(),
                            "step" => w.Steps(Count(parts, 1)),
                            "sync" => w.Sync(Count(parts, 1)),
                            "allreduce" => w.AllReduce(Count(parts, 1), Count(parts, 2)),
                            _ => throw new InvalidOperationException($"unknown command {parts[0]}"),
                        };
                    }
                }
                catch (Exception e)
                {
                    reply = "error " + $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" ");
                }
                output.WriteLine(reply);
                output.Flush();
            }
        }
        finally
        {
            worker?.Dispose();
        }
        return 0;
    }

    private static int Count(string[] parts, int i) =>
        parts.Length > i && int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
            : throw new ArgumentException($"'{string.Join(' ', parts)}': argument {i} must be a positive integer");

    private static string Seconds(IEnumerable<double> s) => string.Join(' ', s.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));

    private static double Time(Action a)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        a();
        return System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>CPU seconds of every thread of this process so far.</summary>
    private static double CpuSeconds()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.TotalProcessorTime.TotalSeconds;
    }

    private sealed class Worker : IDisposable
    {
        private readonly List<IDisposable> _owned = [];
        private TopdownPoseEstimator _student = null!;
        private KdFixture _batch = null!;
        private KdStep _step = null!;
        private Distiller _kd = null!;
        private DistributedContext _dist = DistributedContext.Single;
        private Reducer? _reducer;
        private bool _findUnused;
        // Tensors shaped like the trained parameters, with their own reducer: the cost of synchronising one step's gradients.
        private Tensor[]? _shadow;
        private Reducer? _shadowReducer;

        /// <summary>Reads the spec bench_ddp.py reads too (student weights, this worker's batch) plus the experiment config.</summary>
        public static Worker Load(string specPath)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(specPath));
            var spec = doc.RootElement;
            var w = new Worker();
            try
            {
                var o = Distill.Training.Config.ExperimentConfig.Load(spec.GetProperty("config").GetString()!);
                var (student, _) = ModelFactory.Build(o.Model, o.Losses.Gt);
                w._student = student;
                w._owned.Add(student);
                using (var scope = torch.NewDisposeScope())
                    student.LoadStateDict(SafeTensors.Load(spec.GetProperty("student").GetProperty("weights").GetString()!), strict: true);
                if (ChannelsLast.AppliesTo(o.Model, student)) student.ToChannelsLast();
                var tensors = SafeTensors.Load(spec.GetProperty("batch").GetString()!);
                var input = tensors["student_input"];
                w._batch = new KdFixture
                {
                    StudentInput = input,
                    TeacherInputs = [],
                    StudentToTeacher = [],
                    Targets = tensors.Where(kv => kv.Key != "student_input").ToDictionary(kv => kv.Key, kv => kv.Value),
                };
                w._owned.Add(w._batch);
                w._step = new KdStep(o, student, w._batch);
                w._owned.Add(w._step);
                w._kd = w._step.DistillerFor([]);
                w._owned.Add(w._kd);
                w._findUnused = o.Train.Dist.FindUnusedParameters;
                if (DistributedEnvironment.FromEnvironment() is { } env)
                {
                    var options = new DistOptions { TimeoutS = spec.GetProperty("timeout_s").GetInt32() };
                    w._dist = DistributedContext.Join(env, options, cudaDevice: false, NullLogger.Instance);
                    w._owned.Add(w._dist);
                    // As the trainer sets up its workers: rank 0's weights everywhere, then the reducer over the optimizer's parameters.
                    w._dist.BroadcastStates(student.StateDict().Select(kv => kv.Value));
                    w._reducer = new Reducer(w._dist.Group!, w._step.Parameters.Where(p => p.RequiresGrad).ToList(), findUnusedParameters: w._findUnused);
                    w._owned.Insert(0, w._reducer);
                }
                return w;
            }
            catch
            {
                w.Dispose();
                throw;
            }
        }

        private Dictionary<string, double> Step() => _step.Run(_kd, _batch.StudentInput, _batch.Targets, views: null, _reducer);

        public string StepValues()
        {
            var values = Step();
            double weights = 0;
            foreach (var p in _step.Parameters)
            {
                using var scope = torch.NewDisposeScope();
                weights += p.Detach().Double().Abs().Sum().ItemDouble();
            }
            values["weights"] = weights;
            return string.Join(' ', values.Select(kv => $"{kv.Key}={kv.Value.ToString("R", CultureInfo.InvariantCulture)}"));
        }

        public string Steps(int n)
        {
            _dist.Barrier();
            var wall = new double[n];
            var cpu = new double[n];
            for (int i = 0; i < n; i++)
            {
                double c0 = CpuSeconds();
                wall[i] = Time(() => Step());
                cpu[i] = CpuSeconds() - c0;
            }
            return Seconds(wall) + " | " + Seconds(cpu);
        }

        private ProcessGroup Group => _dist.Group ?? throw new InvalidOperationException("not a data-parallel worker (WORLD_SIZE is not set)");

        /// <summary>
        /// Backward of the sum of every entry of tensors shaped like the trained parameters: all gradients appear at
        /// almost no cost, so what a reduced backward takes beyond a local one (no_sync) is the reducer's work: copying
        /// the gradients into its buckets, all-reducing them and copying the averages back.
        /// </summary>
        public string Sync(int n)
        {
            var group = Group;
            if (_shadow is null)
            {
                _shadow = _step.Parameters.Where(p => p.RequiresGrad).Select(p =>
                {
                    using var d = p.Detach();
                    return d.Clone().RequiresGrad_(true);
                }).ToArray();
                _shadowReducer = new Reducer(group, _shadow, findUnusedParameters: _findUnused);
            }
            var armed = new List<double>();
            var local = new List<double>();
            for (int i = 0; i < n + 2; i++) // two rounds first: the reducer re-buckets in gradient order after its first
            {
                double a, b;
                _shadowReducer!.BeforeForward();
                using (var scope = torch.NewDisposeScope())
                {
                    var loss = _shadow.Select(t => t.Sum()).Aggregate((x, y) => x + y);
                    _shadowReducer.PrepareForBackward();
                    group.Barrier();
                    a = Time(() => loss.Backward());
                }
                foreach (var t in _shadow) t.ZeroGrad(setToNone: true);
                using (var scope = torch.NewDisposeScope())
                {
                    var loss = _shadow.Select(t => t.Sum()).Aggregate((x, y) => x + y);
                    group.Barrier();
                    b = Time(() => loss.Backward());
                }
                foreach (var t in _shadow) t.ZeroGrad(setToNone: true);
                if (i < 2) continue;
                armed.Add(a);
                local.Add(b);
            }
            return Seconds(armed) + " | " + Seconds(local);
        }

        /// <summary>Plain all-reduces (SUM) of one float32 tensor of <paramref name="numel"/> elements through the same Gloo group.</summary>
        public string AllReduce(int numel, int n)
        {
            var group = Group;
            using var flat = torch.Zeros([numel]);
            var times = new List<double>();
            for (int i = 0; i < n + 1; i++) // one round first
            {
                group.Barrier();
                double t = Time(() => group.AllReduce(flat));
                if (i > 0) times.Add(t);
            }
            return Seconds(times);
        }

        public void Dispose()
        {
            _shadowReducer?.Dispose();
            if (_shadow is not null)
                foreach (var t in _shadow) t.Dispose();
            foreach (var d in _owned) d.Dispose();
        }
    }
}
