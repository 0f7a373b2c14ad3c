using Distill.TestSupport;

namespace Distill.Pose.Tests.Evaluation;

/// <summary>Locates the committed inputs of the evaluation tests (tests/Distill.Pose.Tests/Evaluation/Data).</summary>
internal static class EvaluationData
{
    public static string Path(string name)
    {
        var path = System.IO.Path.Combine(SharedData.RepoRoot, "tests", "Distill.Pose.Tests", "Evaluation", "Data", name);
        if (!File.Exists(path)) throw new FileNotFoundException($"evaluation test data missing: {path}", path);
        return path;
    }

    public static readonly double[] CocoSigmas =
        [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089];
}
