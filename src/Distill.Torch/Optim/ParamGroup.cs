using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>
/// Parameters that share hyper-parameters (PyTorch's <c>param_groups</c> entry). An option left unset takes the
/// optimizer's default when the group is handed to an optimizer; reading it before then throws.
/// </summary>
public class ParamGroup
{
    private double? _lr;
    private double? _weightDecay;
    private double? _initialLr;

    public ParamGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Params = parameters.ToArray();
    }

    /// <summary>The tensors this group updates, in order; their position defines their state-dict index.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    public double Lr
    {
        get => _lr ?? throw Unset("lr");
        set => _lr = value;
    }

    public double WeightDecay
    {
        get => _weightDecay ?? throw Unset("weight_decay");
        set => _weightDecay = value;
    }

    /// <summary>
    /// The learning rate schedules scale (mmengine's <c>initial_lr</c>); defaults to <see cref="Lr"/> as given at
    /// construction, so schedules keep their base after <see cref="Lr"/> has been changed by them.
    /// </summary>
    public double InitialLr
    {
        get => _initialLr ?? throw Unset("initial_lr");
        set => _initialLr = value;
    }

    private protected static InvalidOperationException Unset(string name) =>
        new($"param group option '{name}' is not set yet; the optimizer fills it from its defaults");

    /// <summary>Copies the options set on <paramref name="other"/> that this group has not set itself.</summary>
    private protected void TakeCommonOptions(ParamGroup other)
    {
        _lr ??= other._lr;
        _weightDecay ??= other._weightDecay;
        _initialLr ??= other._initialLr;
    }

    private protected void FillCommonDefaults(double lr, double weightDecay)
    {
        _lr ??= lr;
        _weightDecay ??= weightDecay;
        _initialLr ??= _lr;
        Check.NonNegative(Lr, "lr");
        Check.NonNegative(WeightDecay, "weight_decay");
    }

    /// <summary>Writes the hyper-parameters under PyTorch's key names.</summary>
    internal virtual void WriteOptions(JsonObject o)
    {
        o["lr"] = Lr;
        o["initial_lr"] = InitialLr;
        o["weight_decay"] = WeightDecay;
    }

    internal virtual void ReadOptions(JsonObject o, string where)
    {
        Lr = JsonRead.Double(o, "lr", where);
        InitialLr = JsonRead.Double(o, "initial_lr", where);
        WeightDecay = JsonRead.Double(o, "weight_decay", where);
    }
}
