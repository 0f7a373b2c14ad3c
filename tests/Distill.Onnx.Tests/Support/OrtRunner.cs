using Distill.Onnx.Runtime;

namespace Distill.Onnx.Tests.Support;

/// <summary>One inference request: feed <see cref="Input"/> (float32, <see cref="Shape"/>) to the model's "input".</summary>
public sealed record OrtRequest(string Key, string ModelPath, float[] Input, long[] Shape);

/// <summary>One output as ONNX Runtime returned it.</summary>
public sealed record OrtOutput(float[] Data, long[] Shape);

/// <summary>
/// Runs exported models in ONNX Runtime in this process, each model loaded once from its file, one intra-op thread
/// (so results do not depend on the machine's core count).
/// </summary>
public static class OrtRunner
{
    public static Dictionary<string, Dictionary<string, OrtOutput>> Run(IEnumerable<OrtRequest> requests)
    {
        var results = new Dictionary<string, Dictionary<string, OrtOutput>>();
        foreach (var group in requests.GroupBy(r => r.ModelPath))
        {
            using var session = OnnxSession.Load(group.Key, new OnnxSessionOptions { IntraOpThreads = 1 });
            foreach (var r in group)
                results[r.Key] = session.Run(r.Input, r.Shape).ToDictionary(kv => kv.Key, kv => new OrtOutput(kv.Value.Data, kv.Value.Shape));
        }
        return results;
    }
}
