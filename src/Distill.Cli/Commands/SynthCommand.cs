using System.CommandLine;
using Distill.Pose.Synthetic;

namespace Distill.Cli.Commands;

internal static class SynthCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Output directory (refused when not empty unless --force).", Required = true };
        var seed = new Option<long>("--seed") { Description = "Random seed; the same arguments give byte-identical output.", DefaultValueFactory = _ => 0 };
        var coco = new Option<int>("--coco") { Description = "COCO-format images (17 keypoints), split 90/10.", DefaultValueFactory = _ => 0 };
        var mpii = new Option<int>("--mpii") { Description = "MPII-format images (16 keypoints, head boxes), split 90/10.", DefaultValueFactory = _ => 0 };
        var aic = new Option<int>("--aic") { Description = "AI Challenger-format images (14 keypoints, COCO layout), split 90/10.", DefaultValueFactory = _ => 0 };
        var crowdpose = new Option<int>("--crowdpose") { Description = "CrowdPose-format images (14 keypoints, crowdIndex), split 90/10.", DefaultValueFactory = _ => 0 };
        var force = new Option<bool>("--force") { Description = "Clear a non-empty output directory first." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var scene = new Option<string>("--scene")
        {
            Description = "standard: one to three figures with clutter, occluders, noise and blur; simple: one large whole figure on a plain background (what the demo's top-down runs use); group: one to three whole figures on a plain background (the demo's bottom-up run).",
            DefaultValueFactory = _ => "standard",
        };
        scene.AcceptOnlyFromAmong("standard", "simple", "group");
        var cmd = new Command("synth", "Generate synthetic COCO-, MPII-, AI Challenger- and CrowdPose-format datasets of rendered articulated figures.")
        {
            outDir, seed, coco, mpii, aic, crowdpose, force, threads, scene,
        };
        cmd.SetAction(r =>
        {
            int t = r.GetValue(threads);
            var result = Synth.Generate(new SynthOptions
            {
                OutDir = r.GetValue(outDir)!,
                Seed = r.GetValue(seed),
                CocoImages = r.GetValue(coco),
                MpiiImages = r.GetValue(mpii),
                AicImages = r.GetValue(aic),
                CrowdPoseImages = r.GetValue(crowdpose),
                Force = r.GetValue(force),
                Threads = t > 0 ? t : Environment.ProcessorCount,
                Scene = r.GetValue(scene) switch { "simple" => SynthScene.Simple, "group" => SynthScene.Group, _ => SynthScene.Standard },
            });
            Console.WriteLine($"synth: COCO {result.CocoTrainImages}+{result.CocoValImages} images, MPII {result.MpiiTrainImages}+{result.MpiiValImages} images" +
                (result.AicTrainJson is null ? "" : $", AIC {result.AicTrainImages}+{result.AicValImages} images") +
                (result.CrowdPoseTrainJson is null ? "" : $", CrowdPose {result.CrowdPoseTrainImages}+{result.CrowdPoseValImages} images") +
                $" in {result.Elapsed.TotalSeconds:F1} s -> {Path.GetFullPath(r.GetValue(outDir)!)}");
            return 0;
        });
        return cmd;
    }
}
