using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Models;
using Distill.Training.Teachers;
using Distill.Pose.Models.Options;

namespace Distill.Bench;

/// <summary>
/// `distill bench --suite kd`: the logit-distillation training step of the typical run (configs/distill/
/// rtmpose-t_unified.yaml: RTMPose-m COCO and MPII teachers, RTMPose-t student over unified21) in Distill, through the
/// trainer's own parts, against the loop a PyTorch user writes (bench_kd.py: teachers in eval() under no_grad, default
/// layout, BN kept; student in the default layout). Distill's student is in the layout the trainer gives it
/// (channels-last by default, model.channels_last). Both sides get the same weights (random, BN statistics randomised)
/// and the same fixed batch; the first step's loss terms must agree before anything is timed. Steps then alternate
/// between the sides, each side's peak RSS is read over its timed steps, a second phase times Distill with the student
/// in the other layout (what model.channels_last brings) and a third with plain teachers (BN kept, default layout,
/// no_grad: PyTorch's graph) to show what the teacher optimisations bring. Between them, teachers run in ONNX Runtime
/// (teachers[].runtime: onnxruntime) with its idle threads sleeping and spinning.
/// </summary>
public static class KdBench
{
    public const string ExperimentConfig = "configs/distill/rtmpose-t_unified.yaml";
    /// <summary>Relative loss differences above this fail the suite; below <see cref="ParityGoal"/> is the expectation.</summary>
    private const double ParityLimit = 1e-3, ParityGoal = 1e-4;
    private const int Seed = 0;
    /// <summary>Timed batches of the end-to-end line (after one warm-up batch).</summary>
    private const int EndToEndBatches = 3;

    /// <param name="root">The repository root, where <see cref="ExperimentConfig"/> and the teachers live.</param>
    public static int Run(string root, int reps, int threads, int batch, string python)
    {
        if (reps < 1) throw new ArgumentException("--reps must be at least 1");
        if (batch < 1) throw new ArgumentException("--batch must be at least 1");
        var clock = Stopwatch.StartNew();
        torch.NumThreads = threads;
        var configPath = Path.Combine(root, ExperimentConfig);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"kd suite: experiment config not found: {configPath}", configPath);
        var o = Distill.Training.Config.ExperimentConfig.Load(configPath);
        if (o.Losses.FeatureKd.Weight > 0 && o.Teachers.Any(t => t.FeatureWeight > 0))
            throw new ArgumentException($"{ExperimentConfig}: the kd suite measures logit distillation only (feature_kd weight 0)");
        var loadAtStart = ModelBench.LoadAverage();
        int plainReps = Math.Max(1, Math.Min(reps, 3));
        Console.WriteLine($"distill bench --suite kd: libtorch {torch.Version}, {threads} threads, batch {batch}, {ExperimentConfig}; "
            + $"{reps} + {plainReps} interleaved repetitions; load average at start {loadAtStart}");

        var dir = Directory.CreateTempSubdirectory("distill-bench-kd-");
        try
        {
            if (dir.FullName.Any(char.IsWhiteSpace))
                throw new InvalidOperationException($"temporary folder '{dir.FullName}' contains whitespace");
            return Measure(o, configPath, root, dir.FullName, reps, plainReps, threads, batch, python, loadAtStart, clock);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static int Measure(ExperimentOptions o, string configPath, string root, string dir, int reps, int plainReps, int threads, int batch, string python,
        string loadAtStart, Stopwatch clock)
    {
        var inv = CultureInfo.InvariantCulture;
        torch.ManualSeed(Seed);
        var (student, studentSet) = ModelFactory.Build(o.Model, o.Losses.Gt);
        using var _s = student;
        var codec = (Distill.Pose.Codecs.SimCCLabel)student.Codec;
        SafeTensors.Save(Path.Combine(dir, "student.safetensors"), student.StateDict());
        // The trainer's student: channels-last when the config asks for it and the network is convolutional.
        bool studentChannelsLast = ChannelsLast.AppliesTo(o.Model, student);
        if (studentChannelsLast) student.ToChannelsLast();

        // Teachers from their registry configs with random weights and randomised BN statistics (speed and parity do
        // not depend on trained weights; folding must have something to fold). Their unfolded weights go to PyTorch.
        var registry = TeacherRegistry.Read(Path.Combine(root, TeacherRegistry.DefaultManifest));
        var teachers = new List<TeacherModel>();
        var teacherSpecs = new List<Dictionary<string, object>>();
        var teacherConfigs = new List<ModelOptions>();
        try
        {
            for (int t = 0; t < o.Teachers.Count; t++)
            {
                var to = o.Teachers[t];
                var mo = ModelConfig.Load(to.Config ?? Path.Combine(root, registry.Get(to.Name).Config));
                teacherConfigs.Add(mo);
                var (model, set) = ModelFactory.Build(mo);
                ModelBench.RandomizeBatchNorm(model);
                var weights = Path.Combine(dir, $"teacher{t}.safetensors");
                SafeTensors.Save(weights, model.StateDict());
                long parameters = model.NumParameters();
                teachers.Add(TeacherModel.Create(to, model, set, studentSet, Device.Cpu));
                teacherSpecs.Add(new()
                {
                    ["name"] = to.Name,
                    ["model"] = TwinName(mo, to.Name),
                    ["keypoints"] = set.Count,
                    ["input_size"] = mo.InputSize,
                    ["split_ratio"] = mo.Codec.SimccSplitRatio,
                    ["weights"] = weights,
                    ["params"] = parameters,
                    ["teacher_index"] = teachers[^1].TeacherIndexOfStudent,
                });
                Console.WriteLine($"teacher {to.Name}: {set.Name}, {mo.InputSize[0]}x{mo.InputSize[1]}, {parameters:N0} parameters; "
                    + $"BN folded {to.FoldBn}, channels-last {teachers[^1].IsChannelsLast}, inference mode");
            }
            Console.WriteLine($"student: {TwinName(o.Model, "student")} {studentSet.Name}, {o.Model.InputSize[0]}x{o.Model.InputSize[1]}, "
                + $"{student.NumParameters():N0} parameters; {Layout(studentChannelsLast)} (model.channels_last {o.Model.ChannelsLast}; "
                + "the PyTorch side keeps the default layout)");

            using var fixture = KdFixture.Create(batch, codec, studentSet.Count, teachers.Select(t => t.InputSize).ToList(), Seed);
            using (var scope = torch.NewDisposeScope())
                SafeTensors.Save(Path.Combine(dir, "batch.safetensors"), fixture.Tensors());
            using var step = new KdStep(o, student, fixture);
            using var kd = step.DistillerFor(teachers);
            WriteSpec(Path.Combine(dir, "spec.json"), o, student, studentSet.Count, teacherSpecs, step, kd);

            using var py = PythonSide.Start(python, Path.Combine(AppContext.BaseDirectory, "bench", "bench_kd.py"),
                ["--threads", threads.ToString(inv)]);
            Console.WriteLine($"PyTorch side: {py.Banner}");
            py.Request($"load {Path.Combine(dir, "spec.json")}");

            // Parity: the first step of each side, from identical weights on the identical batch.
            var ours = step.Run(kd);
            var theirs = ParseTerms(py.Request("step_values"));
            var parity = Parity(ours, theirs);
            Console.WriteLine($"first step: loss terms agree ({parity.Summary})");
            var ourMasks = step.MaskCounts(kd);
            var theirMasks = ParseTerms(py.Request("masks"));
            long pairs = (long)batch * studentSet.Count;
            var maskLine = "KD mask (sample-keypoint pairs a teacher knows and sees, of " + pairs.ToString(inv) + "): "
                + string.Join(", ", teachers.Select((t, i) => $"{t.Name} Distill {ourMasks[i]}, PyTorch {theirMasks.GetValueOrDefault(t.Name, double.NaN)}"));

            // Warm-up (allocator, kernel selection, optimizer state, tiered JIT), then alternate; RSS peaks are reset first.
            step.Run(kd);
            PyStep(py);
            var fast = new List<StepTime>();
            var pyFast = new List<StepTime>();
            bool peaksReset = ResetPeakRss() & py.Request("reset_peak") == "ok";
            Alternate("KD step", reps, fast, () => Time(() => step.Run(kd)), pyFast, () => PyStep(py));
            long csPeak = PeakRssKb(), pyPeak = long.Parse(py.Request("peak"), inv);

            // Teachers in ONNX Runtime (teachers[].runtime: onnxruntime), ONNX Runtime's idle threads sleeping (the
            // default) and spinning. Same weights from the unfolded files; its first step must compute the first line's.
            var ortPhases = new List<OrtPhase>();
            foreach (bool spinning in new[] { false, true })
            {
                var ortTeachers = new List<TeacherModel>();
                try
                {
                    var ortOptions = TeacherModel.DefaultOrtOptions() with { AllowSpinning = spinning };
                    for (int t = 0; t < o.Teachers.Count; t++)
                    {
                        var (model, set) = ModelFactory.Build(teacherConfigs[t]);
                        using (var scope = torch.NewDisposeScope())
                            model.LoadStateDict(SafeTensors.Load((string)teacherSpecs[t]["weights"]), strict: true);
                        // The configured teacher (its weight included) with only the engine changed.
                        var ortTeacher = o.Teachers[t].Clone();
                        ortTeacher.Runtime = TeacherRuntime.OnnxRuntime;
                        ortTeachers.Add(TeacherModel.Create(ortTeacher, model, set, studentSet, Device.Cpu, ortOptions: ortOptions));
                    }
                    using var ortKd = step.DistillerFor(ortTeachers);
                    // The student has taken steps since the first line's first one: compare against PyTorch's first step
                    // instead, which the first line matched, by re-running from the saved initial weights.
                    string what = $"ONNX Runtime teachers ({ortOptions.IntraOpThreads} intra-op threads, spinning {(spinning ? "on" : "off")})";
                    var (ortFirst, ortParity) = FirstStepWith(o, dir, fixture, ortTeachers, ours, what);
                    Console.WriteLine($"first step, {what}: {ortParity}");
                    step.Run(ortKd);
                    var times = new List<StepTime>();
                    var pyTimes = new List<StepTime>();
                    int n = spinning ? plainReps : reps;
                    Alternate($"KD step, teachers in ONNX Runtime, spinning {(spinning ? "on" : "off")}", n, times, () => Time(() => step.Run(ortKd)), pyTimes, () => PyStep(py));
                    ortPhases.Add(new OrtPhase(spinning, ortOptions.IntraOpThreads, times, pyTimes, ortParity));
                }
                finally
                {
                    foreach (var t in ortTeachers) t.Dispose();
                }
            }

            // Distill only: the same step fed by the trainer's loader on synthetic data.
            var e2e = KdEndToEnd.Run(configPath, dir, studentSet, codec, step, kd, batch, EndToEndBatches, threads);
            Console.WriteLine(string.Format(inv, "  end-to-end: {0} batches in {1:F1} s, {2:F1} s of it waiting for data ({3} loader workers; synthetic data made in {4:F0} s)",
                e2e.Batches, e2e.Seconds, e2e.DataWaitSeconds, e2e.Workers, e2e.SynthSeconds));

            // Phase 2: the student in the other layout, from the same initial weights, with the trainer's teachers. Its first
            // step must compute the first line's first step (same weights, batch and teachers), up to rounding.
            var layoutTimes = new List<StepTime>();
            var pyLayout = new List<StepTime>();
            string otherLayout = Layout(!studentChannelsLast);
            string? layoutParity = null;
            if (student.IsConvolutional)
            {
                var (other, _) = ModelFactory.Build(o.Model, o.Losses.Gt);
                using var otherModel = other;
                using (var scope = torch.NewDisposeScope())
                    other.LoadStateDict(SafeTensors.Load(Path.Combine(dir, "student.safetensors")), strict: true);
                if (!studentChannelsLast) other.ToChannelsLast();
                using var otherStep = new KdStep(o, other, fixture);
                using var otherKd = otherStep.DistillerFor(teachers);
                if (otherStep.IsChannelsLast == step.IsChannelsLast)
                    throw new InvalidOperationException($"kd suite: both students are {Layout(step.IsChannelsLast)}");
                layoutParity = LayoutParity(ours, otherStep.Run(otherKd), otherLayout);
                Console.WriteLine($"first step, student {otherLayout}: {layoutParity}");
                Alternate($"KD step, student {otherLayout}", plainReps, layoutTimes, () => Time(() => otherStep.Run(otherKd)), pyLayout, () => PyStep(py));
            }

            // Phase 3: the same step with teachers as PyTorch runs them. Their weights are reloaded from the unfolded files.
            foreach (var t in teachers) t.Dispose();
            teachers.Clear();
            for (int t = 0; t < o.Teachers.Count; t++)
            {
                var (model, set) = ModelFactory.Build(teacherConfigs[t]);
                using (var scope = torch.NewDisposeScope())
                    model.LoadStateDict(SafeTensors.Load((string)teacherSpecs[t]["weights"]), strict: true);
                // The configured teacher (its weight included), left unoptimised.
                var plainOptions = o.Teachers[t].Clone();
                plainOptions.FoldBn = false;
                plainOptions.ChannelsLast = false;
                plainOptions.Runtime = TeacherRuntime.Libtorch;
                var plain = TeacherModel.Create(plainOptions, model, set, studentSet, Device.Cpu);
                plain.UseInferenceMode = false;
                teachers.Add(plain);
            }
            using var plainKd = step.DistillerFor(teachers);
            step.Run(plainKd);
            var plainTimes = new List<StepTime>();
            var pyPlain = new List<StepTime>();
            Alternate("KD step, Distill teachers plain", plainReps, plainTimes, () => Time(() => step.Run(plainKd)), pyPlain, () => PyStep(py));

            Report(batch, reps, plainReps, fast, pyFast, plainTimes, pyPlain, csPeak, pyPeak,
                peaksReset, parity, maskLine, e2e, loadAtStart, clock,
                new LayoutPhase(Layout(studentChannelsLast), otherLayout, layoutTimes, pyLayout, layoutParity), ortPhases);
            return 0;
        }
        finally
        {
            foreach (var t in teachers) t.Dispose();
        }
    }

    private static string Layout(bool channelsLast) => channelsLast ? "channels-last" : "default layout";

    /// <summary>
    /// The relative difference between the first steps of the two student layouts (same weights, batch and teachers);
    /// throws beyond <see cref="ParityLimit"/>, which would mean the layouts compute different things.
    /// </summary>
    private static string LayoutParity(Dictionary<string, double> first, Dictionary<string, double> other, string otherLayout)
    {
        if (!first.Keys.Order().SequenceEqual(other.Keys.Order()))
            throw new InvalidOperationException($"loss terms differ between the student layouts: {string.Join(", ", first.Keys)} and {string.Join(", ", other.Keys)}");
        double worst = first.Max(kv => Math.Abs(kv.Value - other[kv.Key]) / Math.Max(Math.Abs(kv.Value), 1e-12));
        if (!(worst <= ParityLimit))
            throw new InvalidOperationException($"the first KD step with the student {otherLayout} differs from the trainer's layout by "
                + $"{worst.ToString("E2", CultureInfo.InvariantCulture)} relative (limit {ParityLimit.ToString("E0", CultureInfo.InvariantCulture)})");
        return string.Format(CultureInfo.InvariantCulture, "loss terms agree with the trainer's layout (max relative difference {0:E2})", worst);
    }

    /// <summary>Timings with teachers in ONNX Runtime with idle threads spinning or not.</summary>
    private sealed record OrtPhase(bool Spinning, int Threads, List<StepTime> Distill, List<StepTime> PyTorch, string Parity);

    /// <summary>
    /// The first step of a fresh student (the saved initial weights) with <paramref name="teachers"/>, against the first
    /// line's first step; throws beyond <see cref="ParityLimit"/>.
    /// </summary>
    private static (Dictionary<string, double> Terms, string Parity) FirstStepWith(ExperimentOptions o, string dir, KdFixture fixture,
        List<TeacherModel> teachers, Dictionary<string, double> first, string what)
    {
        var (fresh, _) = ModelFactory.Build(o.Model, o.Losses.Gt);
        using var freshModel = fresh;
        using (var scope = torch.NewDisposeScope())
            fresh.LoadStateDict(SafeTensors.Load(Path.Combine(dir, "student.safetensors")), strict: true);
        if (ChannelsLast.AppliesTo(o.Model, fresh)) fresh.ToChannelsLast();
        using var freshStep = new KdStep(o, fresh, fixture);
        using var freshKd = freshStep.DistillerFor(teachers);
        var terms = freshStep.Run(freshKd);
        if (!first.Keys.Order().SequenceEqual(terms.Keys.Order()))
            throw new InvalidOperationException($"loss terms differ with {what}: {string.Join(", ", first.Keys)} and {string.Join(", ", terms.Keys)}");
        double RelativeDifference(string key) => Math.Abs(first[key] - terms[key]) / Math.Max(Math.Abs(first[key]), 1e-12);
        var worstKey = first.Keys.MaxBy(RelativeDifference)!;
        double worst = RelativeDifference(worstKey);
        if (!(worst <= ParityLimit))
            throw new InvalidOperationException($"the first KD step with {what} differs from the first line's by "
                + $"{worst.ToString("E2", CultureInfo.InvariantCulture)} relative (limit {ParityLimit.ToString("E0", CultureInfo.InvariantCulture)}); "
                + $"worst term {worstKey}: {first[worstKey].ToString("G6", CultureInfo.InvariantCulture)} against {terms[worstKey].ToString("G6", CultureInfo.InvariantCulture)}");
        return (terms, string.Format(CultureInfo.InvariantCulture, "loss terms agree with the libtorch teachers' (max relative difference {0:E2})", worst));
    }

    /// <summary>Phase 2's timings: the student in <paramref name="Other"/> layout instead of the trainer's <paramref name="Trained"/> one; empty for non-convolutional students.</summary>
    private sealed record LayoutPhase(string Trained, string Other, List<StepTime> Distill, List<StepTime> PyTorch, string? Parity);

    /// <summary>pose_models.py's name for a config's architecture (its twins are RTMPose-t and RTMPose-m).</summary>
    private static string TwinName(ModelOptions mo, string who)
    {
        var b = mo.Backbone;
        if (b.Type == BackboneType.CSPNeXt && mo.Head.Type == HeadType.RTMCCHead)
        {
            if (b.DeepenFactor == 0.167 && b.WidenFactor == 0.375) return "rtmpose-t";
            if (b.DeepenFactor == 0.67 && b.WidenFactor == 0.75) return "rtmpose-m";
        }
        throw new ArgumentException($"{who}: bench_kd.py has PyTorch twins of RTMPose-t and RTMPose-m only, not {b.Type} "
            + $"(deepen {b.DeepenFactor}, widen {b.WidenFactor}) + {mo.Head.Type}");
    }

    internal static void WriteSpec(string path, ExperimentOptions o, TopdownPoseEstimator student, int keypoints,
        List<Dictionary<string, object>> teachers, KdStep step, Distiller kd)
    {
        var l = o.Losses;
        var oo = o.Optimizer;
        for (int t = 0; t < teachers.Count; t++) teachers[t]["kd_weight"] = kd.LogitWeightOf(t, 0);
        var dir = Path.GetDirectoryName(path)!;
        var spec = new Dictionary<string, object?>
        {
            ["batch"] = Path.Combine(dir, "batch.safetensors"),
            ["student"] = new Dictionary<string, object>
            {
                ["model"] = TwinName(o.Model, "student"),
                ["keypoints"] = keypoints,
                ["input_size"] = o.Model.InputSize,
                ["split_ratio"] = o.Model.Codec.SimccSplitRatio,
                ["weights"] = Path.Combine(dir, "student.safetensors"),
                ["params"] = student.NumParameters(),
            },
            ["teachers"] = teachers,
            ["gt"] = new Dictionary<string, object>
            {
                ["weight"] = l.Gt.Weight, ["beta"] = l.Gt.Beta, ["label_softmax"] = l.Gt.LabelSoftmax, ["use_target_weight"] = l.Gt.UseTargetWeight,
            },
            ["kd"] = new Dictionary<string, object> { ["beta"] = l.LogitKd.EffectiveBeta, ["mask_unknown"] = l.LogitKd.MaskUnknown },
            ["optimizer"] = new Dictionary<string, object?>
            {
                ["lr"] = oo.Lr, ["betas"] = oo.Betas, ["eps"] = oo.Eps,
                ["weight_decay"] = oo.WeightDecay, ["no_decay_weight_decay"] = step.NoDecayWeightDecay,
                ["clip_max_norm"] = oo.ClipGrad?.MaxNorm, ["clip_norm_type"] = oo.ClipGrad?.NormType,
            },
        };
        File.WriteAllText(path, JsonSerializer.Serialize(spec));
    }

    /// <summary>
    /// Alternates the two sides one step at a time, the order flipping every repetition, with a settle before each
    /// hand-over; prints each repetition's pair so a disturbed one can be seen.
    /// </summary>
    private static void Alternate(string what, int reps, List<StepTime> distill, Func<StepTime> distillStep, List<StepTime> pytorch,
        Func<StepTime> pytorchStep)
    {
        for (int r = 0; r < reps; r++)
        {
            var order = r % 2 == 0 ? new[] { true, false } : [false, true];
            foreach (bool ours in order)
            {
                Timing.Settle();
                if (ours) distill.Add(distillStep());
                else pytorch.Add(pytorchStep());
            }
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "  {0} {1}/{2}: Distill {3:F2} s ({4:F2} CPU s), PyTorch {5:F2} s ({6:F2} CPU s); load {7}", what, r + 1, reps,
                distill[^1].Wall, distill[^1].Cpu, pytorch[^1].Wall, pytorch[^1].Cpu, ModelBench.LoadAverage().Split(' ')[0]));
        }
    }

    /// <summary>Wall-clock and CPU seconds (all threads of the process) of one step.</summary>
    private readonly record struct StepTime(double Wall, double Cpu);

    private static StepTime Time(Action a)
    {
        double cpu0 = CpuSeconds();
        long t0 = Stopwatch.GetTimestamp();
        a();
        return new StepTime(Stopwatch.GetElapsedTime(t0).TotalSeconds, CpuSeconds() - cpu0);
    }

    private static double CpuSeconds()
    {
        using var p = Process.GetCurrentProcess();
        return p.TotalProcessorTime.TotalSeconds;
    }

    private static StepTime PyStep(PythonSide py)
    {
        var reply = py.Request("step 1").Split(' ');
        if (reply.Length == 2 && double.TryParse(reply[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var wall)
            && double.TryParse(reply[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var cpu))
            return new StepTime(wall, cpu);
        throw new InvalidOperationException($"the PyTorch side replied '{string.Join(' ', reply)}' to 'step 1', not wall and CPU seconds");
    }

    private static Dictionary<string, double> ParseTerms(string reply)
    {
        var terms = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var part in reply.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.LastIndexOf('=');
            if (eq <= 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                throw new InvalidOperationException($"the PyTorch side replied '{reply}', not name=value loss terms");
            terms[part[..eq]] = v;
        }
        return terms;
    }

    /// <summary>The parity table's rows and summary; throws when a term is missing on one side or differs beyond <see cref="ParityLimit"/>.</summary>
    private static (List<string> Rows, string Summary) Parity(Dictionary<string, double> ours, Dictionary<string, double> theirs)
    {
        var inv = CultureInfo.InvariantCulture;
        if (!ours.Keys.Order().SequenceEqual(theirs.Keys.Order()))
            throw new InvalidOperationException($"loss terms differ: Distill has {string.Join(", ", ours.Keys)}, PyTorch {string.Join(", ", theirs.Keys)}");
        var lines = new List<string>();
        var failures = new List<string>();
        double worst = 0;
        foreach (var (name, a) in ours)
        {
            double b = theirs[name];
            double rel = Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12);
            worst = Math.Max(worst, double.IsNaN(rel) ? double.PositiveInfinity : rel);
            lines.Add(string.Format(inv, "| {0} | {1:G9} | {2:G9} | {3:E2} |", name, a, b, rel));
            if (!(rel <= ParityLimit)) failures.Add(string.Format(inv, "{0}: Distill {1:G9}, PyTorch {2:G9} (relative difference {3:E2})", name, a, b, rel));
        }
        var summary = string.Format(inv, "max relative difference {0:E2}; goal < {1:E0}, limit {2:E0}", worst, ParityGoal, ParityLimit);
        if (failures.Count > 0)
            throw new InvalidOperationException("the first KD step's losses differ between Distill and PyTorch beyond "
                + $"{ParityLimit.ToString("E0", inv)} relative, so the timings would compare different computations:\n  " + string.Join("\n  ", failures));
        return (lines, summary);
    }

    private static void Report(int batch, int reps, int plainReps, List<StepTime> fastTimes, List<StepTime> pyFastTimes, List<StepTime> plainTimes,
        List<StepTime> pyPlainTimes, long csPeakKb,
        long pyPeakKb, bool peaksReset, (List<string> Rows, string Summary) parity, string maskLine, KdEndToEnd.Result e2e, string loadAtStart, Stopwatch clock,
        LayoutPhase layout, List<OrtPhase> ort)
    {
        var inv = CultureInfo.InvariantCulture;
        Sample fast = Sample.Of(fastTimes.Select(t => t.Wall).ToList()), pyFast = Sample.Of(pyFastTimes.Select(t => t.Wall).ToList());
        Sample plain = Sample.Of(plainTimes.Select(t => t.Wall).ToList()), pyPlain = Sample.Of(pyPlainTimes.Select(t => t.Wall).ToList());
        string Cpu(List<StepTime> ours, List<StepTime> theirs)
        {
            double a = Timing.Median(ours.Select(t => t.Cpu).ToList()), b = Timing.Median(theirs.Select(t => t.Cpu).ToList());
            return string.Format(inv, "{0:F1} / {1:F1} s ({2:F2}x)", a, b, b / a);
        }
        string Cell(Sample s) => string.Format(inv, "{0:F0} ms ({1:F2} img/s)", s.Median * 1e3, batch / s.Median);
        string Pct(double f) => double.IsNaN(f) ? "-" : string.Format(inv, "{0:F0}%", f * 100);
        Console.WriteLine();
        Console.WriteLine("| measurement | Distill | PyTorch | throughput ratio | ratio of best entries | spread | CPU time per step, Distill / PyTorch | reps |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Format(inv, "| KD step, batch {0}: teachers BN folded, channels-last, inference mode; student {9} (the trainer's path) | {1} | {2} | {3:F2}x | {4:F2}x | {5} / {6} | {7} | {8} |",
            batch, Cell(fast), Cell(pyFast), pyFast.Median / fast.Median, pyFast.Best / fast.Best, Pct(fast.Spread), Pct(pyFast.Spread),
            Cpu(fastTimes, pyFastTimes), reps, layout.Trained));
        if (layout.Distill.Count > 0)
        {
            Sample other = Sample.Of(layout.Distill.Select(t => t.Wall).ToList()), pyOther = Sample.Of(layout.PyTorch.Select(t => t.Wall).ToList());
            Console.WriteLine(string.Format(inv, "| KD step, batch {0}: teachers as above, student {1} | {2} | {3} | {4:F2}x | {5:F2}x | {6} / {7} | {8} | {9} |",
                batch, layout.Other, Cell(other), Cell(pyOther), pyOther.Median / other.Median, pyOther.Best / other.Best, Pct(other.Spread),
                Pct(pyOther.Spread), Cpu(layout.Distill, layout.PyTorch), layout.Distill.Count));
        }
        foreach (var p in ort)
        {
            Sample ours = Sample.Of(p.Distill.Select(t => t.Wall).ToList()), theirs = Sample.Of(p.PyTorch.Select(t => t.Wall).ToList());
            Console.WriteLine(string.Format(inv, "| KD step, batch {0}: teachers in ONNX Runtime (in-memory export, BN folded; {1} intra-op threads, spinning {2}); student {3} | {4} | {5} | {6:F2}x | {7:F2}x | {8} / {9} | {10} | {11} |",
                batch, p.Threads, p.Spinning ? "on" : "off", layout.Trained, Cell(ours), Cell(theirs), theirs.Median / ours.Median, theirs.Best / ours.Best,
                Pct(ours.Spread), Pct(theirs.Spread), Cpu(p.Distill, p.PyTorch), p.Distill.Count));
        }
        Console.WriteLine(string.Format(inv, "| KD step, batch {0}: teachers plain (BN kept, default layout, no_grad; PyTorch's graph) | {1} | {2} | {3:F2}x | {4:F2}x | {5} / {6} | {7} | {8} |",
            batch, Cell(plain), Cell(pyPlain), pyPlain.Median / plain.Median, pyPlain.Best / plain.Best, Pct(plain.Spread), Pct(pyPlain.Spread),
            Cpu(plainTimes, pyPlainTimes), plainReps));
        Console.WriteLine(string.Format(inv, "| KD step, batch {0}, end to end: synthetic JPEGs through the trainer's loader ({1} workers, augmentation, teacher crops), Distill only | {2:F0} ms ({3:F2} img/s), {4:F0} ms of it waiting for data | ({5}) | {6:F2}x | | | | {7} batches |",
            batch, e2e.Workers, e2e.Seconds / e2e.Batches * 1e3, e2e.Images / e2e.Seconds, e2e.DataWaitSeconds / e2e.Batches * 1e3, Cell(pyFast),
            pyFast.Median / (e2e.Seconds / e2e.Batches), e2e.Batches));
        Console.WriteLine(string.Format(inv, "| peak RSS over the timed steps of the first line (VmHWM) | {0:F0} MB | {1:F0} MB | PyTorch / Distill {2:F2}x | | | | |",
            csPeakKb / 1024.0, pyPeakKb / 1024.0, (double)pyPeakKb / csPeakKb));
        if (layout.Distill.Count > 0)
        {
            double other = Sample.Of(layout.Distill.Select(t => t.Wall).ToList()).Median;
            Console.WriteLine();
            Console.WriteLine(string.Format(inv, "Student layout (Distill, same teachers and batch): {0} {1:F0} ms, {2} {3:F0} ms per step; the {0} step takes {4:F2}x the time of the {2} one ({5} and {6} repetitions).",
                layout.Trained, fast.Median * 1e3, layout.Other, other * 1e3, fast.Median / other, reps, layout.Distill.Count));
        }
        Console.WriteLine();
        Console.WriteLine($"Parity of the first step (identical weights and batch; Distill with its folded channels-last teachers and its {layout.Trained} student):");
        Console.WriteLine("| loss term | Distill | PyTorch | relative difference |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var l in parity.Rows) Console.WriteLine(l);
        Console.WriteLine(parity.Summary);
        if (layout.Parity is not null) Console.WriteLine($"Student {layout.Other} against {layout.Trained}, first step: {layout.Parity}");
        foreach (var p in ort) Console.WriteLine($"Teachers in ONNX Runtime (spinning {(p.Spinning ? "on" : "off")}), first step: {p.Parity}");
        Console.WriteLine(maskLine);
        Console.WriteLine();
        Console.WriteLine("One step = both teacher forwards, their SimCC distributions mapped into the student's bins through the crop geometry, "
            + "student forward, GT loss (KLDiscretLoss) + logit KD per teacher, backward, gradient clipping, AdamW on the student. "
            + "Times are medians of single steps, the sides alternating; ratio = PyTorch time / Distill time (above 1: Distill faster). "
            + "spread: (slowest - fastest) / median, Distill / PyTorch. CPU time: median CPU seconds of all the process's threads per step "
            + "(less sensitive to other work on the machine than wall time, though OpenMP's spin-waiting counts in it); ratio PyTorch / Distill.");
        Console.WriteLine("End to end: after one warm-up batch, wall time per batch of the trainer's loader feeding the same step (the loader's "
            + "workers decode and augment the next batches on the same cores); set against PyTorch's fixed-batch step in parentheses, which has "
            + "no data pipeline at all, so that ratio only bounds what a PyTorch pipeline could reach.");
        Console.WriteLine(peaksReset
            ? "Peak RSS: each process's VmHWM, reset (/proc/self/clear_refs) just before its timed steps, so it covers the models, "
                + "optimizer state, the fixed batch and the steps' working memory, not start-up."
            : "Peak RSS: each process's VmHWM over its whole run so far (this kernel refused to reset it), start-up and set-up included.");
        Console.WriteLine($"Distill side: {GC.CollectionCount(0)} gen-0 / {GC.CollectionCount(2)} gen-2 GCs, "
            + $"{GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms GC pause in the whole run.");
        Console.WriteLine($"Load average at start {loadAtStart}, at end {ModelBench.LoadAverage()}; total {clock.Elapsed.TotalMinutes:F1} min.");
    }

    /// <summary>Resets this process's VmHWM to its current RSS (Linux 4.0+); false when the kernel refuses, and the peak then covers the whole run.</summary>
    private static bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long PeakRssKb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("/proc/self/status has no VmHWM line");
    }
}
