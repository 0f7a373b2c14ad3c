using System.Runtime.InteropServices;
using System.Text.Json;
using Distill.Onnx.Runtime;

namespace Distill.Onnx.Tests.Support;

/// <summary>One inference request: feed <see cref="Input"/> (float32, <see cref="Shape"/>) to the model's "input".</summary>
public sealed record OrtRequest(string Key, string ModelPath, float[] Input, long[] Shape);

/// <summary>One output as ONNX Runtime returned it.</summary>
public sealed record OrtOutput(float[] Data, long[] Shape);

/// <summary>
/// Runs exported models in ONNX Runtime (onnxruntime-node through run.mjs): every request in one node process,
/// each model loaded once.
/// </summary>
public static class OrtRunner
{
    public static Dictionary<string, Dictionary<string, OrtOutput>> Run(IEnumerable<OrtRequest> requests, string workDirectory)
    {
        var list = requests.ToList();
        Directory.CreateDirectory(workDirectory);
        var jobs = new List<object>();
        foreach (var group in list.GroupBy(r => r.ModelPath))
        {
            var runs = new List<object>();
            foreach (var r in group)
            {
                string inputFile = Path.Combine(workDirectory, r.Key + ".input.bin");
                File.WriteAllBytes(inputFile, MemoryMarshal.AsBytes(r.Input.AsSpan()).ToArray());
                runs.Add(new
                {
                    inputs = new Dictionary<string, object> { [OnnxExporter.InputName] = new { file = inputFile, shape = r.Shape } },
                    outputDir = OutputDirectory(workDirectory, r.Key),
                });
            }
            jobs.Add(new { model = group.Key, runs });
        }
        string jobsFile = Path.Combine(workDirectory, "jobs.json");
        File.WriteAllText(jobsFile, JsonSerializer.Serialize(new { jobs }));
        NodeOnnxRuntime.Locate().Run("run.mjs", [jobsFile]);

        var results = new Dictionary<string, Dictionary<string, OrtOutput>>();
        foreach (var r in list)
        {
            string dir = OutputDirectory(workDirectory, r.Key);
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "outputs.json")));
            var outputs = new Dictionary<string, OrtOutput>();
            foreach (var o in doc.RootElement.GetProperty("outputs").EnumerateObject())
            {
                var shape = o.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (o.Value.GetProperty("type").GetString() != "float32")
                    throw new InvalidDataException($"{r.Key}: output {o.Name} is {o.Value.GetProperty("type")}, not float32");
                outputs[o.Name] = new OrtOutput(TestData.ReadFloats(Path.Combine(dir, o.Name + ".bin")), shape);
            }
            results[r.Key] = outputs;
        }
        return results;
    }

    private static string OutputDirectory(string work, string key) => Path.Combine(work, "out", key);
}
