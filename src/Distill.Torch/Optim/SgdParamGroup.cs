using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>Options of one <see cref="SGD"/> parameter group.</summary>
public sealed class SgdParamGroup : ParamGroup
{
    private double? _momentum;
    private double? _dampening;
    private bool? _nesterov;
    private bool? _maximize;

    public SgdParamGroup(IEnumerable<Tensor> parameters) : base(parameters) { }

    public double Momentum { get => _momentum ?? throw Unset("momentum"); set => _momentum = value; }
    public double Dampening { get => _dampening ?? throw Unset("dampening"); set => _dampening = value; }
    public bool Nesterov { get => _nesterov ?? throw Unset("nesterov"); set => _nesterov = value; }
    public bool Maximize { get => _maximize ?? throw Unset("maximize"); set => _maximize = value; }

    internal static SgdParamGroup From(ParamGroup g)
    {
        if (g is SgdParamGroup s) return s;
        if (g.GetType() != typeof(ParamGroup))
            throw new ArgumentException($"SGD cannot take a {g.GetType().Name}; pass a ParamGroup or an SgdParamGroup");
        var r = new SgdParamGroup(g.Params);
        r.TakeCommonOptions(g);
        return r;
    }

    internal void FillDefaults(double lr, double weightDecay, double momentum, double dampening, bool nesterov, bool maximize)
    {
        FillCommonDefaults(lr, weightDecay);
        _momentum ??= momentum;
        _dampening ??= dampening;
        _nesterov ??= nesterov;
        _maximize ??= maximize;
        Check.NonNegative(Momentum, "momentum");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
    }

    internal override void WriteOptions(JsonObject o)
    {
        base.WriteOptions(o);
        o["momentum"] = Momentum;
        o["dampening"] = Dampening;
        o["nesterov"] = Nesterov;
        o["maximize"] = Maximize;
    }

    internal override void ReadOptions(JsonObject o, string where)
    {
        base.ReadOptions(o, where);
        Momentum = JsonRead.Double(o, "momentum", where);
        Dampening = JsonRead.Double(o, "dampening", where);
        Nesterov = JsonRead.Bool(o, "nesterov", where);
        Maximize = JsonRead.Bool(o, "maximize", where);
    }
}
