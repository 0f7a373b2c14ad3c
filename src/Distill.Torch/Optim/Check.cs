namespace Distill.Torch.Optim;

/// <summary>Argument checks shared by the optimizers, schedules and averaging, with PyTorch's option names.</summary>
internal static class Check
{
    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= 0");
    }

    public static void Positive(double value, string name)
    {
        if (!(value > 0)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be > 0");
    }
}
