using System.Security.Cryptography;
using Distill.Pose.Models.Options;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>What <see cref="WeightsPublisher.Publish"/> wrote.</summary>
public sealed record PublishReport
{
    public required string Path { get; init; }

    /// <summary>SHA-256 of the written file, lower-case hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary>Module prefixes left out (recorded in the file's metadata); empty when every weight was kept.</summary>
    public required IReadOnlyList<string> Omitted { get; init; }

    /// <summary>Tensors written, and those left out.</summary>
    public required int Written { get; init; }

    public required int LeftOut { get; init; }

    /// <summary>Bytes of tensor data the checkpoint's weights hold, and bytes of the file written.</summary>
    public required long BytesBefore { get; init; }

    public required long BytesAfter { get; init; }

    /// <summary>Why nothing could be left out (no model to test, a key layout other than mmpose's); null otherwise.</summary>
    public string? Note { get; init; }
}

/// <summary>
/// Writes a checkpoint's model weights alone (the EMA's when it has one) as a plain safetensors state dict, without the
/// weights of modules the model's forward never uses (<see cref="OmittedWeights"/>). Given the same checkpoint and
/// model, the bytes written are the same.
/// </summary>
public static class WeightsPublisher
{
    /// <summary>
    /// Publishes <paramref name="checkpoint"/> to <paramref name="dest"/>. With <paramref name="model"/> (the checkpoint's
    /// model section) the model is built, the weights are loaded into it strictly (so a config that does not describe
    /// the checkpoint is refused), and the modules its forward does not use are left out and named in the metadata.
    /// Without it every weight is written, as is a checkpoint whose keys are not in mmpose's layout.
    /// </summary>
    public static PublishReport Publish(string checkpoint, string dest, ModelOptions? model)
    {
        checkpoint = System.IO.Path.GetFullPath(checkpoint);
        var sd = WeightsLoader.Load(checkpoint);
        try
        {
            long before = sd.Values.Sum(t => t.NumEl * t.ElementSize);
            IReadOnlyList<string> omitted = [];
            string? note = null;
            if (model is null)
                note = "no model configuration, so every weight is kept";
            else if (KeyMaps.Detect(sd.Keys) != CheckpointLayout.Mmpose)
                note = $"the keys are in the {KeyMaps.Detect(sd.Keys)} layout, so every weight is kept as stored";
            else
                omitted = FindOmitted(checkpoint, model);

            var written = sd.Where(kv => !OmittedWeights.Covers(omitted, kv.Key)).ToList();
            var metadata = omitted.Count == 0 ? null : new Dictionary<string, string> { [OmittedWeights.MetadataKey] = OmittedWeights.Format(omitted) };
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(dest));
            if (dir is not null) Directory.CreateDirectory(dir);
            SafeTensors.Save(dest, written, metadata);

            string sha;
            using (var fs = File.OpenRead(dest)) sha = Convert.ToHexStringLower(SHA256.HashData(fs));
            return new PublishReport
            {
                Path = dest,
                Sha256 = sha,
                Omitted = omitted,
                Written = written.Count,
                LeftOut = sd.Count - written.Count,
                BytesBefore = before,
                BytesAfter = new FileInfo(dest).Length,
                Note = note,
            };
        }
        finally
        {
            foreach (var t in sd.Values) t.Dispose();
        }
    }

    /// <summary>
    /// The modules of the checkpoint's model that its forward does not use: found by gradients, confirmed by
    /// overwriting them, plus any the checkpoint itself already records as left out (publishing a published file).
    /// </summary>
    private static IReadOnlyList<string> FindOmitted(string checkpoint, ModelOptions options)
    {
        var (module, input) = Build(options);
        using (module)
        {
            var loaded = WeightsLoader.LoadInto(module, checkpoint);
            var unused = OmittedWeights.FindUnused(module, input);
            // Already left out, so nothing to confirm: those modules hold their initial values only.
            var all = loaded.Omitted.Concat(unused).Distinct(StringComparer.Ordinal).ToList();
            OmittedWeights.VerifyUnused(module, input, unused);
            // Outermost prefixes only, in the model's order, so equal checkpoints give equal metadata.
            var order = module.NamedModules().Select((m, i) => (m.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
            return all.Where(p => !OmittedWeights.Covers(all, p))
                .OrderBy(p => order.TryGetValue(p, out var i) ? i : int.MaxValue).ThenBy(p => p, StringComparer.Ordinal)
                .ToList();
        }
    }

    private static (Module<Tensor, Dictionary<string, Tensor>> Model, (int Width, int Height) Input) Build(ModelOptions o)
    {
        if (o.Type == ModelType.BottomupPoseEstimator)
        {
            var (bu, _) = ModelFactory.BuildBottomup(o);
            return (bu, bu.InputSize);
        }
        var (td, _) = ModelFactory.Build(o);
        return (td, td.InputSize);
    }
}
