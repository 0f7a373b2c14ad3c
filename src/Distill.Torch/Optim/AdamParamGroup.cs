using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>Options of one <see cref="Adam"/> or <see cref="AdamW"/> parameter group.</summary>
public sealed class AdamParamGroup : ParamGroup
{
    private double? _beta1;
    private double? _beta2;
    private double? _eps;
    private bool? _amsgrad;
    private bool? _maximize;

    public AdamParamGroup(IEnumerable<Tensor> parameters) : base(parameters) { }

    public double Beta1 { get => _beta1 ?? throw Unset("betas"); set => _beta1 = value; }
    public double Beta2 { get => _beta2 ?? throw Unset("betas"); set => _beta2 = value; }
    public double Eps { get => _eps ?? throw Unset("eps"); set => _eps = value; }
    public bool Amsgrad { get => _amsgrad ?? throw Unset("amsgrad"); set => _amsgrad = value; }
    public bool Maximize { get => _maximize ?? throw Unset("maximize"); set => _maximize = value; }

    internal static AdamParamGroup From(ParamGroup g, string optimizer)
    {
        if (g is AdamParamGroup a) return a;
        if (g.GetType() != typeof(ParamGroup))
            throw new ArgumentException($"{optimizer} cannot take a {g.GetType().Name}; pass a ParamGroup or an AdamParamGroup");
        var r = new AdamParamGroup(g.Params);
        r.TakeCommonOptions(g);
        return r;
    }

    internal void FillDefaults(double lr, double weightDecay, double beta1, double beta2, double eps, bool amsgrad, bool maximize)
    {
        FillCommonDefaults(lr, weightDecay);
        _beta1 ??= beta1;
        _beta2 ??= beta2;
        _eps ??= eps;
        _amsgrad ??= amsgrad;
        _maximize ??= maximize;
        Check.NonNegative(Eps, "eps");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "betas[0] must be in [0, 1)");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "betas[1] must be in [0, 1)");
    }

    internal override void WriteOptions(JsonObject o)
    {
        base.WriteOptions(o);
        o["betas"] = new JsonArray(Beta1, Beta2);
        o["eps"] = Eps;
        o["amsgrad"] = Amsgrad;
        o["maximize"] = Maximize;
    }

    internal override void ReadOptions(JsonObject o, string where)
    {
        base.ReadOptions(o, where);
        var betas = JsonRead.Array(o, "betas", where);
        if (betas.Count != 2 || !JsonRead.TryDouble(betas[0], out double beta1) || !JsonRead.TryDouble(betas[1], out double beta2))
            throw new FormatException($"{where}: 'betas' must be an array of two numbers, not {betas.ToJsonString()}");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = JsonRead.Double(o, "eps", where);
        Amsgrad = JsonRead.Bool(o, "amsgrad", where);
        Maximize = JsonRead.Bool(o, "maximize", where);
    }
}
