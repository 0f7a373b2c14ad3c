using Distill.Onnx;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Models.Options;

namespace Distill.Cli.Commands;

/// <summary>`distill export` for bottom-up models: the activated CIF and CAF fields as outputs, the decoder's settings as metadata.</summary>
internal static class BottomupExport
{
    public static int Run(ModelOptions mo, string checkpoint, string path, OnnxExportOptions options)
    {
        var (model, kps) = ModelFactory.BuildBottomup(mo);
        using (model)
        {
            WeightsLoader.LoadInto(model, Path.GetFullPath(checkpoint));
            model.Eval();
            BottomupOnnxExporter.ExportToFile(model, path, options with { Pose = ExportCommand.PoseMetadata(kps) });
            var field = BottomupOnnxExporter.FieldSize(model);
            Console.WriteLine($"export: {path} (opset {options.Opset}, bottom-up, {kps.Count} keypoints {kps.Name}, input {model.InputSize.Width}x{model.InputSize.Height}, " +
                              $"cif/caf fields {field.Width}x{field.Height} at stride {model.Stride})");
        }
        return 0;
    }
}
