using Distill.Config;
using Distill.Pose.Models.Options;

namespace Distill.Training.Config.Schema;

internal static class BottomupKdValidation
{
    /// <summary>
    /// Distillation keys that only one model family reads must not be set for the other, so none is silently ignored:
    /// field weights and feature indices are bottom-up keys; temperature and keypoint masking act on SimCC
    /// distributions, which CIF/CAF fields do not have; bottom-up teachers run in libtorch.
    /// </summary>
    public static IEnumerable<ValidationMessage> Of(ExperimentOptions o)
    {
        bool bottomup = o.Model.Type == ModelType.BottomupPoseEstimator;
        var l = o.Losses;
        if (!bottomup)
        {
            const string why = "is read for bottom-up students only (model.type BottomupPoseEstimator)";
            if (l.LogitKd.Fields is not null) yield return ValidationMessage.For("losses.logit_kd.fields", why, "model.type");
            if (l.FeatureKd.StudentIndex is not null) yield return ValidationMessage.For("losses.feature_kd.student_index", why, "model.type");
            if (l.FeatureKd.TeacherIndex is not null) yield return ValidationMessage.For("losses.feature_kd.teacher_index", why, "model.type");
            yield break;
        }
        const string fields = "a bottom-up student distils CIF/CAF fields, which have no softmax; remove it";
        if (l.LogitKd.Beta is not null) yield return ValidationMessage.For("losses.logit_kd.beta", fields, "model.type");
        if (l.LogitKd.Temperature is not null) yield return ValidationMessage.For("losses.logit_kd.temperature", fields, "model.type");
        // Only a value other than the default can be seen to have been written.
        if (l.LogitKd.Reduction != Distill.Pose.Losses.KDReduction.DWPose)
            yield return ValidationMessage.For("losses.logit_kd.reduction",
                "field terms are sums over cells divided by the batch, as the ground-truth loss; remove it", "model.type");
        if (l.LogitKd.MaskUnknown)
            yield return ValidationMessage.For("losses.logit_kd.mask_unknown",
                "a bottom-up teacher has the student's own keypoint set, so no keypoint is unknown; remove it", "model.type");
        for (int i = 0; i < o.Teachers.Count; i++)
            if (o.Teachers[i].Runtime == TeacherRuntime.OnnxRuntime)
                yield return ValidationMessage.For($"teachers.{i}.runtime",
                    "bottom-up teachers run in libtorch (their fields and features come from the network itself); use libtorch or auto", "model.type");
    }
}
