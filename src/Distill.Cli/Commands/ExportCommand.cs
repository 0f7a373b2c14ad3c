using Distill.Pose.Models.Checkpoints;
using System.CommandLine;
using Distill.Onnx;
using Distill.Pose.Models;

namespace Distill.Cli.Commands;

internal static class ExportCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var checkpoint = CommonOptions.Checkpoint(required: true);
        var output = new Option<string>("--output") { Description = "The .onnx file to write.", Required = true };
        var opset = new Option<int>("--opset") { Description = "ONNX opset, 13 to 17.", DefaultValueFactory = _ => 17 };
        var staticBatch = new Option<int?>("--static-batch") { Description = "Fix the batch axis to N (default: dynamic)." };
        var noFold = new Option<bool>("--no-fold-bn") { Description = "Keep BatchNormalization nodes instead of folding them into convolutions." };
        var decode = new Option<bool>("--decode") { Description = "Add decoded 'keypoints' (N, K, 2, input pixels) and 'scores' (N, K) outputs." };
        var edgeSafe = new Option<bool>("--edge-safe") { Description = "Write HardSigmoid as clip(x / 6 + 0.5, 0, 1) for runtimes that lack it." };
        var set = CommonOptions.Set();
        var cmd = new Command("export", "Export a model (a model, teacher or experiment config; an experiment exports its student) to ONNX.")
        {
            config, checkpoint, output, opset, staticBatch, noFold, decode, edgeSafe, set,
        };
        cmd.SetAction(r =>
        {
            // Only the model section is read: data paths and the teacher registry are never touched.
            var mo = ModelConfig.Load(r.GetValue(config)!, r.GetValue(set) ?? []);
            if (BottomupPredict.IsBottomup(mo))
                return BottomupExport.Run(mo, r.GetValue(checkpoint)!, r.GetValue(output)!, new OnnxExportOptions
                {
                    Opset = r.GetValue(opset), StaticBatch = r.GetValue(staticBatch), FoldBatchNorm = !r.GetValue(noFold), Decode = r.GetValue(decode), EdgeSafe = r.GetValue(edgeSafe),
                });
            var (model, kps) = ModelFactory.Build(mo);
            using (model)
            {
                var loaded = WeightsLoader.LoadInto(model, Path.GetFullPath(r.GetValue(checkpoint)!));
                if (loaded.Mapped) Console.Error.WriteLine($"export: {loaded}");
                model.Eval();
                var path = r.GetValue(output)!;
                OnnxExporter.ExportToFile(model, path, new OnnxExportOptions
                {
                    Opset = r.GetValue(opset),
                    StaticBatch = r.GetValue(staticBatch),
                    FoldBatchNorm = !r.GetValue(noFold),
                    Decode = r.GetValue(decode),
                    EdgeSafe = r.GetValue(edgeSafe),
                    Pose = PoseMetadata(kps),
                });
                Console.WriteLine($"export: {path} (opset {r.GetValue(opset)}, {kps.Count} keypoints {kps.Name}, input {model.InputSize.Width}x{model.InputSize.Height})");
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>Everything `predict MODEL.onnx` needs from the keypoint set: names, skeleton, set name and OKS sigmas.</summary>
    internal static PoseExportMetadata PoseMetadata(Distill.Pose.Keypoints.KeypointSet kps) => new()
    {
        KeypointNames = kps.Names.ToList(),
        Skeleton = kps.Skeleton.Select(s => (s.From, s.To)).ToList(),
        KeypointSet = kps.Name,
        Sigmas = kps.Sigmas,
    };
}
