using Distill.Pose.Codecs;
using Distill.Pose.Transforms;
using Distill.Torch;

namespace Distill.Pose.Data;

/// <summary>Stacks pipeline results into a <see cref="TopdownBatch"/> of CPU tensors.</summary>
public static class TopdownCollate
{
    public static TopdownBatch Collate(IReadOnlyList<TopdownResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(results));
        var first = results[0];
        int b = results.Count, k = first.Visibility.Length;
        int inputLength = first.Input.Length;
        var (w, h) = first.Geometry.OutputSize;

        foreach (var r in results)
        {
            string who = r.Sample.Describe();
            if (r.Input.Length != inputLength || r.Geometry.OutputSize != first.Geometry.OutputSize)
                throw new ArgumentException($"{who}: crop size {r.Geometry.OutputSize} differs from the batch's {first.Geometry.OutputSize}");
            if (r.Visibility.Length != k) throw new ArgumentException($"{who}: {r.Visibility.Length} keypoints, the batch has {k}");
            if (r.Teachers.Count != first.Teachers.Count) throw new ArgumentException($"{who}: {r.Teachers.Count} teacher crops, the batch has {first.Teachers.Count}");
            if ((r.Target is null) != (first.Target is null)) throw new ArgumentException($"{who}: target present in some samples only");
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var teacherInputs = new List<Tensor>();
        try
        {
            tensors[TopdownBatch.InputName] = Stack(results, r => r.Input, [3, h, w]);
            tensors[TopdownBatch.KeypointsName] = Stack(results, r => r.Keypoints, [k, 2]);
            tensors[TopdownBatch.VisibilityName] = Stack(results, r => r.Visibility, [k]);
            if (first.Target is { } target)
            {
                foreach (var name in target.Keys)
                {
                    var shape = target[name].Shape;
                    foreach (var r in results)
                    {
                        if (!r.Target!.TryGetValue(name, out var a))
                            throw new ArgumentException($"{r.Sample.Describe()}: target has no '{name}'");
                        if (!a.Shape.SequenceEqual(shape))
                            throw new ArgumentException($"{r.Sample.Describe()}: target '{name}' has shape [{string.Join(", ", a.Shape)}], the batch [{string.Join(", ", shape)}]");
                    }
                    tensors[name] = name == TargetNames.KeypointWeights
                        ? Stack(results, WeightedKeypointWeights, [.. shape])
                        : Stack(results, r => r.Target![name].Data, [.. shape]);
                }
            }
            for (int t = 0; t < first.Teachers.Count; t++)
            {
                int ti = t;
                var (tw, th) = first.Teachers[t].Geometry.OutputSize;
                foreach (var r in results)
                    if (r.Teachers[ti].Geometry.OutputSize != (tw, th))
                        throw new ArgumentException($"{r.Sample.Describe()}: teacher {ti} crop size differs from the batch's");
                teacherInputs.Add(Stack(results, r => r.Teachers[ti].Input, [3, th, tw]));
            }
        }
        catch
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
            foreach (var tensor in teacherInputs) tensor.Dispose();
            throw;
        }

        var infos = results.Select(r => new TopdownSampleInfo(
            r.Sample.Id, r.Sample.ImagePath, r.Geometry,
            r.Teachers.Select(t => t.Geometry).ToArray(),
            r.Teachers.Select(t => t.StudentToTeacher).ToArray(), r.Sample.Source)).ToArray();
        return new TopdownBatch(tensors, teacherInputs, infos);
    }

    private static float[] WeightedKeypointWeights(TopdownResult r)
    {
        var codec = r.Target![TargetNames.KeypointWeights].Data;
        if (codec.Length != r.KeypointWeights.Length)
            throw new ArgumentException($"{r.Sample.Describe()}: codec gives {codec.Length} keypoint weights for {r.KeypointWeights.Length} keypoints");
        var result = new float[codec.Length];
        for (int i = 0; i < result.Length; i++) result[i] = codec[i] * r.KeypointWeights[i];
        return result;
    }

    private static Tensor Stack(IReadOnlyList<TopdownResult> results, Func<TopdownResult, float[]> select, int[] itemShape)
    {
        long itemLength = 1;
        foreach (int s in itemShape) itemLength *= s;
        var data = new float[checked(results.Count * itemLength)];
        for (int i = 0; i < results.Count; i++)
        {
            var src = select(results[i]);
            if (src.Length != itemLength)
                throw new ArgumentException($"{results[i].Sample.Describe()}: {src.Length} values where [{string.Join(", ", itemShape)}] needs {itemLength}");
            src.CopyTo(data, i * itemLength);
        }
        var shape = new long[itemShape.Length + 1];
        shape[0] = results.Count;
        for (int i = 0; i < itemShape.Length; i++) shape[i + 1] = itemShape[i];
        return torch.FromArray(data, shape);
    }
}
