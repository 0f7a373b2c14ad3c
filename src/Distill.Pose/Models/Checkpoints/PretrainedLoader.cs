using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Initialises a backbone from a pre-trained checkpoint: Distill's or mmpose's own files, the ViTPose authors'
/// checkpoints, or a Hugging Face ViT, recognised by their keys. Only backbone weights are copied, so a new head
/// (another keypoint set, another decoder) starts from its own initialisation.
/// </summary>
public static class PretrainedLoader
{
    private const string BackbonePrefix = "backbone.";

    /// <summary>
    /// Loads the <c>backbone.*</c> weights of <paramref name="path"/> into <paramref name="model"/>: a whole pose model
    /// (its backbone is the child named "backbone") or a <see cref="Backbone"/> on its own. Loading is non-strict;
    /// the report names every key that did not load and why. <paramref name="options"/> selects the state dict inside
    /// the file (for example <c>Prefix = "teacher."</c> for a distillation checkpoint); without them a training
    /// checkpoint's student (its EMA copy when present) is read, as <see cref="WeightsLoader"/> does.
    /// </summary>
    /// <exception cref="CheckpointFormatException">
    /// The file cannot be read, its layout is unknown, it holds no backbone weights, or (Hugging Face) its patch size
    /// differs from the model's.
    /// </exception>
    public static PretrainedLoadReport LoadBackbone(Module model, string path, StateDictLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string prefix = model is Backbone ? "" : BackbonePrefix;
        if (prefix.Length > 0 && !model.NamedChildren().Any(c => c.Key == "backbone"))
            throw new ArgumentException($"{model.TypeName} has no child named 'backbone'; pass the backbone itself", nameof(model));
        var vit = (model as VisionTransformer)
            ?? model.NamedChildren().FirstOrDefault(c => c.Key == "backbone").Value as VisionTransformer;

        // Without explicit options a training checkpoint of ours reads as its student (EMA weights when it has them).
        var stored = options is null ? WeightsLoader.Load(path) : StateDictLoader.LoadStateDict(path, options);
        try
        {
            var layout = KeyMaps.Detect(stored.Keys);
            if (layout == CheckpointLayout.Unknown) throw KeyMaps.UnknownLayout(stored.Keys.ToList(), path);
            if (layout == CheckpointLayout.HuggingFaceViT && vit is null)
                throw new CheckpointFormatException(path,
                    $"a Hugging Face ViT can only initialise a VisionTransformer backbone, not {Describe(model)}");
            using var mapped = KeyMaps.ToMmpose(stored, vit, path);
            return Load(model, prefix, mapped, path);
        }
        finally
        {
            stored.DisposeTensors();
        }
    }

    private static string Describe(Module model) =>
        model is Backbone b ? b.TypeName : model.NamedChildren().First(c => c.Key == "backbone").Value.TypeName;

    private static PretrainedLoadReport Load(Module model, string prefix, KeyMapResult mapped, string path)
    {
        var selected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var (key, tensor) in mapped.StateDict)
        {
            if (key.StartsWith(BackbonePrefix, StringComparison.Ordinal))
                selected[prefix + key[BackbonePrefix.Length..]] = tensor;
            else
                ignored.AddRange(mapped.Sources[key]);
        }
        if (selected.Count == 0)
            throw new CheckpointFormatException(path,
                $"no backbone.* weights after reading it as the {mapped.Layout} layout (keys: " +
                string.Join(", ", mapped.StateDict.Keys.Take(6)) + (mapped.StateDict.Count > 6 ? ", ..." : "") + ")");
        ignored.AddRange(mapped.UnusedKeys);

        var result = model.LoadStateDict(selected, strict: false);
        var notLoaded = result.UnexpectedKeys.Concat(result.ShapeMismatches.Select(m => m.Key)).ToHashSet(StringComparer.Ordinal);
        return new PretrainedLoadReport
        {
            Path = path,
            Layout = mapped.Layout,
            BackbonePrefix = prefix,
            LoadedKeys = model.StateDict().Select(kv => kv.Key).Where(k => selected.ContainsKey(k) && !notLoaded.Contains(k)).ToList(),
            MissingKeys = result.MissingKeys,
            UnexpectedKeys = result.UnexpectedKeys,
            ShapeMismatches = result.ShapeMismatches,
            IgnoredKeys = ignored,
            Notes = mapped.Notes,
        };
    }
}
