namespace Distill.Pose.Transforms;

/// <summary>
/// Chooses the augmentation of an epoch the way mmpose's <c>PipelineSwitchHook</c> does for RTMPose: the stage-2
/// settings from epoch <c>maxEpochs - stage2Epochs</c> on (epochs counted from 0), stage 1 before.
/// </summary>
public sealed class TwoStageSwitch
{
    public TwoStageSwitch(TopdownAugmentation stage1, TopdownAugmentation stage2, int maxEpochs, int stage2Epochs)
    {
        ArgumentNullException.ThrowIfNull(stage1);
        ArgumentNullException.ThrowIfNull(stage2);
        if (maxEpochs <= 0) throw new ArgumentOutOfRangeException(nameof(maxEpochs), maxEpochs, "must be positive");
        if (stage2Epochs < 0 || stage2Epochs > maxEpochs)
            throw new ArgumentOutOfRangeException(nameof(stage2Epochs), stage2Epochs, $"must be in [0, {maxEpochs}]");
        stage1.EnsureValid();
        stage2.EnsureValid();
        Stage1 = stage1;
        Stage2 = stage2;
        MaxEpochs = maxEpochs;
        Stage2Epochs = stage2Epochs;
    }

    public TopdownAugmentation Stage1 { get; }

    public TopdownAugmentation Stage2 { get; }

    public int MaxEpochs { get; }

    public int Stage2Epochs { get; }

    /// <summary>First epoch (0-based) that uses stage 2.</summary>
    public int SwitchEpoch => MaxEpochs - Stage2Epochs;

    public bool IsStage2(int epoch) => epoch >= SwitchEpoch;

    public TopdownAugmentation For(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epochs count from 0");
        return IsStage2(epoch) ? Stage2 : Stage1;
    }
}
